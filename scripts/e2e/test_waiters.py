"""botocore's ELBv2 load balancer waiters (waiters-2.json) against the emulator, with Delay=1.
The target waiters are exercised in test_targets.py."""

from support import FAST_WAIT, create_lb, raises_code


def test_load_balancer_exists(elbv2, net):
    """LoadBalancerExists succeeds as soon as DescribeLoadBalancers answers 200 for the name."""
    lb = create_lb(elbv2, net)
    elbv2.get_waiter("load_balancer_exists").wait(Names=[lb["LoadBalancerName"]], WaiterConfig=FAST_WAIT)


def test_load_balancer_available(elbv2, net):
    """LoadBalancerAvailable succeeds once every requested LB is active (ALB, NLB and GWLB)."""
    arns = [create_lb(elbv2, net, type=t)["LoadBalancerArn"] for t in ("application", "network", "gateway")]
    elbv2.get_waiter("load_balancer_available").wait(LoadBalancerArns=arns, WaiterConfig=FAST_WAIT)
    states = {lb["LoadBalancerArn"]: lb["State"]["Code"] for lb in elbv2.describe_load_balancers(LoadBalancerArns=arns)["LoadBalancers"]}
    assert states == {arn: "active" for arn in arns}


def test_load_balancers_deleted(elbv2, net):
    """LoadBalancersDeleted succeeds after DeleteLoadBalancer: Describe of the deleted ARN is LoadBalancerNotFound."""
    arn = create_lb(elbv2, net)["LoadBalancerArn"]
    elbv2.get_waiter("load_balancer_available").wait(LoadBalancerArns=[arn], WaiterConfig=FAST_WAIT)
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    elbv2.get_waiter("load_balancers_deleted").wait(LoadBalancerArns=[arn], WaiterConfig=FAST_WAIT)
    with raises_code("LoadBalancerNotFound"):
        elbv2.describe_load_balancers(LoadBalancerArns=[arn])
