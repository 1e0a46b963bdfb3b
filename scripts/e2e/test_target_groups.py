"""Target groups: protocol-dependent defaults, names, duplicates, in-use protection, attributes, LB links."""

import re

import pytest

from support import (
    ACCOUNT_RE,
    HEX16,
    attrs,
    create_lb,
    create_listener,
    create_tg,
    forward,
    kv,
    raises_code,
    unique,
)

# Defaults per protocol (peer-moto-notes §4, LocalStack's AWS-validated snapshot; examples-1.json for HTTP).
HTTP_DEFAULTS = dict(
    HealthCheckProtocol="HTTP",
    HealthCheckPort="traffic-port",
    HealthCheckEnabled=True,
    HealthCheckIntervalSeconds=30,
    HealthCheckTimeoutSeconds=5,
    HealthyThresholdCount=5,
    UnhealthyThresholdCount=2,
    HealthCheckPath="/",
    Matcher={"HttpCode": "200"},
    ProtocolVersion="HTTP1",
)
TCP_LIKE = dict(
    HealthCheckProtocol="TCP",
    HealthCheckPort="traffic-port",
    HealthCheckEnabled=True,
    HealthCheckIntervalSeconds=30,
    HealthCheckTimeoutSeconds=10,
    HealthyThresholdCount=5,
    UnhealthyThresholdCount=2,
)
CASES = {
    "HTTP": (dict(Protocol="HTTP", Port=80), HTTP_DEFAULTS, ()),
    "HTTPS": (dict(Protocol="HTTPS", Port=443), {**HTTP_DEFAULTS, "HealthCheckProtocol": "HTTPS"}, ()),
    "TCP": (dict(Protocol="TCP", Port=80), TCP_LIKE, ("HealthCheckPath", "Matcher", "ProtocolVersion")),
    "TLS": (dict(Protocol="TLS", Port=443), TCP_LIKE, ("HealthCheckPath", "Matcher", "ProtocolVersion")),
    "UDP": (dict(Protocol="UDP", Port=53), TCP_LIKE, ("HealthCheckPath", "Matcher", "ProtocolVersion")),
    "TCP_UDP": (dict(Protocol="TCP_UDP", Port=53), TCP_LIKE, ("HealthCheckPath", "Matcher", "ProtocolVersion")),
    "GENEVE": (
        dict(Protocol="GENEVE", Port=6081),
        dict(
            HealthCheckProtocol="TCP",
            HealthCheckPort="80",
            HealthCheckEnabled=True,
            HealthCheckIntervalSeconds=10,
            HealthCheckTimeoutSeconds=5,
            HealthyThresholdCount=5,
            UnhealthyThresholdCount=2,
        ),
        ("HealthCheckPath", "Matcher"),
    ),
    "alb-target": (
        dict(Protocol="TCP", Port=80, TargetType="alb"),
        dict(
            HealthCheckProtocol="HTTP",
            HealthCheckPort="traffic-port",
            HealthCheckEnabled=True,
            HealthCheckIntervalSeconds=30,
            HealthCheckTimeoutSeconds=6,
            HealthyThresholdCount=5,
            UnhealthyThresholdCount=2,
            HealthCheckPath="/",
            Matcher={"HttpCode": "200-399"},
        ),
        (),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_defaults_per_protocol(elbv2, net, case):
    """CreateTargetGroup fills the protocol's documented health-check defaults (HTTP: 30s/5s/5/2, '/', 200; TCP: TCP 30s/10s; GENEVE: port 80, 10s/5s; alb: HTTP 6s 200-399)."""
    params, want, absent = CASES[case]
    name = unique("tg")
    tg = elbv2.create_target_group(Name=name, VpcId=net.vpc_id, **params)["TargetGroups"][0]
    assert re.fullmatch(rf"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT_RE}:targetgroup/{name}/{HEX16}", tg["TargetGroupArn"])
    assert tg["TargetGroupName"] == name
    assert tg["Protocol"] == params["Protocol"]
    assert tg["Port"] == params["Port"]
    assert tg["VpcId"] == net.vpc_id
    assert tg["TargetType"] == params.get("TargetType", "instance")
    assert tg["IpAddressType"] == "ipv4"
    assert tg["LoadBalancerArns"] == []
    got = {k: tg.get(k) for k in want}
    assert got == want
    for k in absent:
        assert k not in tg, f"{k} should be absent for {case}: {tg.get(k)!r}"
    # Describe returns the same.
    described = elbv2.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]
    assert {k: described.get(k) for k in want} == want


def test_lambda_defaults(elbv2):
    """A lambda target group has no protocol/port/VPC, health checks disabled, interval 35s, timeout 30s, thresholds 5/5."""
    tg = elbv2.create_target_group(Name=unique("lambda"), TargetType="lambda")["TargetGroups"][0]
    assert tg["TargetType"] == "lambda"
    for k in ("Protocol", "Port", "VpcId"):
        assert k not in tg
    assert tg["HealthCheckEnabled"] is False
    assert tg["HealthCheckIntervalSeconds"] == 35
    assert tg["HealthCheckTimeoutSeconds"] == 30
    assert tg["HealthyThresholdCount"] == 5
    assert tg["UnhealthyThresholdCount"] == 5


def test_explicit_health_check_settings_are_kept(elbv2, net):
    """Health-check parameters given to CreateTargetGroup come back exactly; ModifyTargetGroup changes them."""
    tg = create_tg(
        elbv2,
        net.vpc_id,
        HealthCheckProtocol="HTTP",
        HealthCheckPort="8080",
        HealthCheckPath="/healthz",
        HealthCheckIntervalSeconds=10,
        HealthCheckTimeoutSeconds=4,
        HealthyThresholdCount=3,
        UnhealthyThresholdCount=4,
        Matcher={"HttpCode": "200-299"},
    )
    assert (tg["HealthCheckPort"], tg["HealthCheckPath"], tg["HealthCheckIntervalSeconds"]) == ("8080", "/healthz", 10)
    assert (tg["HealthCheckTimeoutSeconds"], tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (4, 3, 4)
    assert tg["Matcher"] == {"HttpCode": "200-299"}
    out = elbv2.modify_target_group(
        TargetGroupArn=tg["TargetGroupArn"],
        HealthCheckPath="/ready",
        HealthCheckIntervalSeconds=20,
        Matcher={"HttpCode": "200,204"},
    )["TargetGroups"][0]
    assert (out["HealthCheckPath"], out["HealthCheckIntervalSeconds"], out["Matcher"]) == ("/ready", 20, {"HttpCode": "200,204"})
    assert out["HealthyThresholdCount"] == 3
    got = elbv2.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]
    assert (got["HealthCheckPath"], got["HealthCheckIntervalSeconds"], got["Matcher"]) == ("/ready", 20, {"HttpCode": "200,204"})


@pytest.mark.parametrize("name", ["t" * 33, "-leading", "trailing-", "double--hyphen", "under_score", "dot.name"])
def test_invalid_names_are_rejected(elbv2, net, name):
    """TG names: ≤32 chars, alphanumerics and hyphens, no leading/trailing hyphen, no '--' → else ValidationError."""
    with raises_code("ValidationError"):
        elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=net.vpc_id)


def test_create_is_idempotent_and_duplicates_fail(elbv2, net):
    """CreateTargetGroup with identical settings returns the same TG; the same name with other settings is DuplicateTargetGroupName."""
    name = unique("dup")
    first = create_tg(elbv2, net.vpc_id, name=name)
    second = create_tg(elbv2, net.vpc_id, name=name)
    assert second["TargetGroupArn"] == first["TargetGroupArn"]
    with raises_code("DuplicateTargetGroupName"):
        create_tg(elbv2, net.vpc_id, name=name, port=8080)
    assert len(elbv2.describe_target_groups(Names=[name])["TargetGroups"]) == 1


def test_missing_port_protocol_vpc(elbv2_unchecked, net):
    """An instance/ip target group needs a protocol, a port and a VPC: leaving one out is a ValidationError."""
    c = elbv2_unchecked
    with raises_code("ValidationError"):
        c.create_target_group(Name=unique("np"), Port=80, VpcId=net.vpc_id)
    with raises_code("ValidationError"):
        c.create_target_group(Name=unique("np"), Protocol="HTTP", VpcId=net.vpc_id)
    with raises_code("ValidationError"):
        c.create_target_group(Name=unique("np"), Protocol="HTTP", Port=80)


def test_describe_filters_and_not_found(elbv2, net):
    """DescribeTargetGroups by Names/ARNs; an unknown name is TargetGroupNotFound; two filters at once are a ValidationError."""
    a = create_tg(elbv2, net.vpc_id)
    b = create_tg(elbv2, net.vpc_id)
    got = elbv2.describe_target_groups(Names=[a["TargetGroupName"]])["TargetGroups"]
    assert [t["TargetGroupArn"] for t in got] == [a["TargetGroupArn"]]
    got = elbv2.describe_target_groups(TargetGroupArns=[a["TargetGroupArn"], b["TargetGroupArn"]])["TargetGroups"]
    assert {t["TargetGroupArn"] for t in got} == {a["TargetGroupArn"], b["TargetGroupArn"]}
    assert {t["TargetGroupArn"] for t in elbv2.describe_target_groups()["TargetGroups"]} == {
        a["TargetGroupArn"],
        b["TargetGroupArn"],
    }
    with raises_code("TargetGroupNotFound"):
        elbv2.describe_target_groups(Names=["no-such-tg"])
    with raises_code("ValidationError"):
        elbv2.describe_target_groups(Names=[a["TargetGroupName"]], TargetGroupArns=[a["TargetGroupArn"]])


def test_load_balancer_arns_follow_listeners(elbv2, net):
    """TargetGroup.LoadBalancerArns is empty until a listener forwards to it, then lists that LB; DescribeTargetGroups(LoadBalancerArn) finds it."""
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"])
    assert tg["LoadBalancerArns"] == []
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    got = elbv2.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]
    assert got["LoadBalancerArns"] == [lb["LoadBalancerArn"]]
    by_lb = elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    assert [t["TargetGroupArn"] for t in by_lb] == [tg["TargetGroupArn"]]
    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    got = elbv2.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]
    assert got["LoadBalancerArns"] == []


def test_delete_in_use_by_listener(elbv2, net):
    """DeleteTargetGroup while a listener forwards to it is ResourceInUse "…is currently in use by a listener or a rule"; afterwards it works."""
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    with raises_code("ResourceInUse") as e:
        elbv2.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
    assert "is currently in use by a listener or a rule" in e.message
    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    elbv2.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
    with raises_code("TargetGroupNotFound"):
        elbv2.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])


def test_delete_in_use_by_rule(elbv2, net):
    """A target group referenced only by a rule's forward action is also ResourceInUse until the rule is deleted."""
    lb = create_lb(elbv2, net)
    default_tg = create_tg(elbv2, lb["VpcId"])
    rule_tg = create_tg(elbv2, lb["VpcId"])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], default_tg["TargetGroupArn"])
    rule = elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=10,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=forward(rule_tg["TargetGroupArn"]),
    )["Rules"][0]
    with raises_code("ResourceInUse"):
        elbv2.delete_target_group(TargetGroupArn=rule_tg["TargetGroupArn"])
    elbv2.delete_rule(RuleArn=rule["RuleArn"])
    elbv2.delete_target_group(TargetGroupArn=rule_tg["TargetGroupArn"])


# --- attributes ----------------------------------------------------------------------------------

HTTP_TG_ATTRS = {
    "deregistration_delay.timeout_seconds": "300",
    "stickiness.enabled": "false",
    "stickiness.type": "lb_cookie",
    "stickiness.lb_cookie.duration_seconds": "86400",
    "stickiness.app_cookie.cookie_name": "",
    "stickiness.app_cookie.duration_seconds": "86400",
    "slow_start.duration_seconds": "0",
    "load_balancing.algorithm.type": "round_robin",
    "load_balancing.algorithm.anomaly_mitigation": "off",
    "load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
    "target_group_health.dns_failover.minimum_healthy_targets.count": "1",
    "target_group_health.dns_failover.minimum_healthy_targets.percentage": "off",
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": "1",
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
}
TCP_TG_ATTRS = {
    "deregistration_delay.timeout_seconds": "300",
    "stickiness.enabled": "false",
    "stickiness.type": "source_ip",
    "deregistration_delay.connection_termination.enabled": "false",
    "preserve_client_ip.enabled": "true",
    "proxy_protocol_v2.enabled": "false",
    "load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
    "target_health_state.unhealthy.connection_termination.enabled": "true",
    "target_health_state.unhealthy.draining_interval_seconds": "0",
    "target_group_health.dns_failover.minimum_healthy_targets.count": "1",
    "target_group_health.dns_failover.minimum_healthy_targets.percentage": "off",
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": "1",
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
}


@pytest.mark.parametrize("protocol,want", [("HTTP", HTTP_TG_ATTRS), ("TCP", TCP_TG_ATTRS)], ids=["HTTP", "TCP"])
def test_default_attributes(elbv2, net, protocol, want):
    """DescribeTargetGroupAttributes of a new TG has the documented keys and defaults (HTTP: lb_cookie stickiness, 300s delay; TCP: source_ip, client IP preserved)."""
    tg = create_tg(elbv2, net.vpc_id, protocol=protocol)
    got = attrs(elbv2.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"])
    missing = sorted(set(want) - set(got))
    assert not missing, f"missing keys: {missing}"
    wrong = {k: (got[k], v) for k, v in want.items() if got[k] != v}
    assert not wrong, f"(got, documented default): {wrong}"


def test_http_attributes_round_trip(elbv2, net):
    """Every HTTP target group attribute can be modified and reads back as set."""
    tg = create_tg(elbv2, net.vpc_id)
    arn = tg["TargetGroupArn"]
    steps = [
        {
            "deregistration_delay.timeout_seconds": "30",
            "stickiness.enabled": "true",
            "stickiness.type": "app_cookie",
            "stickiness.app_cookie.cookie_name": "MYAPP",
            "stickiness.app_cookie.duration_seconds": "600",
            "stickiness.lb_cookie.duration_seconds": "3600",
            "slow_start.duration_seconds": "60",
            "load_balancing.cross_zone.enabled": "true",
            "target_group_health.dns_failover.minimum_healthy_targets.count": "2",
            "target_group_health.dns_failover.minimum_healthy_targets.percentage": "50",
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": "2",
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "25",
        },
        {
            "slow_start.duration_seconds": "0",
            "load_balancing.algorithm.type": "weighted_random",
            "load_balancing.algorithm.anomaly_mitigation": "on",
        },
    ]
    expected = {}
    for step in steps:
        out = attrs(elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=kv(step))["Attributes"])
        for k, v in step.items():
            assert out.get(k) == v, f"Modify answer for {k}: {out.get(k)!r} != {v!r}"
        expected.update(step)
    got = attrs(elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"])
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    assert not wrong, f"(described, set): {wrong}"


def test_tcp_attributes_round_trip(elbv2, net):
    """The NLB-only target group attributes of a TCP TG can be modified and read back."""
    tg = create_tg(elbv2, net.vpc_id, protocol="TCP")
    arn = tg["TargetGroupArn"]
    new = {
        "deregistration_delay.connection_termination.enabled": "true",
        "preserve_client_ip.enabled": "false",
        "proxy_protocol_v2.enabled": "true",
        "target_health_state.unhealthy.connection_termination.enabled": "false",
        "target_health_state.unhealthy.draining_interval_seconds": "120",
        "deregistration_delay.timeout_seconds": "10",
    }
    elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=kv(new))
    got = attrs(elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"])
    assert {k: got.get(k) for k in new} == new


def test_deregistration_delay_range(elbv2, net):
    """deregistration_delay.timeout_seconds must be 0-3600: 3601 is a ValidationError."""
    tg = create_tg(elbv2, net.vpc_id)
    with raises_code("ValidationError"):
        elbv2.modify_target_group_attributes(
            TargetGroupArn=tg["TargetGroupArn"],
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "3601"}],
        )
