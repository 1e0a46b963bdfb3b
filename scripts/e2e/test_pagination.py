"""Marker/PageSize pagination through boto3 paginators, and PageSize validation (1-400)."""

import pytest

from support import create_lb, create_listener, create_tg, forward, raises_code


def pages(elbv2, op, key, page_size, **kw):
    """All pages of a paginated call as lists of items, and the NextMarker of each page."""
    out, markers = [], []
    for page in elbv2.get_paginator(op).paginate(PaginationConfig={"PageSize": page_size}, **kw):
        out.append(page[key])
        markers.append(page.get("NextMarker"))
    return out, markers


def check_paging(pages_, markers, page_size, total):
    assert [len(p) for p in pages_[:-1]] == [page_size] * (len(pages_) - 1)
    assert 1 <= len(pages_[-1]) <= page_size
    assert sum(len(p) for p in pages_) == total
    assert all(markers[:-1]), "every page but the last carries NextMarker"
    assert markers[-1] is None, "the last page has no NextMarker"
    assert len(set(markers[:-1])) == len(markers) - 1, "markers are never repeated"


def test_describe_load_balancers_pages(elbv2, net):
    """DescribeLoadBalancers pages with PageSize/Marker: full pages carry NextMarker, the last one doesn't, nothing is lost or repeated."""
    names = {create_lb(elbv2, net)["LoadBalancerName"] for _ in range(5)}
    got, markers = pages(elbv2, "describe_load_balancers", "LoadBalancers", 2)
    check_paging(got, markers, 2, 5)
    assert {lb["LoadBalancerName"] for p in got for lb in p} == names


def test_manual_marker(elbv2, net):
    """NextMarker fed back as Marker continues where the previous page stopped."""
    for _ in range(3):
        create_lb(elbv2, net)
    first = elbv2.describe_load_balancers(PageSize=2)
    assert len(first["LoadBalancers"]) == 2 and first.get("NextMarker")
    second = elbv2.describe_load_balancers(PageSize=2, Marker=first["NextMarker"])
    assert len(second["LoadBalancers"]) == 1
    assert "NextMarker" not in second
    seen = [lb["LoadBalancerArn"] for lb in first["LoadBalancers"] + second["LoadBalancers"]]
    assert len(set(seen)) == 3


def test_describe_target_groups_pages(elbv2, net):
    """DescribeTargetGroups pages with PageSize/Marker."""
    arns = {create_tg(elbv2, net.vpc_id)["TargetGroupArn"] for _ in range(5)}
    got, markers = pages(elbv2, "describe_target_groups", "TargetGroups", 2)
    check_paging(got, markers, 2, 5)
    assert {t["TargetGroupArn"] for p in got for t in p} == arns


def test_describe_listeners_pages(elbv2, net):
    """DescribeListeners(LoadBalancerArn) pages with PageSize/Marker."""
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"])
    arns = {create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])["ListenerArn"] for _ in range(3)}
    got, markers = pages(elbv2, "describe_listeners", "Listeners", 1, LoadBalancerArn=lb["LoadBalancerArn"])
    check_paging(got, markers, 1, 3)
    assert {x["ListenerArn"] for p in got for x in p} == arns


def test_describe_rules_pages(elbv2, net):
    """DescribeRules(ListenerArn) pages with PageSize/Marker, the default rule included."""
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    for p in range(1, 5):
        elbv2.create_rule(
            ListenerArn=listener["ListenerArn"],
            Priority=p,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [f"/{p}/*"]}}],
            Actions=forward(tg["TargetGroupArn"]),
        )
    got, markers = pages(elbv2, "describe_rules", "Rules", 3, ListenerArn=listener["ListenerArn"])
    check_paging(got, markers, 3, 5)
    assert [r["Priority"] for p in got for r in p] == ["1", "2", "3", "4", "default"]


def test_page_size_400_is_accepted(elbv2, net):
    """PageSize 400 (the maximum) is accepted."""
    create_lb(elbv2, net)
    assert len(elbv2.describe_load_balancers(PageSize=400)["LoadBalancers"]) == 1


@pytest.mark.parametrize("page_size", [0, 401])
@pytest.mark.parametrize(
    "op,extra",
    [
        ("describe_load_balancers", {}),
        ("describe_target_groups", {}),
        ("describe_listeners", "listener"),
        ("describe_rules", "rule"),
    ],
    ids=["DescribeLoadBalancers", "DescribeTargetGroups", "DescribeListeners", "DescribeRules"],
)
def test_page_size_out_of_range(elbv2, elbv2_unchecked, net, op, extra, page_size):
    """PageSize outside 1-400 is a ValidationError."""
    kw = {}
    if extra:
        lb = create_lb(elbv2, net)
        tg = create_tg(elbv2, lb["VpcId"])
        listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
        kw = {"LoadBalancerArn": lb["LoadBalancerArn"]} if extra == "listener" else {"ListenerArn": listener["ListenerArn"]}
    with raises_code("ValidationError"):
        getattr(elbv2_unchecked, op)(PageSize=page_size, **kw)
