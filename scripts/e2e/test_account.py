"""Account-level reads: DescribeSSLPolicies, DescribeAccountLimits, DescribeCapacityReservation."""

import pytest

from support import create_lb, raises_code

TLS13 = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def all_policies(elbv2, **kw):
    return [p for page in elbv2.get_paginator("describe_ssl_policies").paginate(**kw) for p in page["SslPolicies"]]


def test_tls13_policy(elbv2):
    """ELBSecurityPolicy-TLS13-1-2-2021-06 exists with TLSv1.2+TLSv1.3, TLS 1.3 and ECDHE ciphers, for ALB and NLB."""
    got = elbv2.describe_ssl_policies(Names=[TLS13])["SslPolicies"]
    assert [p["Name"] for p in got] == [TLS13]
    p = got[0]
    assert set(p["SslProtocols"]) == {"TLSv1.2", "TLSv1.3"}
    ciphers = {c["Name"] for c in p["Ciphers"]}
    assert {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256"} <= ciphers
    assert all(isinstance(c["Priority"], int) for c in p["Ciphers"])
    assert {"application", "network"} <= set(p["SupportedLoadBalancerTypes"])


def test_fips_policy_listed(elbv2):
    """The policy list includes FIPS policies (e.g. ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04), each with protocols and ciphers."""
    policies = all_policies(elbv2)
    names = {p["Name"] for p in policies}
    assert TLS13 in names
    assert "ELBSecurityPolicy-2016-08" in names
    fips = [p for p in policies if "FIPS" in p["Name"]]
    assert fips, "no FIPS policy listed"
    assert "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04" in names
    for p in fips:
        assert p["SslProtocols"] and p["Ciphers"]


def test_example_policy_2015_05(elbv2):
    """ELBSecurityPolicy-2015-05 is as in the AWS example: TLSv1, TLSv1.1, TLSv1.2, ciphers by priority starting with ECDHE-ECDSA-AES128-GCM-SHA256."""
    p = elbv2.describe_ssl_policies(Names=["ELBSecurityPolicy-2015-05"])["SslPolicies"][0]
    assert set(p["SslProtocols"]) == {"TLSv1", "TLSv1.1", "TLSv1.2"}
    ciphers = sorted(p["Ciphers"], key=lambda c: c["Priority"])
    assert [c["Priority"] for c in ciphers] == list(range(1, len(ciphers) + 1))
    assert {"ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA", "AES256-SHA"} <= {c["Name"] for c in ciphers}
    assert ciphers[0] == {"Name": "ECDHE-ECDSA-AES128-GCM-SHA256", "Priority": 1}


def test_unknown_policy(elbv2):
    """DescribeSSLPolicies with an unknown name is SSLPolicyNotFound."""
    with raises_code("SSLPolicyNotFound"):
        elbv2.describe_ssl_policies(Names=["ELBSecurityPolicy-Nope"])


def test_policy_filter_by_load_balancer_type(elbv2):
    """LoadBalancerType=network returns only policies that support network load balancers."""
    policies = all_policies(elbv2, LoadBalancerType="network")
    assert policies
    assert all("network" in p["SupportedLoadBalancerTypes"] for p in policies)


def test_account_limits(elbv2):
    """DescribeAccountLimits lists the documented quota names with numeric Max; 5 condition values per rule and 5 TGs per action."""
    limits = {
        lim["Name"]: lim["Max"]
        for page in elbv2.get_paginator("describe_account_limits").paginate()
        for lim in page["Limits"]
    }
    for name in (
        "application-load-balancers",
        "network-load-balancers",
        "gateway-load-balancers",
        "target-groups",
        "listeners-per-application-load-balancer",
        "listeners-per-network-load-balancer",
        "rules-per-application-load-balancer",
        "targets-per-application-load-balancer",
        "condition-values-per-alb-rule",
        "condition-wildcards-per-alb-rule",
        "target-groups-per-action-on-application-load-balancer",
        "target-groups-per-application-load-balancer",
    ):
        assert name in limits, f"missing limit {name}"
    assert all(str(v).isdigit() and int(v) > 0 for v in limits.values()), limits
    assert limits["condition-values-per-alb-rule"] == "5"
    assert limits["target-groups-per-action-on-application-load-balancer"] == "5"
    assert limits["condition-wildcards-per-alb-rule"] == "5"


@pytest.mark.parametrize("lb_type", ["application", "network"])
def test_capacity_reservation(elbv2, net, lb_type):
    """DescribeCapacityReservation answers for an ALB/NLB (Terraform reads it on every aws_lb refresh)."""
    lb = create_lb(elbv2, net, type=lb_type)
    out = elbv2.describe_capacity_reservation(LoadBalancerArn=lb["LoadBalancerArn"])
    assert "ResponseMetadata" in out
    for state in out.get("CapacityReservationState", []):
        assert state["State"]["Code"] in {"provisioned", "pending", "rebalancing", "failed"}
