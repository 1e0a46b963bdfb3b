"""Tags on load balancers, target groups, listeners and rules."""

import pytest

from support import create_lb, create_listener, create_tg, forward, raises_code


@pytest.fixture
def resources(elbv2, net):
    """An ALB, a TG, a listener and a rule, none tagged: {kind: arn}."""
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    rule = elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=1,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x"]}}],
        Actions=forward(tg["TargetGroupArn"]),
    )["Rules"][0]
    return {
        "lb": lb["LoadBalancerArn"],
        "tg": tg["TargetGroupArn"],
        "listener": listener["ListenerArn"],
        "rule": rule["RuleArn"],
    }


def tag_map(elbv2, arns):
    out = elbv2.describe_tags(ResourceArns=list(arns))["TagDescriptions"]
    return {d["ResourceArn"]: {t["Key"]: t.get("Value") for t in d["Tags"]} for d in out}, out


def test_describe_tags_one_entry_per_arn_without_tags(elbv2, resources):
    """DescribeTags returns exactly one TagDescriptions entry per requested ARN, with Tags [] when there are none."""
    for arn in resources.values():
        out = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
        assert len(out) == 1
        assert out[0]["ResourceArn"] == arn
        assert out[0]["Tags"] == []
    got, raw = tag_map(elbv2, resources.values())
    assert len(raw) == 4
    assert got == {arn: {} for arn in resources.values()}


def test_add_and_remove_tags_on_every_kind(elbv2, resources):
    """AddTags/RemoveTags work on LB, TG, listener and rule ARNs, in one call for all of them."""
    arns = list(resources.values())
    elbv2.add_tags(ResourceArns=arns, Tags=[{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "edge"}])
    got, _ = tag_map(elbv2, arns)
    assert got == {arn: {"env": "test", "team": "edge"} for arn in arns}
    elbv2.remove_tags(ResourceArns=arns, TagKeys=["team"])
    got, _ = tag_map(elbv2, arns)
    assert got == {arn: {"env": "test"} for arn in arns}


def test_add_tags_upserts(elbv2, resources):
    """AddTags with an existing key replaces its value."""
    arn = resources["lb"]
    elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "env", "Value": "one"}])
    elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "env", "Value": "two"}])
    got, _ = tag_map(elbv2, [arn])
    assert got[arn] == {"env": "two"}


def test_empty_tag_value(elbv2, resources):
    """A tag with an empty value keeps the empty string."""
    arn = resources["tg"]
    elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "flag", "Value": ""}])
    got, _ = tag_map(elbv2, [arn])
    assert got[arn] == {"flag": ""}


def test_tags_on_create(elbv2, net):
    """Tags passed to CreateLoadBalancer/CreateTargetGroup/CreateListener/CreateRule are stored."""
    lb = create_lb(elbv2, net, Tags=[{"Key": "k", "Value": "lb"}])
    tg = create_tg(elbv2, lb["VpcId"], Tags=[{"Key": "k", "Value": "tg"}])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], Tags=[{"Key": "k", "Value": "listener"}])
    rule = elbv2.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=1,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x"]}}],
        Actions=forward(tg["TargetGroupArn"]),
        Tags=[{"Key": "k", "Value": "rule"}],
    )["Rules"][0]
    got, _ = tag_map(elbv2, [lb["LoadBalancerArn"], tg["TargetGroupArn"], listener["ListenerArn"], rule["RuleArn"]])
    assert got == {
        lb["LoadBalancerArn"]: {"k": "lb"},
        tg["TargetGroupArn"]: {"k": "tg"},
        listener["ListenerArn"]: {"k": "listener"},
        rule["RuleArn"]: {"k": "rule"},
    }


def test_fifty_tags_allowed_fifty_one_too_many(elbv2, resources):
    """A resource can have 50 tags; adding a 51st is TooManyTags, while updating an existing key at 50 still works."""
    arn = resources["lb"]
    elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": f"k{i:02d}", "Value": str(i)} for i in range(50)])
    got, _ = tag_map(elbv2, [arn])
    assert len(got[arn]) == 50
    with raises_code("TooManyTags"):
        elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "one-more", "Value": "x"}])
    elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "k00", "Value": "updated"}])
    got, _ = tag_map(elbv2, [arn])
    assert len(got[arn]) == 50 and got[arn]["k00"] == "updated"


def test_tags_of_unknown_resources(elbv2, resources):
    """AddTags on an ARN that does not exist fails with the resource's NotFound code."""
    ghost_lb = resources["lb"].rsplit("/", 1)[0] + "/0123456789abcdef"
    ghost_tg = resources["tg"].rsplit("/", 1)[0] + "/0123456789abcdef"
    with raises_code("LoadBalancerNotFound"):
        elbv2.add_tags(ResourceArns=[ghost_lb], Tags=[{"Key": "a", "Value": "b"}])
    with raises_code("TargetGroupNotFound"):
        elbv2.add_tags(ResourceArns=[ghost_tg], Tags=[{"Key": "a", "Value": "b"}])


def test_tags_removed_with_resource(elbv2, net):
    """Tags go away with their resource: a re-created LB of the same name starts untagged."""
    lb = create_lb(elbv2, net, Tags=[{"Key": "gen", "Value": "1"}])
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    again = create_lb(elbv2, net, name=lb["LoadBalancerName"])
    got, _ = tag_map(elbv2, [again["LoadBalancerArn"]])
    assert got[again["LoadBalancerArn"]] == {}
