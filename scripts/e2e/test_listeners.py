"""Listeners: create/describe/modify/delete, HTTPS certificates, duplicates, the default rule, attributes,
and the listener certificate list."""

import re

import pytest

from support import (
    ACCOUNT_RE,
    CERT_ARN,
    CERT_ARN_2,
    HEX16,
    attrs,
    create_lb,
    create_listener,
    create_tg,
    free_port,
    lb_id,
    raises_code,
)

TLS13_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@pytest.fixture
def alb(elbv2, net):
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"])
    return lb, tg


def test_create_http_listener(elbv2, alb):
    """CreateListener (HTTP) returns a listener/app/<lb>/<lbid>/<id> ARN, the port, protocol and forward action; no SslPolicy."""
    lb, tg = alb
    port = free_port()
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], port=port)
    kind, name, lbid = lb_id(lb["LoadBalancerArn"])
    assert re.fullmatch(
        rf"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT_RE}:listener/app/{name}/{lbid}/{HEX16}", listener["ListenerArn"]
    )
    assert listener["LoadBalancerArn"] == lb["LoadBalancerArn"]
    assert listener["Port"] == port
    assert listener["Protocol"] == "HTTP"
    assert "SslPolicy" not in listener
    assert not listener.get("Certificates")
    actions = listener["DefaultActions"]
    assert len(actions) == 1
    assert actions[0]["Type"] == "forward"
    assert actions[0]["TargetGroupArn"] == tg["TargetGroupArn"]
    # A single-TG forward is also described in ForwardConfig form.
    assert [t["TargetGroupArn"] for t in actions[0]["ForwardConfig"]["TargetGroups"]] == [tg["TargetGroupArn"]]
    described = elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"]
    assert [d["ListenerArn"] for d in described] == [listener["ListenerArn"]]
    assert described[0]["Port"] == port


def test_create_https_listener_with_certificate(elbv2, alb):
    """An HTTPS listener keeps its certificate and SslPolicy (Describe returns them)."""
    lb, tg = alb
    listener = create_listener(
        elbv2,
        lb["LoadBalancerArn"],
        tg["TargetGroupArn"],
        protocol="HTTPS",
        Certificates=[{"CertificateArn": CERT_ARN}],
        SslPolicy=TLS13_POLICY,
    )
    assert listener["Protocol"] == "HTTPS"
    assert listener["SslPolicy"] == TLS13_POLICY
    assert [c["CertificateArn"] for c in listener["Certificates"]] == [CERT_ARN]
    got = elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"][0]
    assert got["SslPolicy"] == TLS13_POLICY
    assert [c["CertificateArn"] for c in got["Certificates"]] == [CERT_ARN]


def test_https_listener_gets_a_default_policy(elbv2, alb):
    """An HTTPS listener created without SslPolicy gets one of the SSL policies DescribeSSLPolicies lists."""
    lb, tg = alb
    listener = create_listener(
        elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="HTTPS", Certificates=[{"CertificateArn": CERT_ARN}]
    )
    policy = listener["SslPolicy"]
    assert elbv2.describe_ssl_policies(Names=[policy])["SslPolicies"][0]["Name"] == policy


def test_unknown_ssl_policy(elbv2, alb):
    """An SslPolicy that does not exist is SSLPolicyNotFound."""
    lb, tg = alb
    with raises_code("SSLPolicyNotFound"):
        create_listener(
            elbv2,
            lb["LoadBalancerArn"],
            tg["TargetGroupArn"],
            protocol="HTTPS",
            Certificates=[{"CertificateArn": CERT_ARN}],
            SslPolicy="ELBSecurityPolicy-DoesNotExist",
        )


def test_duplicate_listener(elbv2, alb):
    """A second listener on the same port with different settings is DuplicateListener; identical settings return the same listener."""
    lb, tg = alb
    port = free_port()
    first = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], port=port)
    again = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], port=port)
    assert again["ListenerArn"] == first["ListenerArn"]
    with raises_code("DuplicateListener"):
        create_listener(
            elbv2,
            lb["LoadBalancerArn"],
            port=port,
            actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        )
    assert len(elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]) == 1


def test_describe_listeners_arguments(elbv2, alb):
    """DescribeListeners needs a LB ARN or listener ARNs (else ValidationError); unknown listener → ListenerNotFound, unknown LB → LoadBalancerNotFound."""
    lb, tg = alb
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    with raises_code("ValidationError"):
        elbv2.describe_listeners()
    ghost_listener = listener["ListenerArn"].rsplit("/", 1)[0] + "/0123456789abcdef"
    with raises_code("ListenerNotFound"):
        elbv2.describe_listeners(ListenerArns=[ghost_listener])
    ghost_lb = lb["LoadBalancerArn"].rsplit("/", 1)[0] + "/0123456789abcdef"
    with raises_code("LoadBalancerNotFound"):
        elbv2.describe_listeners(LoadBalancerArn=ghost_lb)


def test_default_rule(elbv2, alb):
    """Every listener has a default rule: Priority "default", IsDefault true, no conditions, the listener's default actions; it can't be deleted."""
    lb, tg = alb
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert len(rules) == 1
    rule = rules[0]
    assert rule["Priority"] == "default"
    assert rule["IsDefault"] is True
    assert rule["Conditions"] == []
    assert rule["Actions"][0]["Type"] == "forward"
    assert rule["Actions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    assert ":listener-rule/app/" in rule["RuleArn"]
    with raises_code("OperationNotPermitted"):
        elbv2.delete_rule(RuleArn=rule["RuleArn"])


def test_modify_listener(elbv2, alb):
    """ModifyListener changes the port and default actions; the default rule follows the new default actions."""
    lb, tg = alb
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    new_port = free_port()
    fixed = [
        {
            "Type": "fixed-response",
            "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain", "MessageBody": "maintenance"},
        }
    ]
    out = elbv2.modify_listener(ListenerArn=listener["ListenerArn"], Port=new_port, DefaultActions=fixed)["Listeners"][0]
    assert out["Port"] == new_port
    assert out["DefaultActions"][0]["Type"] == "fixed-response"
    assert out["DefaultActions"][0]["FixedResponseConfig"] == fixed[0]["FixedResponseConfig"]
    rule = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"][0]
    assert rule["Actions"][0]["FixedResponseConfig"] == fixed[0]["FixedResponseConfig"]
    # The TG is no longer used by this LB.
    assert elbv2.describe_target_groups(TargetGroupArns=[tg["TargetGroupArn"]])["TargetGroups"][0]["LoadBalancerArns"] == []


def test_redirect_default_action_round_trip(elbv2, alb):
    """A redirect default action comes back with its RedirectConfig."""
    lb, _ = alb
    redirect = {
        "Type": "redirect",
        "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301"},
    }
    listener = create_listener(elbv2, lb["LoadBalancerArn"], actions=[redirect])
    action = listener["DefaultActions"][0]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"] == redirect["RedirectConfig"]


def test_delete_listener(elbv2, alb):
    """DeleteListener removes it (ListenerNotFound afterwards) together with its rules."""
    lb, tg = alb
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    rule_arn = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"][0]["RuleArn"]
    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    with raises_code("ListenerNotFound"):
        elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])
    with raises_code("RuleNotFound"):
        elbv2.describe_rules(RuleArns=[rule_arn])
    assert elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"] == []


def test_forward_to_unknown_target_group(elbv2, alb):
    """A default action forwarding to a TG that does not exist is TargetGroupNotFound."""
    lb, tg = alb
    ghost = tg["TargetGroupArn"].rsplit("/", 1)[0] + "/0123456789abcdef"
    with raises_code("TargetGroupNotFound"):
        create_listener(elbv2, lb["LoadBalancerArn"], ghost)


# --- listener attributes ---------------------------------------------------------------------------


def test_alb_listener_attributes(elbv2, alb):
    """An ALB HTTP listener has routing.http.response.server.enabled=true by default; setting it to false reads back."""
    lb, tg = alb
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    arn = listener["ListenerArn"]
    got = attrs(elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"])
    assert got.get("routing.http.response.server.enabled") == "true"
    out = elbv2.modify_listener_attributes(
        ListenerArn=arn, Attributes=[{"Key": "routing.http.response.server.enabled", "Value": "false"}]
    )
    assert attrs(out["Attributes"])["routing.http.response.server.enabled"] == "false"
    got = attrs(elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"])
    assert got["routing.http.response.server.enabled"] == "false"


def test_https_listener_header_attributes(elbv2, alb):
    """HTTPS listener header attributes (HSTS value, TLS header names) can be set and read back."""
    lb, tg = alb
    listener = create_listener(
        elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="HTTPS", Certificates=[{"CertificateArn": CERT_ARN}]
    )
    new = {
        "routing.http.response.strict_transport_security.header_value": "max-age=31536000; includeSubDomains",
        "routing.http.request.x_amzn_tls_version.header_name": "X-Tls-Version",
        "routing.http.response.access_control_allow_origin.header_value": "https://example.com",
    }
    elbv2.modify_listener_attributes(ListenerArn=listener["ListenerArn"], Attributes=[{"Key": k, "Value": v} for k, v in new.items()])
    got = attrs(elbv2.describe_listener_attributes(ListenerArn=listener["ListenerArn"])["Attributes"])
    assert {k: got.get(k) for k in new} == new


def test_nlb_listener_tcp_idle_timeout(elbv2, net):
    """An NLB TCP listener has tcp.idle_timeout.seconds=350 by default; it round-trips through ModifyListenerAttributes."""
    lb = create_lb(elbv2, net, type="network")
    tg = create_tg(elbv2, lb["VpcId"], protocol="TCP")
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="TCP")
    arn = listener["ListenerArn"]
    assert attrs(elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"])["tcp.idle_timeout.seconds"] == "350"
    elbv2.modify_listener_attributes(ListenerArn=arn, Attributes=[{"Key": "tcp.idle_timeout.seconds", "Value": "600"}])
    assert attrs(elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"])["tcp.idle_timeout.seconds"] == "600"


# --- listener certificates -------------------------------------------------------------------------


def test_listener_certificates(elbv2, alb):
    """Add/Describe/RemoveListenerCertificates: the default cert is listed with IsDefault true, added ones with false; re-adding is a no-op."""
    lb, tg = alb
    listener = create_listener(
        elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="HTTPS", Certificates=[{"CertificateArn": CERT_ARN}]
    )
    arn = listener["ListenerArn"]

    def listed():
        return {(c["CertificateArn"], c["IsDefault"]) for c in elbv2.describe_listener_certificates(ListenerArn=arn)["Certificates"]}

    assert listed() == {(CERT_ARN, True)}
    out = elbv2.add_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": CERT_ARN_2}])
    assert [c["CertificateArn"] for c in out["Certificates"]] == [CERT_ARN_2]
    assert listed() == {(CERT_ARN, True), (CERT_ARN_2, False)}
    elbv2.add_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": CERT_ARN_2}])
    certs = elbv2.describe_listener_certificates(ListenerArn=arn)["Certificates"]
    assert sum(1 for c in certs if c["CertificateArn"] == CERT_ARN_2) == 1
    elbv2.remove_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": CERT_ARN_2}])
    assert listed() == {(CERT_ARN, True)}


def test_default_certificate_cannot_be_removed(elbv2, alb):
    """RemoveListenerCertificates of the listener's default certificate is OperationNotPermitted."""
    lb, tg = alb
    listener = create_listener(
        elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="HTTPS", Certificates=[{"CertificateArn": CERT_ARN}]
    )
    with raises_code("OperationNotPermitted"):
        elbv2.remove_listener_certificates(ListenerArn=listener["ListenerArn"], Certificates=[{"CertificateArn": CERT_ARN}])


def test_listener_certificates_unknown_listener(elbv2, alb):
    """DescribeListenerCertificates of an unknown listener is ListenerNotFound."""
    lb, tg = alb
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    ghost = listener["ListenerArn"].rsplit("/", 1)[0] + "/0123456789abcdef"
    with raises_code("ListenerNotFound"):
        elbv2.describe_listener_certificates(ListenerArn=ghost)

