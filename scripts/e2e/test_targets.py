"""Targets: registration, DescribeTargetHealth states and reasons, real health checks against local backends,
and the TargetInService / TargetDeregistered waiters."""

from support import (
    FAST_WAIT,
    closed_port,
    create_lb,
    create_listener,
    create_tg,
    raises_code,
    wait_until,
)

INSTANCE_A = "i-0123456789abcdef0"
INSTANCE_B = "i-0fedcba9876543210"
INITIAL_REASONS = {"Elb.RegistrationInProgress", "Elb.InitialHealthChecking"}


def health(elbv2, tg_arn, targets=None):
    kw = {"Targets": targets} if targets is not None else {}
    return elbv2.describe_target_health(TargetGroupArn=tg_arn, **kw)["TargetHealthDescriptions"]


def by_target(descriptions):
    return {(d["Target"]["Id"], d["Target"].get("Port")): d for d in descriptions}


def ip_stack(elbv2, net, *, port, interval=5, timeout=2, healthy=2, unhealthy=2, path="/health"):
    """ALB + ip target group (health checks on `path`) + listener, so the target group is in use."""
    lb = create_lb(elbv2, net)
    tg = create_tg(
        elbv2,
        lb["VpcId"],
        port=port,
        TargetType="ip",
        HealthCheckPath=path,
        HealthCheckIntervalSeconds=interval,
        HealthCheckTimeoutSeconds=timeout,
        HealthyThresholdCount=healthy,
        UnhealthyThresholdCount=unhealthy,
    )
    create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    return lb, tg


def test_new_target_group_has_no_targets(elbv2, net):
    """DescribeTargetHealth of a TG without registrations returns an empty list."""
    tg = create_tg(elbv2, net.vpc_id)
    assert health(elbv2, tg["TargetGroupArn"]) == []


def test_registered_targets_unused_when_tg_not_in_use(elbv2, net):
    """Targets of a TG no listener uses are unused / Target.NotInUse; Port defaults to the TG port or the override."""
    tg = create_tg(elbv2, net.vpc_id, port=80)
    arn = tg["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": INSTANCE_A}, {"Id": INSTANCE_B, "Port": 8080}])
    got = by_target(health(elbv2, arn))
    assert set(got) == {(INSTANCE_A, 80), (INSTANCE_B, 8080)}
    for d in got.values():
        assert d["TargetHealth"]["State"] == "unused"
        assert d["TargetHealth"]["Reason"] == "Target.NotInUse"
        assert d["TargetHealth"].get("Description")  # AWS's example: "Given target group is not configured to receive traffic from ELB"


def test_same_instance_on_two_ports(elbv2, net):
    """The same instance can be registered twice with different ports; both registrations are listed."""
    tg = create_tg(elbv2, net.vpc_id)
    arn = tg["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": INSTANCE_A, "Port": 81}, {"Id": INSTANCE_A, "Port": 82}])
    assert set(by_target(health(elbv2, arn))) == {(INSTANCE_A, 81), (INSTANCE_A, 82)}


def test_register_is_idempotent(elbv2, net):
    """Registering an already registered target again leaves a single registration."""
    tg = create_tg(elbv2, net.vpc_id)
    arn = tg["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": INSTANCE_A}])
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": INSTANCE_A}])
    assert len(health(elbv2, arn)) == 1


def test_deregister(elbv2, net):
    """After DeregisterTargets the target is gone from the list; asked for explicitly it is unused / Target.NotRegistered."""
    tg = create_tg(elbv2, net.vpc_id)
    arn = tg["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": INSTANCE_A}, {"Id": INSTANCE_B}])
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": INSTANCE_A}])
    assert set(by_target(health(elbv2, arn))) == {(INSTANCE_B, 80)}
    asked = health(elbv2, arn, targets=[{"Id": INSTANCE_A, "Port": 80}])
    assert len(asked) == 1
    assert asked[0]["Target"]["Id"] == INSTANCE_A
    assert asked[0]["TargetHealth"]["State"] == "unused"
    assert asked[0]["TargetHealth"]["Reason"] == "Target.NotRegistered"


def test_deregister_unknown_target_succeeds(elbv2, net):
    """DeregisterTargets of a target that is not registered returns successfully (per the API docs)."""
    tg = create_tg(elbv2, net.vpc_id)
    elbv2.deregister_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "i-00000000000000000"}])


def test_unknown_target_group(elbv2, net):
    """RegisterTargets / DescribeTargetHealth on an unknown TG ARN fail with TargetGroupNotFound."""
    tg = create_tg(elbv2, net.vpc_id)
    ghost = tg["TargetGroupArn"].rsplit("/", 1)[0] + "/0123456789abcdef"
    with raises_code("TargetGroupNotFound"):
        elbv2.register_targets(TargetGroupArn=ghost, Targets=[{"Id": INSTANCE_A}])
    with raises_code("TargetGroupNotFound"):
        elbv2.describe_target_health(TargetGroupArn=ghost)


def test_healthy_backend_goes_initial_then_healthy(elbv2, net, http_backend):
    """An ip target whose health-check path answers 200 is `initial` right after registration, then `healthy` (TargetInService succeeds)."""
    backend = http_backend(200, paths=("/health",))
    # Interval 100s (1s at the test time scale) and 2 successes needed: `initial` lasts long enough to be seen.
    _, tg = ip_stack(elbv2, net, port=backend.port, interval=100, timeout=5, healthy=2)
    arn = tg["TargetGroupArn"]
    target = {"Id": "127.0.0.1", "Port": backend.port}
    elbv2.register_targets(TargetGroupArn=arn, Targets=[target])
    first = health(elbv2, arn)
    assert len(first) == 1
    assert first[0]["TargetHealth"]["State"] == "initial"
    assert first[0]["TargetHealth"]["Reason"] in INITIAL_REASONS
    elbv2.get_waiter("target_in_service").wait(TargetGroupArn=arn, Targets=[target], WaiterConfig=FAST_WAIT)
    final = health(elbv2, arn)[0]
    assert final["TargetHealth"]["State"] == "healthy"
    assert "Reason" not in final["TargetHealth"]
    assert (final["Target"]["Id"], final["Target"]["Port"]) == ("127.0.0.1", backend.port)
    assert final["HealthCheckPort"] == str(backend.port)
    assert "/health" in backend.hits


def test_closed_port_goes_unhealthy(elbv2, net):
    """A target on a port where nothing listens becomes unhealthy (Target.FailedHealthChecks or Target.Timeout)."""
    port = closed_port()
    _, tg = ip_stack(elbv2, net, port=port)
    arn = tg["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": port}])
    d = wait_until(
        lambda: next((d for d in health(elbv2, arn) if d["TargetHealth"]["State"] == "unhealthy"), None),
        timeout=20,
        what="state unhealthy",
    )
    assert d["TargetHealth"]["Reason"] in {"Target.FailedHealthChecks", "Target.Timeout"}


def test_wrong_status_code_is_response_code_mismatch(elbv2, net, http_backend):
    """A target answering 500 to the health check (matcher 200) becomes unhealthy with Target.ResponseCodeMismatch."""
    backend = http_backend(500, paths=("/health",))
    _, tg = ip_stack(elbv2, net, port=backend.port)
    arn = tg["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": backend.port}])
    d = wait_until(
        lambda: next((d for d in health(elbv2, arn) if d["TargetHealth"]["State"] == "unhealthy"), None),
        timeout=20,
        what="state unhealthy",
    )
    assert d["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"


def test_deregistering_in_use_target_drains(elbv2, net, http_backend):
    """Deregistering a target of an in-use TG puts it in `draining` (Target.DeregistrationInProgress) during the deregistration delay."""
    backend = http_backend(200)
    _, tg = ip_stack(elbv2, net, port=backend.port)
    arn = tg["TargetGroupArn"]
    target = {"Id": "127.0.0.1", "Port": backend.port}
    elbv2.register_targets(TargetGroupArn=arn, Targets=[target])
    elbv2.get_waiter("target_in_service").wait(TargetGroupArn=arn, Targets=[target], WaiterConfig=FAST_WAIT)
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[target])
    d = health(elbv2, arn, targets=[target])[0]
    assert d["TargetHealth"]["State"] == "draining"
    assert d["TargetHealth"]["Reason"] == "Target.DeregistrationInProgress"


def test_target_deregistered_waiter(elbv2, net, http_backend):
    """With deregistration delay 0, a deregistered target reaches `unused` and the TargetDeregistered waiter succeeds."""
    backend = http_backend(200)
    _, tg = ip_stack(elbv2, net, port=backend.port)
    arn = tg["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}]
    )
    target = {"Id": "127.0.0.1", "Port": backend.port}
    elbv2.register_targets(TargetGroupArn=arn, Targets=[target])
    elbv2.get_waiter("target_in_service").wait(TargetGroupArn=arn, Targets=[target], WaiterConfig=FAST_WAIT)
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[target])
    elbv2.get_waiter("target_deregistered").wait(TargetGroupArn=arn, Targets=[target], WaiterConfig=FAST_WAIT)
    assert health(elbv2, arn) == []
