"""The aws CLI v1 against the emulator: a few direct calls, and the weighted-routing walkthrough script
(testdata/weighted-routing.sh) checked afterwards with describe-rules."""

import subprocess
from pathlib import Path

import pytest

from support import AwsCliError, aws_cli_command, aws_cli_env, free_port, unique

REPO = Path(__file__).resolve().parents[2]
WALKTHROUGH = REPO / "testdata" / "weighted-routing.sh"


def test_cli_create_and_describe(aws, net):
    """aws elbv2 create-load-balancer / describe-load-balancers --names work through the CLI's own botocore."""
    name = unique("cli")
    created = aws("elbv2", "create-load-balancer", "--name", name, "--subnets", *net.subnets[:2],
                  "--security-groups", net.security_groups[0])
    lb = created["LoadBalancers"][0]
    assert lb["LoadBalancerName"] == name
    assert lb["State"]["Code"] == "provisioning"
    got = aws("elbv2", "describe-load-balancers", "--names", name)["LoadBalancers"]
    assert [x["LoadBalancerArn"] for x in got] == [lb["LoadBalancerArn"]]


def test_cli_error_exit(aws):
    """A failing call exits non-zero and prints "An error occurred (LoadBalancerNotFound)"."""
    with pytest.raises(AwsCliError) as e:
        aws("elbv2", "describe-load-balancers", "--names", "no-such-lb")
    assert e.value.returncode != 0
    assert e.value.code == "LoadBalancerNotFound"


def test_cli_ssl_policy(aws):
    """aws elbv2 describe-ssl-policies --names ELBSecurityPolicy-TLS13-1-2-2021-06 returns the policy."""
    out = aws("elbv2", "describe-ssl-policies", "--names", "ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert [p["Name"] for p in out["SslPolicies"]] == ["ELBSecurityPolicy-TLS13-1-2-2021-06"]


def test_cli_shorthand_attributes(aws, net):
    """CLI shorthand for modify-load-balancer-attributes (Key=…,Value=…) is parsed like the JSON form."""
    name = unique("clia")
    arn = aws("elbv2", "create-load-balancer", "--name", name, "--subnets", *net.subnets[:2])["LoadBalancers"][0][
        "LoadBalancerArn"
    ]
    aws("elbv2", "modify-load-balancer-attributes", "--load-balancer-arn", arn,
        "--attributes", "Key=idle_timeout.timeout_seconds,Value=90")
    got = aws("elbv2", "describe-load-balancer-attributes", "--load-balancer-arn", arn)["Attributes"]
    assert {a["Key"]: a["Value"] for a in got}["idle_timeout.timeout_seconds"] == "90"


@pytest.mark.timeout(240)
def test_weighted_routing_walkthrough(endpoint, aws, net):
    """The walkthrough's create-rule/modify-rule sequence ends with /app/* 0/100 sticky 3600s, canary 50/50 not sticky, /shop/* 40/35/25."""
    name = unique("wr")
    env = aws_cli_env()
    env.update(
        ENDPOINT=endpoint,
        AWS=" ".join(aws_cli_command()),
        LB_NAME=name,
        SUBNETS=" ".join(net.subnets[:2]),
        LISTENER_PORT=str(free_port()),
    )
    p = subprocess.run(["bash", str(WALKTHROUGH)], env=env, capture_output=True, text=True, timeout=220,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"walkthrough failed ({p.returncode})\n--- stdout\n{p.stdout}\n--- stderr\n{p.stderr}"

    lb = aws("elbv2", "describe-load-balancers", "--names", name)["LoadBalancers"][0]
    tgs = {
        t["TargetGroupName"]: t["TargetGroupArn"]
        for t in aws("elbv2", "describe-target-groups", "--names", f"{name}-blue", f"{name}-green", f"{name}-canary")[
            "TargetGroups"
        ]
    }
    blue, green, canary = tgs[f"{name}-blue"], tgs[f"{name}-green"], tgs[f"{name}-canary"]
    listeners = aws("elbv2", "describe-listeners", "--load-balancer-arn", lb["LoadBalancerArn"])["Listeners"]
    assert len(listeners) == 1
    rules = aws("elbv2", "describe-rules", "--listener-arn", listeners[0]["ListenerArn"])["Rules"]
    by_priority = {r["Priority"]: r for r in rules}
    assert set(by_priority) == {"10", "20", "30", "default"}

    def weights(rule):
        fc = rule["Actions"][0]["ForwardConfig"]
        return {t["TargetGroupArn"]: t["Weight"] for t in fc["TargetGroups"]}, fc.get("TargetGroupStickinessConfig", {})

    w, sticky = weights(by_priority["10"])
    assert w == {blue: 0, green: 100}
    assert sticky == {"Enabled": True, "DurationSeconds": 3600}
    assert by_priority["10"]["Conditions"][0]["PathPatternConfig"]["Values"] == ["/app/*"]

    w, sticky = weights(by_priority["20"])
    assert w == {blue: 50, green: 50}
    assert sticky.get("Enabled") is False
    fields = {c["Field"]: c for c in by_priority["20"]["Conditions"]}
    assert fields["http-header"]["HttpHeaderConfig"] == {"HttpHeaderName": "X-Canary", "Values": ["true"]}
    assert fields["path-pattern"]["PathPatternConfig"]["Values"] == ["/api/*"]

    w, _ = weights(by_priority["30"])
    assert w == {blue: 40, green: 35, canary: 25}

    default = by_priority["default"]
    assert default["IsDefault"] is True
    assert default["Actions"][0]["TargetGroupArn"] == blue
