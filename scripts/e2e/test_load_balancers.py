"""Load balancers: create/describe/delete, identifiers, idempotency, validation, Set* calls."""

import datetime
import re

import pytest

from support import (
    ACCOUNT_RE,
    FAST_WAIT,
    HEX16,
    create_lb,
    create_listener,
    create_tg,
    raises_code,
    unique,
)


def lb_arn_re(kind, name):
    return rf"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT_RE}:loadbalancer/{kind}/{re.escape(name)}/{HEX16}"


def test_create_alb_answer(elbv2, net):
    """CreateLoadBalancer returns an app/ ARN, state provisioning, scheme internet-facing, ipv4 and every subnet/SG sent."""
    name = unique("alb")
    lb = elbv2.create_load_balancer(Name=name, Subnets=net.subnets[:2], SecurityGroups=net.security_groups[:1])[
        "LoadBalancers"
    ][0]
    assert re.fullmatch(lb_arn_re("app", name), lb["LoadBalancerArn"])
    assert lb["LoadBalancerName"] == name
    assert lb["Type"] == "application"
    assert lb["Scheme"] == "internet-facing"
    assert lb["State"]["Code"] == "provisioning"
    assert lb["IpAddressType"] == "ipv4"
    assert lb["DNSName"].lower().startswith(name.lower() + "-")
    assert lb["CanonicalHostedZoneId"]
    assert lb["VpcId"].startswith("vpc-")
    assert isinstance(lb["CreatedTime"], datetime.datetime)
    assert sorted(az["SubnetId"] for az in lb["AvailabilityZones"]) == sorted(net.subnets[:2])
    assert all(az["ZoneName"].startswith("us-east-1") for az in lb["AvailabilityZones"])
    assert lb["SecurityGroups"] == net.security_groups[:1]
    if net.source == "ec2":
        assert lb["VpcId"] == net.vpc_id


def test_create_nlb_and_gwlb_arn_kinds(elbv2, net):
    """Network LBs get loadbalancer/net/ ARNs and Type network; Gateway LBs loadbalancer/gwy/ and Type gateway."""
    nlb = create_lb(elbv2, net, type="network")
    assert re.fullmatch(lb_arn_re("net", nlb["LoadBalancerName"]), nlb["LoadBalancerArn"])
    assert nlb["Type"] == "network"
    assert nlb["State"]["Code"] == "provisioning"
    gwlb = create_lb(elbv2, net, type="gateway")
    assert re.fullmatch(lb_arn_re("gwy", gwlb["LoadBalancerName"]), gwlb["LoadBalancerArn"])
    assert gwlb["Type"] == "gateway"


def test_internal_scheme_dns_name(elbv2, net):
    """An internal load balancer has Scheme internal and a DNS name starting with 'internal-'."""
    lb = create_lb(elbv2, net, Scheme="internal")
    assert lb["Scheme"] == "internal"
    assert lb["DNSName"].startswith("internal-")


def test_provisioning_then_active(elbv2, net):
    """A new LB is provisioning in Create's answer and becomes active (LoadBalancerAvailable succeeds, Describe says active)."""
    lb = create_lb(elbv2, net)
    assert lb["State"]["Code"] == "provisioning"
    arn = lb["LoadBalancerArn"]
    elbv2.get_waiter("load_balancer_available").wait(LoadBalancerArns=[arn], WaiterConfig=FAST_WAIT)
    described = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert [d["LoadBalancerArn"] for d in described] == [arn]
    assert described[0]["State"]["Code"] == "active"


def test_create_is_idempotent_with_identical_settings(elbv2, net):
    """CreateLoadBalancer twice with the same name and settings succeeds and returns the same LB."""
    name = unique("idem")
    kw = dict(Name=name, Subnets=net.subnets[:2], SecurityGroups=net.security_groups[:1])
    first = elbv2.create_load_balancer(**kw)["LoadBalancers"][0]
    second = elbv2.create_load_balancer(**kw)["LoadBalancers"][0]
    assert second["LoadBalancerArn"] == first["LoadBalancerArn"]
    assert len(elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]) == 1


def test_duplicate_name_with_different_settings(elbv2, net):
    """CreateLoadBalancer with an existing name but different settings fails with DuplicateLoadBalancerName."""
    name = unique("dup")
    elbv2.create_load_balancer(Name=name, Subnets=net.subnets[:2], SecurityGroups=net.security_groups[:1])
    with raises_code("DuplicateLoadBalancerName"):
        elbv2.create_load_balancer(
            Name=name, Subnets=net.subnets[:2], SecurityGroups=net.security_groups[:1], Scheme="internal"
        )


@pytest.mark.parametrize(
    "name",
    [
        "a" * 33,
        "-leading-hyphen",
        "trailing-hyphen-",
        "internal-lb",
        "under_score",
        "dot.name",
        "space name",
    ],
)
def test_invalid_names_are_rejected(elbv2, net, name):
    """LB names: ≤32 chars, alphanumerics and hyphens, no leading/trailing hyphen, not 'internal-…' → else ValidationError."""
    with raises_code("ValidationError"):
        elbv2.create_load_balancer(Name=name, Subnets=net.subnets[:2], SecurityGroups=net.security_groups[:1])


def test_name_of_32_characters_is_accepted(elbv2, net):
    """A 32-character LB name is within the limit."""
    name = "n" * 24 + unique("x")[-8:]
    assert len(name) == 32
    lb = create_lb(elbv2, net, name=name)
    assert lb["LoadBalancerName"] == name


def test_describe_by_names_and_arns(elbv2, net):
    """DescribeLoadBalancers filters by Names or LoadBalancerArns; with no filter it lists all."""
    a = create_lb(elbv2, net)
    b = create_lb(elbv2, net)
    got = elbv2.describe_load_balancers(Names=[a["LoadBalancerName"]])["LoadBalancers"]
    assert [x["LoadBalancerArn"] for x in got] == [a["LoadBalancerArn"]]
    got = elbv2.describe_load_balancers(LoadBalancerArns=[b["LoadBalancerArn"]])["LoadBalancers"]
    assert [x["LoadBalancerName"] for x in got] == [b["LoadBalancerName"]]
    got = elbv2.describe_load_balancers(Names=[a["LoadBalancerName"], b["LoadBalancerName"]])["LoadBalancers"]
    assert {x["LoadBalancerArn"] for x in got} == {a["LoadBalancerArn"], b["LoadBalancerArn"]}
    everything = elbv2.describe_load_balancers()["LoadBalancers"]
    assert {x["LoadBalancerArn"] for x in everything} == {a["LoadBalancerArn"], b["LoadBalancerArn"]}


def test_describe_unknown_name_or_arn(elbv2, net):
    """DescribeLoadBalancers fails with LoadBalancerNotFound if any requested name or ARN does not exist."""
    a = create_lb(elbv2, net)
    with raises_code("LoadBalancerNotFound"):
        elbv2.describe_load_balancers(Names=[a["LoadBalancerName"], "no-such-lb"])
    ghost = a["LoadBalancerArn"].rsplit("/", 1)[0] + "/0123456789abcdef"
    with raises_code("LoadBalancerNotFound"):
        elbv2.describe_load_balancers(LoadBalancerArns=[ghost])


def test_describe_names_and_arns_together(elbv2, net):
    """DescribeLoadBalancers with both Names and LoadBalancerArns is a ValidationError."""
    a = create_lb(elbv2, net)
    with raises_code("ValidationError"):
        elbv2.describe_load_balancers(Names=[a["LoadBalancerName"]], LoadBalancerArns=[a["LoadBalancerArn"]])


def test_deletion_protection(elbv2, net):
    """With deletion_protection.enabled=true, DeleteLoadBalancer fails with OperationNotPermitted; after disabling it works."""
    arn = create_lb(elbv2, net)["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}]
    )
    with raises_code("OperationNotPermitted"):
        elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}]
    )
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    with raises_code("LoadBalancerNotFound"):
        elbv2.describe_load_balancers(LoadBalancerArns=[arn])


def test_delete_twice_succeeds(elbv2, net):
    """DeleteLoadBalancer succeeds when the LB does not exist or has already been deleted."""
    arn = create_lb(elbv2, net)["LoadBalancerArn"]
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    elbv2.delete_load_balancer(LoadBalancerArn=arn)


def test_delete_cascades_listeners(elbv2, net):
    """Deleting an LB deletes its listeners and rules, and frees its target groups."""
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    with raises_code("ListenerNotFound"):
        elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])
    with raises_code("LoadBalancerNotFound"):
        elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])
    again = elbv2.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]
    assert again["LoadBalancerArns"] == []
    elbv2.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])


def test_set_security_groups(elbv2, net):
    """SetSecurityGroups replaces the SGs, returns SecurityGroupIds, and DescribeLoadBalancers shows them."""
    lb = create_lb(elbv2, net)
    out = elbv2.set_security_groups(LoadBalancerArn=lb["LoadBalancerArn"], SecurityGroups=net.security_groups[:2])
    assert sorted(out["SecurityGroupIds"]) == sorted(net.security_groups[:2])
    got = elbv2.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])["LoadBalancers"][0]
    assert sorted(got["SecurityGroups"]) == sorted(net.security_groups[:2])
    out = elbv2.set_security_groups(LoadBalancerArn=lb["LoadBalancerArn"], SecurityGroups=net.security_groups[1:2])
    assert out["SecurityGroupIds"] == net.security_groups[1:2]


def test_set_subnets(elbv2, net):
    """SetSubnets replaces the enabled subnets; the answer and Describe list exactly the new ones."""
    lb = create_lb(elbv2, net)
    new = net.subnets[1:3]
    out = elbv2.set_subnets(LoadBalancerArn=lb["LoadBalancerArn"], Subnets=new)
    assert sorted(az["SubnetId"] for az in out["AvailabilityZones"]) == sorted(new)
    got = elbv2.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])["LoadBalancers"][0]
    assert sorted(az["SubnetId"] for az in got["AvailabilityZones"]) == sorted(new)


def test_set_ip_address_type(elbv2, net):
    """SetIpAddressType switches ipv4 → dualstack (answer and Describe); an unknown type is a ValidationError."""
    lb = create_lb(elbv2, net)
    out = elbv2.set_ip_address_type(LoadBalancerArn=lb["LoadBalancerArn"], IpAddressType="dualstack")
    assert out["IpAddressType"] == "dualstack"
    got = elbv2.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])["LoadBalancers"][0]
    assert got["IpAddressType"] == "dualstack"
    with raises_code("ValidationError"):
        elbv2.set_ip_address_type(LoadBalancerArn=lb["LoadBalancerArn"], IpAddressType="ipv5")


def test_unknown_lb_in_set_calls(elbv2, net):
    """Set*/attribute calls on an unknown LB ARN fail with LoadBalancerNotFound."""
    lb = create_lb(elbv2, net)
    ghost = lb["LoadBalancerArn"].rsplit("/", 1)[0] + "/0123456789abcdef"
    with raises_code("LoadBalancerNotFound"):
        elbv2.set_security_groups(LoadBalancerArn=ghost, SecurityGroups=net.security_groups[:1])
    with raises_code("LoadBalancerNotFound"):
        elbv2.describe_load_balancer_attributes(LoadBalancerArn=ghost)

