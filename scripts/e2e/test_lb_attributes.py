"""Load balancer attributes: the documented keys and defaults per type (model docs of LoadBalancerAttribute.Key),
round-trips through ModifyLoadBalancerAttributes, and the error for unknown keys."""

import pytest

from support import attrs, chunks, create_lb, kv, raises_code

# "supported by all load balancers"
ALL_TYPES = {"deletion_protection.enabled": "false"}
# "supported by both Application Load Balancers and Network Load Balancers"
ALB_AND_NLB = {
    "access_logs.s3.enabled": "false",
    "access_logs.s3.bucket": "",
    "access_logs.s3.prefix": "",
    "ipv6.deny_all_igw_traffic": "false",  # false for internet-facing, true for internal
    "zonal_shift.config.enabled": "false",
}
# "supported by only Application Load Balancers"
ALB_ONLY = {
    "idle_timeout.timeout_seconds": "60",
    "client_keep_alive.seconds": "3600",
    "connection_logs.s3.enabled": "false",
    "connection_logs.s3.bucket": "",
    "connection_logs.s3.prefix": "",
    "health_check_logs.s3.enabled": "false",
    "health_check_logs.s3.bucket": "",
    "health_check_logs.s3.prefix": "",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "routing.http2.enabled": "true",
    "waf.fail_open.enabled": "false",
}
# "supported by only Network Load Balancers"
NLB_ONLY = {
    "dns_record.client_routing_policy": "any_availability_zone",
    "secondary_ips.auto_assigned.per_subnet": "0",
}

DEFAULTS = {
    # ALB cross-zone is always on ("The default for Application Load Balancers is true, and can't be changed").
    "application": {**ALL_TYPES, "load_balancing.cross_zone.enabled": "true", **ALB_AND_NLB, **ALB_ONLY},
    "network": {**ALL_TYPES, "load_balancing.cross_zone.enabled": "false", **ALB_AND_NLB, **NLB_ONLY},
    "gateway": {**ALL_TYPES, "load_balancing.cross_zone.enabled": "false"},
}
FOREIGN = {
    "application": set(NLB_ONLY),
    "network": set(ALB_ONLY),
    "gateway": set(ALB_ONLY) | set(NLB_ONLY) | set(ALB_AND_NLB),
}

# A non-default, valid value for every key (logs stay disabled: enabling them needs a real bucket).
NEW_VALUES = {
    "deletion_protection.enabled": "true",
    "access_logs.s3.enabled": "false",
    "access_logs.s3.bucket": "e2e-access-logs",
    "access_logs.s3.prefix": "alb",
    "ipv6.deny_all_igw_traffic": "true",
    "zonal_shift.config.enabled": "true",
    "idle_timeout.timeout_seconds": "120",
    "client_keep_alive.seconds": "7200",
    "connection_logs.s3.enabled": "false",
    "connection_logs.s3.bucket": "e2e-connection-logs",
    "connection_logs.s3.prefix": "conn",
    "health_check_logs.s3.enabled": "false",
    "health_check_logs.s3.bucket": "e2e-health-logs",
    "health_check_logs.s3.prefix": "hc",
    "routing.http.desync_mitigation_mode": "strictest",
    "routing.http.drop_invalid_header_fields.enabled": "true",
    "routing.http.preserve_host_header.enabled": "true",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "true",
    "routing.http.xff_client_port.enabled": "true",
    "routing.http.xff_header_processing.mode": "preserve",
    "routing.http2.enabled": "false",
    "waf.fail_open.enabled": "true",
    "dns_record.client_routing_policy": "availability_zone_affinity",
    "secondary_ips.auto_assigned.per_subnet": "1",
}
CROSS_ZONE_NEW = {"application": "true", "network": "true", "gateway": "true"}

TYPES = ["application", "network", "gateway"]


@pytest.mark.parametrize("lb_type", TYPES)
def test_default_attributes_per_type(elbv2, net, lb_type):
    """DescribeLoadBalancerAttributes of a new LB lists every documented key of its type with the documented default, and no key of another type."""
    lb = create_lb(elbv2, net, type=lb_type)
    got = attrs(elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"])
    want = DEFAULTS[lb_type]
    missing = sorted(set(want) - set(got))
    assert not missing, f"missing keys: {missing}"
    wrong = {k: (got[k], v) for k, v in want.items() if got[k] != v}
    assert not wrong, f"(got, documented default): {wrong}"
    foreign = sorted(FOREIGN[lb_type] & set(got))
    assert not foreign, f"keys of other LB types: {foreign}"


def test_internal_lb_denies_igw_ipv6_by_default(elbv2, net):
    """ipv6.deny_all_igw_traffic defaults to true for internal load balancers."""
    lb = create_lb(elbv2, net, Scheme="internal")
    got = attrs(elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"])
    assert got["ipv6.deny_all_igw_traffic"] == "true"


@pytest.mark.parametrize("lb_type", TYPES)
def test_every_key_round_trips(elbv2, net, lb_type):
    """Every documented key of the type can be set with ModifyLoadBalancerAttributes (≤20 per call) and reads back as set."""
    lb = create_lb(elbv2, net, type=lb_type)
    arn = lb["LoadBalancerArn"]
    new = {k: NEW_VALUES[k] for k in DEFAULTS[lb_type] if k in NEW_VALUES}
    new["load_balancing.cross_zone.enabled"] = CROSS_ZONE_NEW[lb_type]
    for part in chunks(sorted(new.items()), 20):
        out = attrs(elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=kv(dict(part)))["Attributes"])
        for k, v in part:
            assert out.get(k) == v, f"Modify answer for {k}: {out.get(k)!r} != {v!r}"
    got = attrs(elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"])
    wrong = {k: (got.get(k), v) for k, v in new.items() if got.get(k) != v}
    assert not wrong, f"(described, set): {wrong}"
    # Unmodified keys keep their values: modify one key again and nothing else moves.
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}]
    )
    again = attrs(elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"])
    assert again["deletion_protection.enabled"] == "false"
    assert {k: again.get(k) for k in new if k != "deletion_protection.enabled"} == {
        k: v for k, v in new.items() if k != "deletion_protection.enabled"
    }


def test_unknown_key_is_not_recognized(elbv2, net):
    """An unknown attribute key is a ValidationError "…attribute key 'X' is not recognized" (the text Terraform matches)."""
    lb = create_lb(elbv2, net)
    with raises_code("ValidationError") as e:
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[{"Key": "bogus.key.enabled", "Value": "true"}]
        )
    assert "attribute key 'bogus.key.enabled' is not recognized" in e.message


def test_failed_modify_changes_nothing(elbv2, net):
    """A ModifyLoadBalancerAttributes call that fails on one key applies none of its keys."""
    lb = create_lb(elbv2, net)
    arn = lb["LoadBalancerArn"]
    with raises_code("ValidationError"):
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=arn,
            Attributes=[
                {"Key": "idle_timeout.timeout_seconds", "Value": "300"},
                {"Key": "bogus.key.enabled", "Value": "true"},
            ],
        )
    got = attrs(elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"])
    assert got["idle_timeout.timeout_seconds"] == "60"
