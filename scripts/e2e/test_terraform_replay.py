"""Replay of the Terraform AWS provider's call sequences (terraform-provider-needs.md §1) with boto3:
aws_lb + aws_lb_target_group + aws_lb_listener + aws_lb_listener_rule (+ attachment) create, refresh, destroy.

Each step asserts what the provider needs from the answer; a failure here is a failed `terraform apply`."""

import re

from botocore.exceptions import ClientError

from support import CONDITION_CONFIG_KEY, attrs, free_port, kv, raises_code, wait_until

# §1.1: every key the provider sends for an ALB on create (values = the schema defaults).
TF_ALB_ATTRIBUTES = {
    "idle_timeout.timeout_seconds": "60",
    "client_keep_alive.seconds": "3600",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http2.enabled": "true",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "waf.fail_open.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "zonal_shift.config.enabled": "false",
    "deletion_protection.enabled": "false",
    "access_logs.s3.enabled": "false",
    "connection_logs.s3.enabled": "false",
}
LB_ARN_NAME_RE = re.compile(r"arn:.*:loadbalancer/(app|net|gwy)/([^/]+)/[0-9a-f]{16}$")
RULE_TO_LISTENER_RE = re.compile(r"^(arn:.+:listener)-rule(/.+)/[^/]+$")


def tolerate(codes, fn, *a, **kw):
    """Calls fn; an error whose code is in `codes` is returned as the code (what the provider ignores)."""
    try:
        return fn(*a, **kw)
    except ClientError as e:
        code = e.response["Error"]["Code"]
        assert code in codes, f"{fn.__name__}: {code} is fatal for Terraform ({e.response['Error'].get('Message')})"
        return code


def one_tag_description(elbv2, arn):
    """The tag interceptor: DescribeTags must return exactly one entry, for this ARN."""
    out = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
    assert len(out) == 1 and out[0]["ResourceArn"] == arn, out
    return {t["Key"]: t.get("Value") for t in out[0]["Tags"]}


def wait_lb_active(elbv2, arn):
    """waitLoadBalancerActive (without the 30 s delay): Describe by ARN until active; the ARN must come back identical."""

    def poll():
        lbs = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
        assert len(lbs) == 1 and lbs[0]["LoadBalancerArn"] == arn
        assert lbs[0]["State"]["Code"] in ("provisioning", "active"), lbs[0]["State"]
        return lbs[0]["State"]["Code"] == "active"

    wait_until(poll, timeout=15, interval=0.2, what="load balancer active")


def read_lb(elbv2, arn, subnets):
    """resourceLoadBalancerRead."""
    lb = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    for key in ("LoadBalancerArn", "LoadBalancerName", "DNSName", "CanonicalHostedZoneId", "Scheme", "Type", "IpAddressType", "VpcId"):
        assert lb.get(key), f"aws_lb read needs {key}"
    assert isinstance(lb["SecurityGroups"], list)
    assert sorted(az["SubnetId"] for az in lb["AvailabilityZones"]) == sorted(subnets)
    assert all(az["ZoneName"] for az in lb["AvailabilityZones"])
    m = LB_ARN_NAME_RE.search(arn)
    assert m and m.group(2) == lb["LoadBalancerName"]
    lb_attrs = attrs(elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"])
    for k, v in TF_ALB_ATTRIBUTES.items():
        assert lb_attrs.get(k) == v, f"{k}: {lb_attrs.get(k)!r} != {v!r} (perpetual diff)"
    cap = tolerate({"InvalidAction", "AccessDenied"}, elbv2.describe_capacity_reservation, LoadBalancerArn=arn)
    if isinstance(cap, dict) and "MinimumLoadBalancerCapacity" in cap:
        assert isinstance(cap["MinimumLoadBalancerCapacity"].get("CapacityUnits", 0), int)
    tags = one_tag_description(elbv2, arn)
    return lb, lb_attrs, tags


def read_tg(elbv2, arn):
    """resourceTargetGroupRead."""
    tgs = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
    assert len(tgs) == 1 and tgs[0]["TargetGroupArn"] == arn
    tg = tgs[0]
    tg_attrs = attrs(elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"])
    # stickiness is always rebuilt from these three (HTTP).
    for k in ("stickiness.enabled", "stickiness.type", "stickiness.lb_cookie.duration_seconds"):
        assert k in tg_attrs, f"aws_lb_target_group read needs attribute {k}"
    assert tg_attrs["deregistration_delay.timeout_seconds"] == "300"
    assert tg_attrs["slow_start.duration_seconds"] == "0"
    assert tg_attrs["load_balancing.algorithm.type"] == "round_robin"
    assert tg_attrs["load_balancing.cross_zone.enabled"] == "use_load_balancer_configuration"
    tags = one_tag_description(elbv2, arn)
    return tg, tg_attrs, tags


def read_listener(elbv2, arn):
    """resourceListenerRead."""
    listeners = elbv2.describe_listeners(ListenerArns=[arn])["Listeners"]
    assert len(listeners) == 1 and listeners[0]["ListenerArn"] == arn
    listener = listeners[0]
    l_attrs = attrs(elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"])  # any error is fatal
    tags = one_tag_description(elbv2, arn)
    return listener, l_attrs, tags


def read_rule(elbv2, arn):
    """resourceListenerRuleRead: DescribeRules by RuleArns only; listener ARN derived from the rule ARN."""
    rules = elbv2.describe_rules(RuleArns=[arn])["Rules"]
    assert len(rules) == 1 and rules[0]["RuleArn"] == arn
    rule = rules[0]
    m = RULE_TO_LISTENER_RE.match(arn)
    assert m, f"rule ARN {arn} does not match the provider's listener-rule regex"
    priority = 99999 if rule["Priority"] == "default" else int(rule["Priority"])
    for c in rule["Conditions"]:
        assert CONDITION_CONFIG_KEY[c["Field"]] in c, f"condition {c['Field']} without its typed config (provider SIGSEGV)"
    actions = sorted(rule["Actions"], key=lambda a: a.get("Order", 0))
    tags = one_tag_description(elbv2, arn)
    return rule, m.group(1) + m.group(2), priority, actions, tags


def test_terraform_apply_refresh_destroy(elbv2, ec2, net):
    """The provider's create/read/refresh/destroy call sequence for an ALB stack succeeds and every read returns what it needs."""
    name = "tf-lb-20261123000000000001"
    tags = [{"Key": "Environment", "Value": "e2e"}]

    # ---- aws_lb: create -------------------------------------------------------------------------
    pre = tolerate({"LoadBalancerNotFound"}, elbv2.describe_load_balancers, Names=[name])
    assert pre == "LoadBalancerNotFound" or pre["LoadBalancers"] == []
    lb = elbv2.create_load_balancer(
        Name=name, Type="application", Tags=tags, Subnets=net.subnets[:2], SecurityGroups=net.security_groups[:1]
    )["LoadBalancers"][0]
    lb_arn = lb["LoadBalancerArn"]
    wait_lb_active(elbv2, lb_arn)
    out = elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb_arn, Attributes=kv(TF_ALB_ATTRIBUTES))
    assert attrs(out["Attributes"])["idle_timeout.timeout_seconds"] == "60"
    wait_lb_active(elbv2, lb_arn)
    lb_read, _, lb_tags = read_lb(elbv2, lb_arn, net.subnets[:2])
    assert lb_tags == {"Environment": "e2e"}
    assert lb_read["Scheme"] == "internet-facing"

    # ---- aws_lb_target_group: create ------------------------------------------------------------
    tg_name = "tf-20261123000000000002"
    pre = tolerate({"TargetGroupNotFound"}, elbv2.describe_target_groups, Names=[tg_name])
    assert pre == "TargetGroupNotFound" or pre["TargetGroups"] == []
    tg = elbv2.create_target_group(
        Name=tg_name,
        Tags=tags,
        TargetType="instance",
        Port=80,
        Protocol="HTTP",
        VpcId=lb_read["VpcId"],
        ProtocolVersion="",  # the provider sends protocol_version as given: usually empty
        HealthCheckEnabled=True,
        HealthCheckIntervalSeconds=30,
        HealthyThresholdCount=3,
        UnhealthyThresholdCount=3,
        HealthCheckPort="traffic-port",
        HealthCheckProtocol="HTTP",
        HealthCheckPath="/health",
        Matcher={"HttpCode": "200-299"},
    )["TargetGroups"][0]
    tg_arn = tg["TargetGroupArn"]
    assert elbv2.describe_target_groups(TargetGroupArns=[tg_arn])["TargetGroups"][0]["TargetGroupArn"] == tg_arn
    elbv2.modify_target_group_attributes(
        TargetGroupArn=tg_arn,
        Attributes=kv(
            {
                "stickiness.enabled": "false",
                "stickiness.type": "lb_cookie",
                "stickiness.lb_cookie.duration_seconds": "86400",
                "deregistration_delay.timeout_seconds": "300",
            }
        ),
    )
    tg_read, _, tg_tags = read_tg(elbv2, tg_arn)
    assert tg_tags == {"Environment": "e2e"}
    want = dict(
        HealthCheckEnabled=True,
        HealthCheckIntervalSeconds=30,
        HealthyThresholdCount=3,
        UnhealthyThresholdCount=3,
        HealthCheckPort="traffic-port",
        HealthCheckProtocol="HTTP",
        HealthCheckPath="/health",
        Matcher={"HttpCode": "200-299"},
        ProtocolVersion="HTTP1",
        TargetType="instance",
        Port=80,
        Protocol="HTTP",
        IpAddressType="ipv4",
    )
    assert {k: tg_read.get(k) for k in want} == want
    assert isinstance(tg_read["HealthCheckTimeoutSeconds"], int)

    # ---- aws_lb_listener: create ----------------------------------------------------------------
    listener_port = free_port()  # the provider sends the configured port; any free one keeps tests apart
    listener = elbv2.create_listener(
        LoadBalancerArn=lb_arn,
        Tags=tags,
        Port=listener_port,
        Protocol="HTTP",
        DefaultActions=[{"Type": "forward", "Order": 1, "TargetGroupArn": tg_arn}],
    )["Listeners"][0]
    listener_arn = listener["ListenerArn"]
    assert elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]["ListenerArn"] == listener_arn
    elbv2.modify_listener_attributes(
        ListenerArn=listener_arn, Attributes=[{"Key": "routing.http.response.server.enabled", "Value": "false"}]
    )
    l_read, l_attrs, l_tags = read_listener(elbv2, listener_arn)
    assert l_tags == {"Environment": "e2e"}
    assert (l_read["Port"], l_read["Protocol"], l_read["LoadBalancerArn"]) == (listener_port, "HTTP", lb_arn)
    action = sorted(l_read["DefaultActions"], key=lambda a: a.get("Order", 0))[0]
    assert action["Type"] == "forward" and action["TargetGroupArn"] == tg_arn
    assert action.get("Order") == 1
    assert l_attrs["routing.http.response.server.enabled"] == "false"
    tg_read = read_tg(elbv2, tg_arn)[0]
    assert tg_read["LoadBalancerArns"] == [lb_arn]

    # ---- aws_lb_listener_rule: create (priority from max + 1) ------------------------------------
    existing = [r for page in elbv2.get_paginator("describe_rules").paginate(ListenerArn=listener_arn) for r in page["Rules"]]
    priority = max([int(r["Priority"]) for r in existing if r["Priority"] != "default"], default=0) + 1
    rule = elbv2.create_rule(
        ListenerArn=listener_arn,
        Tags=tags,
        Priority=priority,
        Actions=[
            {
                "Type": "forward",
                "Order": 1,
                "ForwardConfig": {
                    "TargetGroups": [{"TargetGroupArn": tg_arn, "Weight": 100}],
                    "TargetGroupStickinessConfig": {"Enabled": False},
                },
            }
        ],
        Conditions=[
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}},
            {"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}},
            {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}},
        ],
    )["Rules"][0]
    rule_arn = rule["RuleArn"]
    r_read, derived_listener, r_priority, r_actions, r_tags = read_rule(elbv2, rule_arn)
    assert derived_listener == listener_arn
    assert r_priority == priority == 1
    assert r_tags == {"Environment": "e2e"}
    fc = r_actions[0]["ForwardConfig"]
    assert fc["TargetGroups"] == [{"TargetGroupArn": tg_arn, "Weight": 100}]
    assert fc["TargetGroupStickinessConfig"]["Enabled"] is False

    # ---- aws_lb_target_group_attachment: create + read --------------------------------------------
    target = {"Id": "i-0123456789abcdef0", "Port": 8080}
    elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[target])
    th = elbv2.describe_target_health(TargetGroupArn=tg_arn, Targets=[target])["TargetHealthDescriptions"]
    kept = [
        d
        for d in th
        if d.get("TargetHealth")
        and d["TargetHealth"].get("Reason") not in ("Target.NotRegistered", "Target.DeregistrationInProgress")
    ]
    assert len(kept) == 1 and (kept[0]["Target"]["Id"], kept[0]["Target"]["Port"]) == ("i-0123456789abcdef0", 8080)

    # ---- refresh (plan): the same reads again give the same answers -----------------------------------
    assert read_lb(elbv2, lb_arn, net.subnets[:2])[0] == lb_read
    assert read_tg(elbv2, tg_arn)[0] == tg_read
    assert read_listener(elbv2, listener_arn)[0] == l_read
    assert read_rule(elbv2, rule_arn)[0] == r_read

    # ---- update: rule priority and conditions -------------------------------------------------------
    elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": rule_arn, "Priority": 10}])
    out = elbv2.modify_rule(RuleArn=rule_arn, Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/v2/*"]}}])
    assert out["Rules"][0]["RuleArn"] == rule_arn
    assert read_rule(elbv2, rule_arn)[2] == 10

    # ---- destroy (dependency order) ----------------------------------------------------------------
    elbv2.deregister_targets(TargetGroupArn=tg_arn, Targets=[target])
    th = elbv2.describe_target_health(TargetGroupArn=tg_arn, Targets=[target])["TargetHealthDescriptions"]
    assert all(
        d["TargetHealth"].get("Reason") in ("Target.NotRegistered", "Target.DeregistrationInProgress") for d in th
    ), th
    tolerate({"RuleNotFound"}, elbv2.delete_rule, RuleArn=rule_arn)
    elbv2.delete_listener(ListenerArn=listener_arn)
    elbv2.delete_target_group(TargetGroupArn=tg_arn)
    elbv2.delete_load_balancer(LoadBalancerArn=lb_arn)
    # waitForALBNetworkInterfacesToDetach: no ENIs left for the LB.
    _, lb_name, lb_id = lb_arn.split(":loadbalancer/")[1].split("/")
    for owner in ("amazon-elb", "amazon-aws"):
        enis = ec2.describe_network_interfaces(
            Filters=[
                {"Name": "attachment.instance-owner-id", "Values": [owner]},
                {"Name": "description", "Values": [f"ELB app/{lb_name}/{lb_id}"]},
            ]
        )["NetworkInterfaces"]
        assert enis == []
    # Refresh after destroy: gone.
    with raises_code("LoadBalancerNotFound"):
        elbv2.describe_load_balancers(LoadBalancerArns=[lb_arn])
    with raises_code("TargetGroupNotFound"):
        elbv2.describe_target_groups(TargetGroupArns=[tg_arn])
    with raises_code("RuleNotFound"):
        elbv2.describe_rules(RuleArns=[rule_arn])


def test_terraform_delete_target_group_retry_message(elbv2, net):
    """The provider retries DeleteTargetGroup only on ResourceInUse containing 'is currently in use by a listener or a rule'."""
    lb = elbv2.create_load_balancer(Name="tf-lb-retry", Subnets=net.subnets[:2], SecurityGroups=net.security_groups[:1])["LoadBalancers"][0]
    tg = elbv2.create_target_group(Name="tf-retry", Port=80, Protocol="HTTP", VpcId=lb["VpcId"])["TargetGroups"][0]
    elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Port=free_port(), Protocol="HTTP", DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}]
    )
    with raises_code("ResourceInUse") as e:
        elbv2.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
    assert "is currently in use by a listener or a rule" in e.message


def test_terraform_unknown_attribute_is_dropped_and_retried(elbv2, net):
    """modifyLoadBalancerAttributes drops a key the API calls "not recognized" and retries the rest successfully."""
    lb = elbv2.create_load_balancer(Name="tf-lb-attr", Subnets=net.subnets[:2], SecurityGroups=net.security_groups[:1])["LoadBalancers"][0]
    wanted = dict(TF_ALB_ATTRIBUTES, **{"future.attribute.enabled": "true"})
    pattern = re.compile(r"""attribute key ('|")?([^'" ]+)('|")? is not (recognized|supported)""")
    for _ in range(3):
        try:
            elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"], Attributes=kv(wanted))
            break
        except ClientError as e:
            m = pattern.search(e.response["Error"].get("Message", ""))
            assert e.response["Error"]["Code"] == "ValidationError" and m, e.response["Error"]
            wanted.pop(m.group(2))
    else:
        raise AssertionError("modify never succeeded")
    assert "future.attribute.enabled" not in wanted
