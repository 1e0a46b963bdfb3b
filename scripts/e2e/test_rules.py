"""Listener rules: the six condition types with typed configs, ARNs, priorities, modify/delete, quotas,
weighted forwards."""

import re

import pytest

from support import (
    ACCOUNT_RE,
    CONDITION_CONFIG_KEY,
    HEX16,
    create_lb,
    create_listener,
    create_tg,
    forward,
    lb_id,
    raises_code,
    weighted,
)

CONDITIONS = {
    "host-header": {"Field": "host-header", "HostHeaderConfig": {"Values": ["www.example.com", "*.example.org"]}},
    "path-pattern": {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/img/*", "/static/?/*"]}},
    "http-header": {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["blue", "green*"]}},
    "http-request-method": {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET", "HEAD"]}},
    "query-string": {
        "Field": "query-string",
        "QueryStringConfig": {"Values": [{"Key": "version", "Value": "v1"}, {"Value": "*example*"}]},
    },
    "source-ip": {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8", "192.168.1.1/32"]}},
}


@pytest.fixture
def stack(elbv2, net):
    """ALB, two TGs in its VPC, an HTTP listener forwarding to the first."""
    lb = create_lb(elbv2, net)
    tgs = [create_tg(elbv2, lb["VpcId"]) for _ in range(2)]
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tgs[0]["TargetGroupArn"])
    return lb, tgs, listener


def path_rule(elbv2, listener, tg_arn, priority, path="/p/*"):
    return elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=priority,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [path]}}],
        Actions=forward(tg_arn),
    )["Rules"][0]


def typed(conditions):
    """Field + typed config of each condition (legacy Values dropped) for comparison."""
    out = []
    for c in conditions:
        key = CONDITION_CONFIG_KEY[c["Field"]]
        assert key in c, f"condition {c['Field']} came back without {key}: {c}"
        out.append({"Field": c["Field"], key: c[key]})
    return out


@pytest.mark.parametrize("field", list(CONDITIONS))
def test_condition_types_round_trip(elbv2, stack, field):
    """CreateRule with each condition type's typed config: the rule (Create and DescribeRules by ARN) carries Field + the same typed config."""
    lb, tgs, listener = stack
    cond = CONDITIONS[field]
    rule = elbv2.create_rule(
        ListenerArn=listener["ListenerArn"], Priority=10, Conditions=[cond], Actions=forward(tgs[1]["TargetGroupArn"])
    )["Rules"][0]
    assert rule["Priority"] == "10"
    assert rule["IsDefault"] is False
    assert typed(rule["Conditions"]) == [cond]
    described = elbv2.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"]
    assert len(described) == 1
    assert typed(described[0]["Conditions"]) == [cond]
    assert described[0]["Actions"][0]["TargetGroupArn"] == tgs[1]["TargetGroupArn"]


def test_rule_arn_shape(elbv2, stack):
    """Rule ARNs are …:listener-rule/app/<lb>/<lbid>/<listenerid>/<16 hex>, and the listener ARN is derivable from them."""
    lb, tgs, listener = stack
    rule = path_rule(elbv2, listener, tgs[1]["TargetGroupArn"], 5)
    _, name, lbid = lb_id(lb["LoadBalancerArn"])
    listener_id = listener["ListenerArn"].rsplit("/", 1)[1]
    assert re.fullmatch(
        rf"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT_RE}:listener-rule/app/{name}/{lbid}/{listener_id}/{HEX16}",
        rule["RuleArn"],
    )
    m = re.match(r"^(arn:.+:listener)-rule(/.+)/[^/]+$", rule["RuleArn"])
    assert m and m.group(1) + m.group(2) == listener["ListenerArn"]


def test_legacy_values_come_back_typed(elbv2, stack):
    """A path-pattern condition given with the legacy Values field is also returned with PathPatternConfig."""
    _, tgs, listener = stack
    rule = elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=7,
        Conditions=[{"Field": "path-pattern", "Values": ["/legacy/*"]}],
        Actions=forward(tgs[1]["TargetGroupArn"]),
    )["Rules"][0]
    assert rule["Conditions"][0]["PathPatternConfig"] == {"Values": ["/legacy/*"]}


def test_rules_listed_in_priority_order(elbv2, stack):
    """DescribeRules(ListenerArn) lists the rules by priority, the default rule last."""
    _, tgs, listener = stack
    for p in (30, 10, 20):
        path_rule(elbv2, listener, tgs[1]["TargetGroupArn"], p, path=f"/r{p}/*")
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "20", "30", "default"]


def test_priority_in_use(elbv2, stack):
    """Two rules with the same priority on one listener: the second is PriorityInUse."""
    _, tgs, listener = stack
    path_rule(elbv2, listener, tgs[1]["TargetGroupArn"], 10)
    with raises_code("PriorityInUse"):
        path_rule(elbv2, listener, tgs[1]["TargetGroupArn"], 10, path="/other/*")


@pytest.mark.parametrize("priority", [0, 50001])
def test_priority_range(elbv2_unchecked, stack, priority):
    """Rule priorities are 1-50000: outside is a ValidationError."""
    _, tgs, listener = stack
    with raises_code("ValidationError"):
        path_rule(elbv2_unchecked, listener, tgs[1]["TargetGroupArn"], priority)


def test_set_rule_priorities(elbv2, stack):
    """SetRulePriorities reorders rules and returns them with their new priorities."""
    _, tgs, listener = stack
    a = path_rule(elbv2, listener, tgs[1]["TargetGroupArn"], 10, "/a/*")
    b = path_rule(elbv2, listener, tgs[1]["TargetGroupArn"], 20, "/b/*")
    out = elbv2.set_rule_priorities(
        RulePriorities=[{"RuleArn": a["RuleArn"], "Priority": 30}, {"RuleArn": b["RuleArn"], "Priority": 5}]
    )["Rules"]
    assert {r["RuleArn"]: r["Priority"] for r in out} == {a["RuleArn"]: "30", b["RuleArn"]: "5"}
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert [r["RuleArn"] for r in rules[:-1]] == [b["RuleArn"], a["RuleArn"]]


def test_set_rule_priorities_conflict_changes_nothing(elbv2, stack):
    """SetRulePriorities that would give a rule an occupied priority fails with PriorityInUse and changes no rule."""
    _, tgs, listener = stack
    a = path_rule(elbv2, listener, tgs[1]["TargetGroupArn"], 10, "/a/*")
    b = path_rule(elbv2, listener, tgs[1]["TargetGroupArn"], 20, "/b/*")
    c = path_rule(elbv2, listener, tgs[1]["TargetGroupArn"], 30, "/c/*")
    with raises_code("PriorityInUse"):
        elbv2.set_rule_priorities(
            RulePriorities=[{"RuleArn": a["RuleArn"], "Priority": 40}, {"RuleArn": b["RuleArn"], "Priority": 30}]
        )
    got = {r["RuleArn"]: r["Priority"] for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]}
    assert got[a["RuleArn"]] == "10" and got[b["RuleArn"]] == "20" and got[c["RuleArn"]] == "30"


def test_modify_rule(elbv2, stack):
    """ModifyRule replaces conditions and actions, keeps the priority, and returns the rule."""
    _, tgs, listener = stack
    rule = path_rule(elbv2, listener, tgs[0]["TargetGroupArn"], 10)
    new_conditions = [CONDITIONS["host-header"], CONDITIONS["http-request-method"]]
    out = elbv2.modify_rule(
        RuleArn=rule["RuleArn"], Conditions=new_conditions, Actions=forward(tgs[1]["TargetGroupArn"])
    )["Rules"][0]
    assert out["Priority"] == "10"
    assert typed(out["Conditions"]) == new_conditions
    assert out["Actions"][0]["TargetGroupArn"] == tgs[1]["TargetGroupArn"]
    got = elbv2.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"][0]
    assert typed(got["Conditions"]) == new_conditions
    # Only actions: conditions stay.
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "418", "ContentType": "text/plain", "MessageBody": "teapot"}}]
    out = elbv2.modify_rule(RuleArn=rule["RuleArn"], Actions=fixed)["Rules"][0]
    assert typed(out["Conditions"]) == new_conditions
    assert out["Actions"][0]["FixedResponseConfig"] == fixed[0]["FixedResponseConfig"]


def test_delete_rule(elbv2, stack):
    """DeleteRule removes the rule: DescribeRules(RuleArns) is RuleNotFound and the listener keeps only its default rule."""
    _, tgs, listener = stack
    rule = path_rule(elbv2, listener, tgs[1]["TargetGroupArn"], 10)
    elbv2.delete_rule(RuleArn=rule["RuleArn"])
    with raises_code("RuleNotFound"):
        elbv2.describe_rules(RuleArns=[rule["RuleArn"]])
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert [r["IsDefault"] for r in rules] == [True]


def test_create_rule_on_unknown_listener(elbv2, stack):
    """CreateRule on a listener ARN that does not exist is ListenerNotFound."""
    _, tgs, listener = stack
    ghost = dict(listener, ListenerArn=listener["ListenerArn"].rsplit("/", 1)[0] + "/0123456789abcdef")
    with raises_code("ListenerNotFound"):
        path_rule(elbv2, ghost, tgs[1]["TargetGroupArn"], 10)


def test_rule_forward_to_unknown_target_group(elbv2, stack):
    """A rule forwarding to a TG that does not exist is TargetGroupNotFound."""
    _, tgs, listener = stack
    ghost = tgs[1]["TargetGroupArn"].rsplit("/", 1)[0] + "/0123456789abcdef"
    with raises_code("TargetGroupNotFound"):
        path_rule(elbv2, listener, ghost, 10)


# --- quotas and limits ---------------------------------------------------------------------------


def test_five_condition_values_allowed(elbv2, stack):
    """A rule may have 5 condition values in total."""
    _, tgs, listener = stack
    elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=10,
        Conditions=[
            {"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example.com", "b.example.com"]}},
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/1/*", "/2/*", "/3/*"]}},
        ],
        Actions=forward(tgs[1]["TargetGroupArn"]),
    )


@pytest.mark.parametrize(
    "conditions",
    [
        [{"Field": "path-pattern", "PathPatternConfig": {"Values": [f"/{i}/*" for i in range(6)]}}],
        [
            {"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example.com", "b.example.com", "c.example.com"]}},
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/1/*", "/2/*", "/3/*"]}},
        ],
    ],
    ids=["one-condition", "two-conditions"],
)
def test_more_than_five_condition_values(elbv2, stack, conditions):
    """More than 5 condition values in one rule is a ValidationError ("A rule can only have '5' condition values")."""
    _, tgs, listener = stack
    with raises_code("ValidationError") as e:
        elbv2.create_rule(
            ListenerArn=listener["ListenerArn"], Priority=10, Conditions=conditions, Actions=forward(tgs[1]["TargetGroupArn"])
        )
    assert "5" in e.message


def test_forward_to_five_target_groups(elbv2, net):
    """A forward action may name up to 5 target groups; 6 are rejected."""
    lb = create_lb(elbv2, net)
    tgs = [create_tg(elbv2, lb["VpcId"]) for _ in range(6)]
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tgs[0]["TargetGroupArn"])
    five = weighted(*[(t["TargetGroupArn"], 20) for t in tgs[:5]])
    rule = elbv2.create_rule(
        ListenerArn=listener["ListenerArn"], Priority=10, Conditions=[CONDITIONS["path-pattern"]], Actions=five
    )["Rules"][0]
    assert len(rule["Actions"][0]["ForwardConfig"]["TargetGroups"]) == 5
    six = weighted(*[(t["TargetGroupArn"], 10) for t in tgs])
    with raises_code(("ValidationError", "TooManyTargetGroups")):
        elbv2.create_rule(ListenerArn=listener["ListenerArn"], Priority=11, Conditions=[CONDITIONS["host-header"]], Actions=six)


def test_weights_round_trip_including_bounds(elbv2, stack):
    """ForwardConfig weights 0 and 999 are valid and come back exactly, with the stickiness config."""
    _, tgs, listener = stack
    actions = weighted((tgs[0]["TargetGroupArn"], 0), (tgs[1]["TargetGroupArn"], 999), stickiness=3600)
    rule = elbv2.create_rule(
        ListenerArn=listener["ListenerArn"], Priority=10, Conditions=[CONDITIONS["path-pattern"]], Actions=actions
    )["Rules"][0]
    fc = elbv2.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"][0]["Actions"][0]["ForwardConfig"]
    assert {t["TargetGroupArn"]: t["Weight"] for t in fc["TargetGroups"]} == {
        tgs[0]["TargetGroupArn"]: 0,
        tgs[1]["TargetGroupArn"]: 999,
    }
    assert fc["TargetGroupStickinessConfig"] == {"Enabled": True, "DurationSeconds": 3600}


@pytest.mark.parametrize("weight", [1000, -1])
def test_weight_out_of_range(elbv2_unchecked, stack, weight):
    """A target group weight outside 0-999 is a ValidationError."""
    _, tgs, listener = stack
    actions = weighted((tgs[0]["TargetGroupArn"], 1), (tgs[1]["TargetGroupArn"], weight))
    with raises_code("ValidationError"):
        elbv2_unchecked.create_rule(
            ListenerArn=listener["ListenerArn"], Priority=10, Conditions=[CONDITIONS["path-pattern"]], Actions=actions
        )


def test_condition_value_too_long(elbv2, stack):
    """A condition value longer than 128 characters is a ValidationError."""
    _, tgs, listener = stack
    with raises_code("ValidationError"):
        elbv2.create_rule(
            ListenerArn=listener["ListenerArn"],
            Priority=10,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/" + "a" * 128]}}],
            Actions=forward(tgs[1]["TargetGroupArn"]),
        )


def test_unknown_condition_field(elbv2_unchecked, stack):
    """A condition Field outside the six documented ones is a ValidationError."""
    _, tgs, listener = stack
    with raises_code("ValidationError"):
        elbv2_unchecked.create_rule(
            ListenerArn=listener["ListenerArn"],
            Priority=10,
            Conditions=[{"Field": "cookie", "Values": ["x"]}],
            Actions=forward(tgs[1]["TargetGroupArn"]),
        )
