"""One test per modeled ELBv2 error code: triggered through boto3 as a user would, asserting AWS's
documented code, HTTP 400 and a non-empty message.

The quota errors run against one extra server per module, started with low `--quota NAME=N` limits
(names as DescribeAccountLimits lists them) and reset before each test.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import support
from conftest import LocalElb, make_client
from support import CERT_ARN, CERT_ARN_2, create_lb, create_listener, create_tg, forward

OIDC = {
    "Type": "authenticate-oidc",
    "AuthenticateOidcConfig": {
        "Issuer": "https://idp.example.com",
        "AuthorizationEndpoint": "https://idp.example.com/authorize",
        "TokenEndpoint": "https://idp.example.com/token",
        "UserInfoEndpoint": "https://idp.example.com/userinfo",
        "ClientId": "client",
        "ClientSecret": "secret",
    },
}

FIXED = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}]

QUOTAS = {
    "application-load-balancers": 1,
    "listeners-per-application-load-balancer": 1,
    "rules-per-application-load-balancer": 1,
    "target-groups": 2,
    "targets-per-application-load-balancer": 1,
    "target-groups-per-application-load-balancer": 1,
    "certificates-per-application-load-balancer": 1,
}


def check(excinfo, code: str) -> None:
    """The ClientError carries `code`, HTTP 400 and a non-empty message."""
    resp = excinfo.value.response
    err = resp.get("Error", {})
    assert err.get("Code") == code, f"expected {code}, got {err.get('Code')}: {err.get('Message')}"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (err.get("Message") or "").strip()


def rule(elbv2, listener_arn, actions, *, priority=1, path="/x"):
    return elbv2.create_rule(
        ListenerArn=listener_arn,
        Priority=priority,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [path]}}],
        Actions=actions,
    )


# --------------------------------------------------------------------------------------------------
# Errors on the session server
# --------------------------------------------------------------------------------------------------


def test_duplicate_tag_keys(elbv2, net):
    """AddTags: a tag key may appear only once per request (DuplicateTagKeys)."""
    lb = create_lb(elbv2, net)
    with pytest.raises(ClientError) as e:
        elbv2.add_tags(
            ResourceArns=[lb["LoadBalancerArn"]], Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]
        )
    check(e, "DuplicateTagKeys")


def test_certificate_not_found(elbv2, net):
    """CreateListener: the default certificate must exist (CertificateNotFound)."""
    lb = create_lb(elbv2, net)
    with pytest.raises(ClientError) as e:
        create_listener(
            elbv2, lb["LoadBalancerArn"], protocol="HTTPS", actions=FIXED, Certificates=[{"CertificateArn": "no-such-cert"}]
        )
    check(e, "CertificateNotFound")


def test_incompatible_protocols(elbv2, net):
    """An ALB HTTP listener cannot forward to a TCP target group (IncompatibleProtocols)."""
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"], protocol="TCP")
    with pytest.raises(ClientError) as e:
        create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    check(e, "IncompatibleProtocols")


def test_invalid_configuration_request_two_subnets_one_az(elbv2, ec2, net):
    """A load balancer can have only one subnet per Availability Zone (InvalidConfigurationRequest)."""
    if net.source != "ec2":
        pytest.skip("needs EC2-created subnets with known AZs")
    extra = ec2.create_subnet(VpcId=net.vpc_id, CidrBlock="10.42.10.0/24", AvailabilityZone="us-east-1a")
    with pytest.raises(ClientError) as e:
        create_lb(elbv2, net, Subnets=[net.subnets[0], extra["Subnet"]["SubnetId"]])
    check(e, "InvalidConfigurationRequest")


def test_invalid_load_balancer_action(elbv2, net):
    """A fixed-response ContentType must be one of the five allowed types (InvalidLoadBalancerAction)."""
    lb = create_lb(elbv2, net)
    bad = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "image/png"}}]
    with pytest.raises(ClientError) as e:
        create_listener(elbv2, lb["LoadBalancerArn"], actions=bad)
    check(e, "InvalidLoadBalancerAction")


def test_invalid_security_group(elbv2, net):
    """CreateLoadBalancer: every security group must exist (InvalidSecurityGroup)."""
    with pytest.raises(ClientError) as e:
        create_lb(elbv2, net, SecurityGroups=["not-a-security-group"])
    check(e, "InvalidSecurityGroup")


def test_invalid_subnet(elbv2, ec2, net):
    """CreateLoadBalancer: all subnets must be in the same VPC (InvalidSubnet)."""
    if net.source != "ec2":
        pytest.skip("needs EC2-created VPCs")
    other = support.make_net(ec2)
    with pytest.raises(ClientError) as e:
        create_lb(elbv2, net, Subnets=[net.subnets[0], other.subnets[1]])
    check(e, "InvalidSubnet")


def test_invalid_target_not_an_ip(elbv2, net):
    """RegisterTargets: an ip target group takes only IP addresses, not instance ids (InvalidTarget)."""
    tg = create_tg(elbv2, net.vpc_id, TargetType="ip")
    with pytest.raises(ClientError) as e:
        elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "i-0123456789abcdef0"}])
    check(e, "InvalidTarget")


def test_subnet_not_found(elbv2, net):
    """CreateLoadBalancer: every subnet must exist (SubnetNotFound)."""
    with pytest.raises(ClientError) as e:
        create_lb(elbv2, net, Subnets=["not-a-subnet", net.subnets[1]])
    check(e, "SubnetNotFound")


def test_target_group_association_limit(elbv2, net):
    """An ALB's target group cannot be used by a second load balancer (TargetGroupAssociationLimit)."""
    lb1 = create_lb(elbv2, net)
    lb2 = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb1["VpcId"])
    create_listener(elbv2, lb1["LoadBalancerArn"], tg["TargetGroupArn"])
    with pytest.raises(ClientError) as e:
        create_listener(elbv2, lb2["LoadBalancerArn"], tg["TargetGroupArn"])
    check(e, "TargetGroupAssociationLimit")


def test_too_many_actions(elbv2, net):
    """A rule may have at most one authenticate action (TooManyActions)."""
    lb = create_lb(elbv2, net)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], protocol="HTTPS", actions=FIXED, Certificates=[{"CertificateArn": CERT_ARN}])
    actions = [dict(OIDC, Order=1), dict(OIDC, Order=2), dict(FIXED[0], Order=3)]
    with pytest.raises(ClientError) as e:
        rule(elbv2, listener["ListenerArn"], actions)
    check(e, "TooManyActions")


def test_unsupported_protocol(elbv2, net):
    """authenticate-oidc actions are supported only on HTTPS listeners (UnsupportedProtocol)."""
    lb = create_lb(elbv2, net)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], actions=FIXED)
    with pytest.raises(ClientError) as e:
        rule(elbv2, listener["ListenerArn"], [dict(OIDC, Order=1), dict(FIXED[0], Order=2)])
    check(e, "UnsupportedProtocol")


def test_alpn_policy_not_found(elbv2, net):
    """A TLS listener's AlpnPolicy must be a supported policy (ALPNPolicyNotFound)."""
    lb = create_lb(elbv2, net, type="network")
    tg = create_tg(elbv2, lb["VpcId"], protocol="TCP")
    with pytest.raises(ClientError) as e:
        create_listener(
            elbv2,
            lb["LoadBalancerArn"],
            tg["TargetGroupArn"],
            protocol="TLS",
            Certificates=[{"CertificateArn": CERT_ARN}],
            AlpnPolicy=["HTTP3Only"],
        )
    check(e, "ALPNPolicyNotFound")


# --------------------------------------------------------------------------------------------------
# Quota errors on an extra server with low limits
# --------------------------------------------------------------------------------------------------


class _QuotaServer(LocalElb):
    def args(self) -> list[str]:
        a = super().args()
        for name, n in QUOTAS.items():
            a += ["--quota", f"{name}={n}"]
        return a


@pytest.fixture(scope="module")
def _quota_server(localelb_bin, tmp_path_factory):
    s = _QuotaServer(localelb_bin, tmp_path_factory.mktemp("quota") / "localelb.log").start()
    yield s
    s.stop()


@pytest.fixture
def q(_quota_server):
    """(elbv2, net) on the low-quota server, reset for this test."""
    _quota_server.reset()
    elbv2 = make_client("elbv2", _quota_server.endpoint)
    return elbv2, support.make_net(make_client("ec2", _quota_server.endpoint))


def test_quota_names_are_listed(q):
    """The --quota names used here are the ones DescribeAccountLimits reports, with our values."""
    elbv2, _ = q
    limits = {x["Name"]: x["Max"] for x in elbv2.describe_account_limits()["Limits"]}
    for name, n in QUOTAS.items():
        assert limits.get(name) == str(n), name


def test_too_many_load_balancers(q):
    """CreateLoadBalancer beyond the application-load-balancers quota (TooManyLoadBalancers)."""
    elbv2, net = q
    create_lb(elbv2, net)
    with pytest.raises(ClientError) as e:
        create_lb(elbv2, net)
    check(e, "TooManyLoadBalancers")


def test_too_many_listeners(q):
    """CreateListener beyond listeners-per-application-load-balancer (TooManyListeners)."""
    elbv2, net = q
    lb = create_lb(elbv2, net)
    create_listener(elbv2, lb["LoadBalancerArn"], actions=FIXED)
    with pytest.raises(ClientError) as e:
        create_listener(elbv2, lb["LoadBalancerArn"], actions=FIXED)
    check(e, "TooManyListeners")


def test_too_many_rules(q):
    """CreateRule beyond rules-per-application-load-balancer (TooManyRules)."""
    elbv2, net = q
    lb = create_lb(elbv2, net)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], actions=FIXED)
    rule(elbv2, listener["ListenerArn"], FIXED, priority=1, path="/a")
    with pytest.raises(ClientError) as e:
        rule(elbv2, listener["ListenerArn"], FIXED, priority=2, path="/b")
    check(e, "TooManyRules")


def test_too_many_target_groups(q):
    """CreateTargetGroup beyond the target-groups quota (TooManyTargetGroups)."""
    elbv2, net = q
    for _ in range(QUOTAS["target-groups"]):
        create_tg(elbv2, net.vpc_id)
    with pytest.raises(ClientError) as e:
        create_tg(elbv2, net.vpc_id)
    check(e, "TooManyTargetGroups")


def test_too_many_targets(q):
    """RegisterTargets beyond targets-per-application-load-balancer (TooManyTargets)."""
    elbv2, net = q
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"], TargetType="ip")
    create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "10.42.0.10"}])
    with pytest.raises(ClientError) as e:
        elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "10.42.0.11"}])
    check(e, "TooManyTargets")


def test_too_many_unique_target_groups_per_load_balancer(q):
    """An ALB's actions may reference at most target-groups-per-application-load-balancer groups
    (TooManyUniqueTargetGroupsPerLoadBalancer)."""
    elbv2, net = q
    lb = create_lb(elbv2, net)
    tg1 = create_tg(elbv2, lb["VpcId"])
    tg2 = create_tg(elbv2, lb["VpcId"])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg1["TargetGroupArn"])
    with pytest.raises(ClientError) as e:
        rule(elbv2, listener["ListenerArn"], forward(tg2["TargetGroupArn"]))
    check(e, "TooManyUniqueTargetGroupsPerLoadBalancer")


def test_too_many_certificates(q):
    """AddListenerCertificates beyond certificates-per-application-load-balancer (TooManyCertificates)."""
    elbv2, net = q
    lb = create_lb(elbv2, net)
    listener = create_listener(
        elbv2, lb["LoadBalancerArn"], protocol="HTTPS", actions=FIXED, Certificates=[{"CertificateArn": CERT_ARN}]
    )
    extra = CERT_ARN_2.replace("66666666", "77777777")
    elbv2.add_listener_certificates(ListenerArn=listener["ListenerArn"], Certificates=[{"CertificateArn": CERT_ARN_2}])
    with pytest.raises(ClientError) as e:
        elbv2.add_listener_certificates(ListenerArn=listener["ListenerArn"], Certificates=[{"CertificateArn": extra}])
    check(e, "TooManyCertificates")
