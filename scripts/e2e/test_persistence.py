"""Persistence: state written before an answer survives `kill -9` of a server started with --data-dir."""

from support import FAST_WAIT, attrs, make_net, create_lb, create_listener, create_tg, forward, kv, weighted


def snapshot(c, lb_arn, tg_arns, listener_arn, rule_arn):
    """Everything a client can read about the resources (ResponseMetadata dropped, target health reduced to ids)."""
    lbs = c.describe_load_balancers(LoadBalancerArns=[lb_arn])["LoadBalancers"]
    tgs = sorted(c.describe_target_groups(TargetGroupArns=tg_arns)["TargetGroups"], key=lambda t: t["TargetGroupArn"])
    return {
        "lbs": lbs,
        "lb_attrs": attrs(c.describe_load_balancer_attributes(LoadBalancerArn=lb_arn)["Attributes"]),
        "tgs": tgs,
        "tg_attrs": {a: attrs(c.describe_target_group_attributes(TargetGroupArn=a)["Attributes"]) for a in tg_arns},
        "targets": {
            a: sorted(
                (d["Target"]["Id"], d["Target"].get("Port"))
                for d in c.describe_target_health(TargetGroupArn=a)["TargetHealthDescriptions"]
            )
            for a in tg_arns
        },
        "listeners": c.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"],
        "listener_attrs": attrs(c.describe_listener_attributes(ListenerArn=listener_arn)["Attributes"]),
        "rules": c.describe_rules(ListenerArn=listener_arn)["Rules"],
        "tags": sorted(
            c.describe_tags(ResourceArns=[lb_arn, *tg_arns, listener_arn, rule_arn])["TagDescriptions"],
            key=lambda d: d["ResourceArn"],
        ),
    }


def test_state_survives_kill_9(server_factory, client_factory, tmp_path):
    """LBs, TGs (settings, attributes, targets), listeners, rules and tags are all there after kill -9 and a restart on the same --data-dir."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first = server_factory(data_dir=data_dir)
    c = client_factory("elbv2", first.endpoint)
    net = make_net(client_factory("ec2", first.endpoint))
    lb = create_lb(c, net, Tags=[{"Key": "app", "Value": "persist"}])
    lb_arn = lb["LoadBalancerArn"]
    c.get_waiter("load_balancer_available").wait(LoadBalancerArns=[lb_arn], WaiterConfig=FAST_WAIT)
    c.modify_load_balancer_attributes(
        LoadBalancerArn=lb_arn,
        Attributes=kv({"idle_timeout.timeout_seconds": "123", "routing.http2.enabled": "false"}),
    )
    blue = create_tg(c, lb["VpcId"], HealthCheckPath="/ping", Matcher={"HttpCode": "200-299"}, Tags=[{"Key": "c", "Value": "blue"}])
    green = create_tg(c, lb["VpcId"], port=8080)
    tg_arns = [blue["TargetGroupArn"], green["TargetGroupArn"]]
    c.modify_target_group_attributes(
        TargetGroupArn=blue["TargetGroupArn"],
        Attributes=kv({"stickiness.enabled": "true", "deregistration_delay.timeout_seconds": "42"}),
    )
    c.register_targets(TargetGroupArn=blue["TargetGroupArn"], Targets=[{"Id": "i-0123456789abcdef0"}, {"Id": "i-0123456789abcdef1", "Port": 81}])
    listener = create_listener(c, lb_arn, blue["TargetGroupArn"], Tags=[{"Key": "l", "Value": "1"}])
    c.modify_listener_attributes(
        ListenerArn=listener["ListenerArn"], Attributes=[{"Key": "routing.http.response.server.enabled", "Value": "false"}]
    )
    rule = c.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=5,
        Conditions=[
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}},
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Canary", "Values": ["1"]}},
        ],
        Actions=weighted((blue["TargetGroupArn"], 90), (green["TargetGroupArn"], 10), stickiness=60),
        Tags=[{"Key": "r", "Value": "1"}],
    )["Rules"][0]
    c.create_rule(
        ListenerArn=listener["ListenerArn"],
        Priority=9,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["green.example.com"]}}],
        Actions=forward(green["TargetGroupArn"]),
    )
    before = snapshot(c, lb_arn, tg_arns, listener["ListenerArn"], rule["RuleArn"])

    first.kill9()
    second = server_factory(data_dir=data_dir)
    c2 = client_factory("elbv2", second.endpoint)
    after = snapshot(c2, lb_arn, tg_arns, listener["ListenerArn"], rule["RuleArn"])

    for key in before:
        assert after[key] == before[key], f"{key} changed across kill -9"
    if net.source == "ec2":
        subnets = client_factory("ec2", second.endpoint).describe_subnets(SubnetIds=net.subnets)["Subnets"]
        assert sorted(s["SubnetId"] for s in subnets) == sorted(net.subnets)
    # And the restarted server keeps working on the restored state.
    c2.delete_rule(RuleArn=rule["RuleArn"])
    assert len(c2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]) == 2
