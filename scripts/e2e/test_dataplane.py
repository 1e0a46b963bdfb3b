"""Native data plane: listeners bind real sockets (found through GET /_localelb/endpoints) and route real HTTP
as an ALB does: rule priorities and the six condition types, forward (single and weighted, smooth weighted
round robin), redirect, fixed-response, 502/503, forwarded headers, and the LB's DNS name on the API port."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import pytest

from support import (
    closed_port,
    create_lb,
    create_listener,
    create_tg,
    echo_once_server,
    forward,
    free_port,
    unique,
    http_request,
    serve_http,
    stop_http,
    wait_until,
    weighted,
)

pytestmark = pytest.mark.dataplane

HC_PATH = "/_hc"  # health checks of the test target groups; never recorded as traffic


# --------------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------------


@dataclass
class Seen:
    """One request a backend received."""

    method: str
    path: str
    query: str
    headers: object  # email.message.Message: case-insensitive .get()
    body: bytes


@dataclass
class Backend:
    """An HTTP server on 127.0.0.1:<port> answering 200 `backend <name>` with `X-Backend: <name>` on every path."""

    name: str
    port: int = 0
    requests: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self) -> list:
        with self.lock:
            return list(self.requests)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        out = b""
        while True:
            size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += handler.rfile.read(size)
            handler.rfile.readline()
    n = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(n) if n else b""


@pytest.fixture
def backends():
    """`backends(n)` → n Backends named b0..b{n-1} (or `backends(names=[...])`); all shut down after the test."""
    servers = []

    def start(n: int = 1, names=None) -> list:
        names = list(names) if names is not None else [f"b{len(servers) + i}" for i in range(n)]
        out = []
        for name in names:
            backend = Backend(name)

            class Handler(BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                # Bound per class: a closure over the loop variable would see the last backend.
                owner = backend

                def _answer(self):
                    backend = self.owner
                    body_in = _read_body(self)
                    path, _, query = self.path.partition("?")
                    if path != HC_PATH:
                        with backend.lock:
                            backend.requests.append(Seen(self.command, path, query, self.headers, body_in))
                    body = f"backend {backend.name}".encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("X-Backend", backend.name)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)

                do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

                def log_message(self, *a):
                    pass

            httpd = serve_http(Handler)
            backend.port = httpd.server_address[1]
            servers.append(httpd)
            out.append(backend)
        return out

    yield start
    for s in servers:
        stop_http(s)


# --------------------------------------------------------------------------------------------------
# Helpers: endpoints, requests, stacks
# --------------------------------------------------------------------------------------------------


def endpoints(endpoint: str) -> list:
    """GET /_localelb/endpoints → the parsed JSON array."""
    status, _, body = http_request("GET", f"{endpoint}/_localelb/endpoints")
    assert status == 200, f"GET /_localelb/endpoints answered {status}: {body[:300]!r}"
    data = json.loads(body)
    assert isinstance(data, list), data
    return data


def endpoint_of(endpoint: str, listener_arn: str) -> dict:
    entries = [e for e in endpoints(endpoint) if e.get("listenerArn") == listener_arn]
    assert len(entries) == 1, f"expected one /_localelb/endpoints entry for {listener_arn}, got {entries}"
    return entries[0]


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    assert host and port.isdigit(), f"address is not host:port: {address!r}"
    return host.strip("[]"), int(port)


def address_of(endpoint: str, listener_arn: str) -> tuple[str, int]:
    """(host, port) where the listener is actually served; fails if it reports a bind error."""
    e = endpoint_of(endpoint, listener_arn)
    assert e.get("error") is None, f"listener could not be bound: {e.get('error')}"
    return split_address(e["address"])


@dataclass
class Resp:
    status: int
    headers: object  # http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def backend(self) -> str | None:
        return self.headers.get("X-Backend")


def send(addr, path="/", *, method="GET", headers=None, body=None, timeout=5.0) -> Resp:
    """One request on a fresh connection (redirects are not followed); pass `Host` in headers to override it."""
    host, port = addr
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Resp(r.status, r.headers, r.read())
    finally:
        conn.close()


# Health checks on HC_PATH every 0.1 s with a 0.08 s timeout (10 s / 8 s at the server's time scale).
FAST_HC = dict(
    HealthCheckPath=HC_PATH,
    HealthCheckIntervalSeconds=10,
    HealthCheckTimeoutSeconds=8,
    HealthyThresholdCount=2,
    UnhealthyThresholdCount=2,
)


def tg_for(elbv2, vpc_id, *targets, **kw) -> dict:
    """An ip target group (FAST_HC, overridden by `kw`) with 127.0.0.1:<port> registered for each target (a
    Backend or a port)."""
    tg = create_tg(elbv2, vpc_id, port=80, TargetType="ip", **{**FAST_HC, **kw})
    ports = [t.port if isinstance(t, Backend) else t for t in targets]
    if ports:
        elbv2.register_targets(
            TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": p} for p in ports]
        )
    return tg


def wait_state(elbv2, tg_arn: str, state: str = "healthy", timeout: float = 15.0):
    """Polls DescribeTargetHealth until every registered target is in `state`."""

    def ok():
        d = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
        return d and all(x["TargetHealth"]["State"] == state for x in d)

    wait_until(ok, timeout=timeout, interval=0.02, what=f"targets of {tg_arn} {state}")


class Stack:
    """An ALB with one target group per backend and an HTTP listener (on a free high port) forwarding to the first."""

    def __init__(self, elbv2, endpoint, net, bes, *, default_actions=None):
        self.elbv2 = elbv2
        self.endpoint = endpoint
        self.lb = create_lb(elbv2, net)
        self.backends = bes
        self.tgs = [tg_for(elbv2, self.lb["VpcId"], b) for b in bes]
        self.arns = [t["TargetGroupArn"] for t in self.tgs]
        actions = default_actions if default_actions is not None else forward(self.arns[0])
        self.listener = create_listener(elbv2, self.lb["LoadBalancerArn"], port=free_port(), actions=actions)
        self.listener_arn = self.listener["ListenerArn"]
        self.port = self.listener["Port"]
        self._addr = None

    @property
    def addr(self) -> tuple[str, int]:
        if self._addr is None:
            self._addr = address_of(self.endpoint, self.listener_arn)
        return self._addr

    def rule(self, priority, conditions, actions) -> dict:
        return self.elbv2.create_rule(
            ListenerArn=self.listener_arn, Priority=priority, Conditions=conditions, Actions=actions
        )["Rules"][0]

    def healthy(self):
        """Waits until every target group of the stack is healthy (call after the rules that use them exist)."""
        for arn in self.arns:
            wait_state(self.elbv2, arn)

    def get(self, path="/", **kw) -> Resp:
        return send(self.addr, path, **kw)

    def routed(self, path="/", **kw) -> str | None:
        """The name of the backend that answered (the response must be a 200)."""
        r = self.get(path, **kw)
        assert r.status == 200, f"{kw.get('method', 'GET')} {path} answered {r.status}: {r.text[:300]!r}"
        return r.backend


def api_port(endpoint: str) -> int:
    return urlsplit(endpoint).port


def cond(field_name, **config) -> dict:
    return {"Field": field_name, **config}


def path_is(*values) -> dict:
    return cond("path-pattern", PathPatternConfig={"Values": list(values)})


def host_is(*values) -> dict:
    return cond("host-header", HostHeaderConfig={"Values": list(values)})


def fixed(status="200", body="", content_type="text/plain") -> list:
    return [
        {
            "Type": "fixed-response",
            "FixedResponseConfig": {"StatusCode": status, "ContentType": content_type, "MessageBody": body},
        }
    ]


def assert_swrr(sequence: list, weights: dict):
    """Every prefix of `sequence` gives each name within ±1 of k·w/W (smooth weighted round robin)."""
    total = sum(weights.values())
    counts = {n: 0 for n in weights}
    for k, name in enumerate(sequence, 1):
        assert name in counts, f"request {k} went to {name!r}, not one of {sorted(weights)}"
        counts[name] += 1
        for n, w in weights.items():
            expected = k * w / total
            assert abs(counts[n] - expected) <= 1, (
                f"after {k} requests {n} had {counts[n]} (expected {expected:.2f}±1); sequence {sequence[:k]}"
            )


# --------------------------------------------------------------------------------------------------
# Listener sockets and /_localelb/endpoints
# --------------------------------------------------------------------------------------------------


def test_endpoints_lists_each_listener(elbv2, endpoint, net, backends):
    """/_localelb/endpoints has one entry per listener with ARN, LB name, protocol, API port, address and null error."""
    b0, b1 = backends(2)
    s1 = Stack(elbv2, endpoint, net, [b0])
    s2 = Stack(elbv2, endpoint, net, [b1])
    extra = create_listener(elbv2, s1.lb["LoadBalancerArn"], s1.arns[0], port=free_port())
    got = {e["listenerArn"]: e for e in endpoints(endpoint)}
    assert set(got) == {s1.listener_arn, s2.listener_arn, extra["ListenerArn"]}
    for arn, lb, port in (
        (s1.listener_arn, s1.lb, s1.port),
        (s2.listener_arn, s2.lb, s2.port),
        (extra["ListenerArn"], s1.lb, extra["Port"]),
    ):
        e = got[arn]
        assert set(e) >= {"listenerArn", "loadBalancerName", "protocol", "port", "address", "error"}, e
        assert e["loadBalancerName"] == lb["LoadBalancerName"]
        assert e["protocol"] == "HTTP"
        assert e["port"] == port
        assert e["error"] is None
        split_address(e["address"])
    assert len({got[a]["address"] for a in got}) == 3


def test_endpoints_command_prints_the_same_listeners(elbv2, endpoint, net, backends):
    """`localelb endpoints --endpoint URL` prints the server's endpoint list as JSON."""
    import subprocess

    from conftest import _binary

    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0])
    out = subprocess.run(
        [str(_binary()), "endpoints", "--endpoint", endpoint], capture_output=True, text=True, timeout=30, check=True
    )
    printed = json.loads(out.stdout)
    assert [e["listenerArn"] for e in printed] == [s.listener_arn]
    assert printed == endpoints(endpoint)


def test_create_listener_serves_at_once_and_delete_closes(elbv2, endpoint, net, backends):
    """The request right after CreateListener is served; after DeleteListener the socket refuses and the entry is gone."""
    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0])
    r = s.get("/first")
    assert r.status == 200, (r.status, r.text)
    assert r.backend == "b0" and r.text == "backend b0"
    addr = s.addr
    elbv2.delete_listener(ListenerArn=s.listener_arn)
    assert all(e["listenerArn"] != s.listener_arn for e in endpoints(endpoint))
    with pytest.raises(ConnectionRefusedError):
        send(addr, "/after-delete")


def test_bind_failure_is_reported(elbv2, endpoint, net, backends):
    """A listener whose port is already taken is listed with a non-null error message."""
    (b0,) = backends(1)
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        taken = holder.getsockname()[1]
        lb = create_lb(elbv2, net)
        tg = tg_for(elbv2, lb["VpcId"], b0)
        listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], port=taken)
        e = endpoint_of(endpoint, listener["ListenerArn"])
        assert e["port"] == taken
        assert isinstance(e["error"], str) and e["error"].strip(), e
    finally:
        holder.close()


# --------------------------------------------------------------------------------------------------
# Forwarding
# --------------------------------------------------------------------------------------------------


def test_forward_preserves_request_and_adds_forwarded_headers(elbv2, endpoint, net, backends):
    """Method, path, query, body and Host reach the target; X-Forwarded-For/-Proto/-Port are added."""
    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0])
    s.healthy()
    r = s.get("/orders/42?x=1&y=two", method="POST", headers={"Host": "app.example.test", "X-Custom": "kept"}, body=b"payload")
    assert (r.status, r.backend) == (200, "b0"), (r.status, r.text)
    (seen,) = b0.seen()
    assert (seen.method, seen.path, seen.query, seen.body) == ("POST", "/orders/42", "x=1&y=two", b"payload")
    assert seen.headers.get("Host") == "app.example.test"
    assert seen.headers.get("X-Custom") == "kept"
    assert seen.headers.get("X-Forwarded-For") == "127.0.0.1"
    assert seen.headers.get("X-Forwarded-Proto") == "http"
    assert seen.headers.get("X-Forwarded-Port") == str(s.port)


def test_amzn_trace_id_is_added_or_extended(elbv2, endpoint, net, backends):
    """ALB request tracing: a Root is added when absent; a request with a Root gets a Self in front, kept fields stay."""
    import re

    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0])
    s.healthy()
    assert s.get("/").status == 200
    root = "Root=1-67891233-abcdef012345678912345678"
    assert s.get("/", headers={"X-Amzn-Trace-Id": f"{root};CalledFrom=app"}).status == 200
    assert s.get("/", headers={"X-Amzn-Trace-Id": f"Self=1-00000000-000000000000000000000000;{root}"}).status == 200
    first, second, third = (seen.headers.get("X-Amzn-Trace-Id") for seen in b0.seen())
    trace = r"1-[0-9a-f]{8}-[0-9a-f]{24}"
    assert re.fullmatch(f"Root={trace}", first), first
    m = re.fullmatch(f"Self=({trace});{root};CalledFrom=app", second)
    assert m, second
    m3 = re.fullmatch(f"Self=({trace});{root}", third)
    assert m3 and m3.group(1) != "1-00000000-000000000000000000000000", third


def test_no_registered_targets_is_503(elbv2, endpoint, net):
    """Forwarding to a target group without registered targets answers 503."""
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], port=free_port())
    r = send(address_of(endpoint, listener["ListenerArn"]), "/")
    assert r.status == 503, (r.status, r.text)


def test_closed_target_port_is_502(elbv2, endpoint, net):
    """Forwarding to a (fail-open, unhealthy) target whose port refuses connections answers 502."""
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"], closed_port())
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], port=free_port())
    wait_state(elbv2, tg["TargetGroupArn"], "unhealthy")
    r = send(address_of(endpoint, listener["ListenerArn"]), "/")
    assert r.status == 502, (r.status, r.text)


# --------------------------------------------------------------------------------------------------
# Rules and conditions
# --------------------------------------------------------------------------------------------------


def test_rules_by_priority_then_default(elbv2, endpoint, net, backends):
    """The matching rule with the lowest priority wins whatever the creation order; SetRulePriorities applies at once."""
    bes = backends(3)
    s = Stack(elbv2, endpoint, net, bes)
    wide = s.rule(10, [path_is("/api/*")], forward(s.arns[1]))
    narrow = s.rule(5, [path_is("/api/v2/*")], forward(s.arns[2]))
    s.healthy()
    assert s.routed("/api/v2/items") == "b2"
    assert s.routed("/api/v1/items") == "b1"
    assert s.routed("/other") == "b0"
    elbv2.set_rule_priorities(
        RulePriorities=[{"RuleArn": wide["RuleArn"], "Priority": 1}, {"RuleArn": narrow["RuleArn"], "Priority": 2}]
    )
    assert s.routed("/api/v2/items") == "b1"


def test_all_conditions_of_a_rule_must_match(elbv2, endpoint, net, backends):
    """A rule with host-header and path-pattern conditions applies only when both match."""
    bes = backends(2)
    s = Stack(elbv2, endpoint, net, bes)
    s.rule(1, [host_is("shop.example.com"), path_is("/cart*")], forward(s.arns[1]))
    s.healthy()
    assert s.routed("/cart", headers={"Host": "shop.example.com"}) == "b1"
    assert s.routed("/cart", headers={"Host": "blog.example.com"}) == "b0"
    assert s.routed("/home", headers={"Host": "shop.example.com"}) == "b0"


def test_host_header_condition(elbv2, endpoint, net, backends):
    """host-header matches case-insensitively with * and ? wildcards."""
    bes = backends(2)
    s = Stack(elbv2, endpoint, net, bes)
    s.rule(1, [host_is("www.example.com", "*.example.org", "api-?.test")], forward(s.arns[1]))
    s.healthy()
    cases = {
        "www.example.com": "b1",
        "WWW.Example.COM": "b1",
        "a.b.example.org": "b1",
        "Shop.EXAMPLE.org": "b1",
        "api-1.test": "b1",
        "api-12.test": "b0",
        "example.org": "b0",
        "www.example.com.evil": "b0",
    }
    got = {h: s.routed("/", headers={"Host": h}) for h in cases}
    assert got == cases


def test_path_pattern_condition(elbv2, endpoint, net, backends):
    """path-pattern is case-sensitive, supports * and ?, and ignores the query string."""
    bes = backends(2)
    s = Stack(elbv2, endpoint, net, bes)
    s.rule(1, [path_is("/Img/*", "/v?/items")], forward(s.arns[1]))
    s.healthy()
    cases = {
        "/Img/a.png": "b1",
        "/Img/a.png?size=large": "b1",
        "/img/a.png": "b0",
        "/v1/items": "b1",
        "/v10/items": "b0",
        "/v1/items/extra": "b0",
    }
    got = {p: s.routed(p) for p in cases}
    assert got == cases


def test_http_header_condition(elbv2, endpoint, net, backends):
    """http-header matches the named header (name case-insensitive) against values with wildcards."""
    bes = backends(2)
    s = Stack(elbv2, endpoint, net, bes)
    s.rule(1, [cond("http-header", HttpHeaderConfig={"HttpHeaderName": "X-Env", "Values": ["blue", "green*"]})], forward(s.arns[1]))
    s.healthy()
    assert s.routed("/", headers={"X-Env": "blue"}) == "b1"
    assert s.routed("/", headers={"x-env": "green-2"}) == "b1"
    assert s.routed("/", headers={"X-Env": "red"}) == "b0"
    assert s.routed("/", headers={"X-Other": "blue"}) == "b0"
    assert s.routed("/") == "b0"


def test_http_request_method_condition(elbv2, endpoint, net, backends):
    """http-request-method routes by the request's method."""
    bes = backends(2)
    s = Stack(elbv2, endpoint, net, bes)
    s.rule(1, [cond("http-request-method", HttpRequestMethodConfig={"Values": ["POST", "PUT"]})], forward(s.arns[1]))
    s.healthy()
    got = {m: s.routed("/m", method=m, body=b"x" if m in ("POST", "PUT") else None) for m in ("GET", "POST", "PUT", "DELETE")}
    assert got == {"GET": "b0", "POST": "b1", "PUT": "b1", "DELETE": "b0"}
    assert [x.method for x in bes[1].seen()] == ["POST", "PUT"]


def test_query_string_condition(elbv2, endpoint, net, backends):
    """query-string matches key=value pairs, and value-only patterns against any parameter's value."""
    bes = backends(2)
    s = Stack(elbv2, endpoint, net, bes)
    qs = {"Values": [{"Key": "version", "Value": "v1"}, {"Value": "*example*"}]}
    s.rule(1, [cond("query-string", QueryStringConfig=qs)], forward(s.arns[1]))
    s.healthy()
    cases = {
        "/q?version=v1": "b1",
        "/q?a=1&version=v1": "b1",
        "/q?foo=my-example-value": "b1",
        "/q?version=v2": "b0",
        "/q?v1=version": "b0",
        "/q": "b0",
    }
    got = {p: s.routed(p) for p in cases}
    assert got == cases


def test_source_ip_condition(elbv2, endpoint, net, backends):
    """source-ip 127.0.0.1/32 matches a local client; 10.0.0.0/8 does not."""
    bes = backends(3)
    s = Stack(elbv2, endpoint, net, bes)
    s.rule(1, [cond("source-ip", SourceIpConfig={"Values": ["10.0.0.0/8"]})], forward(s.arns[2]))
    s.rule(2, [cond("source-ip", SourceIpConfig={"Values": ["127.0.0.1/32"]})], forward(s.arns[1]))
    s.healthy()
    assert s.routed("/") == "b1"
    assert bes[2].seen() == []


# --------------------------------------------------------------------------------------------------
# Weighted forwards
# --------------------------------------------------------------------------------------------------


def test_weighted_1_1_is_exactly_even(elbv2, endpoint, net, backends):
    """Weights 1/1 over 100 requests give exactly 50/50, within ±1 of even on every prefix."""
    bes = backends(2)
    s = Stack(elbv2, endpoint, net, bes)
    elbv2.modify_listener(ListenerArn=s.listener_arn, DefaultActions=weighted((s.arns[0], 1), (s.arns[1], 1)))
    s.healthy()
    seq = [s.routed(f"/r{i}") for i in range(100)]
    assert_swrr(seq, {"b0": 1, "b1": 1})
    assert (seq.count("b0"), seq.count("b1")) == (50, 50)


def test_weighted_3_1_is_smooth(elbv2, endpoint, net, backends):
    """Weights 3/1 over 40 requests give exactly 30/10, within ±1 of N·w/W on every prefix."""
    bes = backends(2)
    s = Stack(elbv2, endpoint, net, bes)
    s.rule(1, [path_is("/*")], weighted((s.arns[0], 3), (s.arns[1], 1)))
    s.healthy()
    seq = [s.routed(f"/r{i}") for i in range(40)]
    assert_swrr(seq, {"b0": 3, "b1": 1})
    assert (seq.count("b0"), seq.count("b1")) == (30, 10)


def test_weight_zero_gets_nothing(elbv2, endpoint, net, backends):
    """A target group with weight 0 in a ForwardConfig receives no requests."""
    bes = backends(3)
    s = Stack(elbv2, endpoint, net, bes)
    s.rule(1, [path_is("/*")], weighted((s.arns[0], 1), (s.arns[1], 0), (s.arns[2], 1)))
    s.healthy()
    seq = [s.routed(f"/r{i}") for i in range(20)]
    assert (seq.count("b0"), seq.count("b1"), seq.count("b2")) == (10, 0, 10)
    assert bes[1].seen() == []


def test_modify_rule_weights_apply_to_next_request(elbv2, endpoint, net, backends):
    """ModifyRule 100/0 → 0/100: the very next 20 requests all go to the second target group."""
    bes = backends(2)
    s = Stack(elbv2, endpoint, net, bes)
    rule = s.rule(1, [path_is("/*")], weighted((s.arns[0], 100), (s.arns[1], 0)))
    s.healthy()
    assert [s.routed(f"/before{i}") for i in range(5)] == ["b0"] * 5
    elbv2.modify_rule(RuleArn=rule["RuleArn"], Actions=weighted((s.arns[0], 0), (s.arns[1], 100)))
    assert [s.routed(f"/after{i}") for i in range(20)] == ["b1"] * 20


def test_rule_create_and_delete_apply_to_next_request(elbv2, endpoint, net, backends):
    """A rule created or deleted changes routing from the very next request."""
    bes = backends(2)
    s = Stack(elbv2, endpoint, net, bes)
    tg1 = s.arns[1]
    # Put tg1 in use first so it is healthy before the rule under test exists.
    s.rule(50, [path_is("/warm")], forward(tg1))
    s.healthy()
    assert s.routed("/x") == "b0"
    rule = s.rule(1, [path_is("/x")], forward(tg1))
    assert s.routed("/x") == "b1"
    elbv2.delete_rule(RuleArn=rule["RuleArn"])
    assert s.routed("/x") == "b0"


# --------------------------------------------------------------------------------------------------
# Redirect and fixed-response
# --------------------------------------------------------------------------------------------------


def test_redirect_with_placeholders(elbv2, endpoint, net, backends):
    """A 301 redirect builds Location from #{protocol}/#{host}/#{port}/#{path}/#{query}."""
    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0])
    cfg = {
        "Protocol": "#{protocol}",
        "Host": "#{host}",
        "Port": "#{port}",
        "Path": "/new/#{path}",
        "Query": "#{query}&moved=1",
        "StatusCode": "HTTP_301",
    }
    s.rule(1, [path_is("/old/*")], [{"Type": "redirect", "RedirectConfig": cfg}])
    r = s.get("/old/page?a=b", headers={"Host": "site.example"})
    assert r.status == 301, (r.status, r.text)
    assert r.headers.get("Location") == f"http://site.example:{s.port}/new/old/page?a=b&moved=1"
    assert b0.seen() == []


def test_redirect_302_with_literal_parts(elbv2, endpoint, net):
    """A 302 redirect with literal protocol, host, port and path keeps the original query by default."""
    lb = create_lb(elbv2, net)
    cfg = {"Protocol": "HTTPS", "Host": "secure.example", "Port": "8443", "Path": "/login", "StatusCode": "HTTP_302"}
    listener = create_listener(
        elbv2, lb["LoadBalancerArn"], port=free_port(), actions=[{"Type": "redirect", "RedirectConfig": cfg}]
    )
    r = send(address_of(endpoint, listener["ListenerArn"]), "/anything?next=1")
    assert r.status == 302, (r.status, r.text)
    assert r.headers.get("Location") == "https://secure.example:8443/login?next=1"


def test_fixed_response(elbv2, endpoint, net, backends):
    """fixed-response answers its status, Content-Type and body exactly, as default action and as a rule action."""
    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0], default_actions=fixed("418", '{"teapot":true}', "application/json"))
    s.rule(1, [path_is("/missing")], fixed("404", "nothing here", "text/plain"))
    r = s.get("/")
    assert (r.status, r.headers.get("Content-Type"), r.body) == (418, "application/json", b'{"teapot":true}')
    r = s.get("/missing")
    assert (r.status, r.headers.get("Content-Type"), r.body) == (404, "text/plain", b"nothing here")
    assert b0.seen() == []


# --------------------------------------------------------------------------------------------------
# The LB's DNS name on the API port
# --------------------------------------------------------------------------------------------------


def test_dns_name_on_api_port_routes_to_that_lb(elbv2, endpoint, net, backends):
    """A request to the API port whose Host is a load balancer's DNS name is routed by that load balancer."""
    b0, b1 = backends(2)
    s0 = Stack(elbv2, endpoint, net, [b0])
    s1 = Stack(elbv2, endpoint, net, [b1])
    s0.healthy()
    s1.healthy()
    port = api_port(endpoint)
    api = ("127.0.0.1", port)
    for s, name in ((s0, "b0"), (s1, "b1")):
        r = send(api, "/via/dns?k=v", headers={"Host": f"{s.lb['DNSName']}:{port}"})
        assert (r.status, r.backend) == (200, name), (r.status, r.text[:300])
        seen = s.backends[0].seen()[-1]
        assert (seen.path, seen.query) == ("/via/dns", "k=v")
    # The API itself is still served on that port.
    assert elbv2.describe_load_balancers()["LoadBalancers"]


def test_https_listener_terminates_tls_with_a_certificate_for_the_dns_name(elbv2, endpoint, net, backends):
    """An HTTPS listener terminates TLS (certificate for the load balancer's DNS name) and forwards with X-Forwarded-Proto https."""
    import socket as _socket
    import ssl

    (b0,) = backends(1)
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"], b0)
    listener = create_listener(
        elbv2,
        lb["LoadBalancerArn"],
        tg["TargetGroupArn"],
        protocol="HTTPS",
        Certificates=[{"CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/e2e"}],
    )
    wait_state(elbv2, tg["TargetGroupArn"])
    addr = address_of(endpoint, listener["ListenerArn"])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = _socket.create_connection(addr, timeout=5)
    tls = ctx.wrap_socket(raw, server_hostname=lb["DNSName"])
    der = tls.getpeercert(binary_form=True)
    conn = http.client.HTTPConnection(*addr, timeout=5)
    conn.sock = tls
    conn.request("GET", "/secure?x=1", headers={"Host": lb["DNSName"]})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    assert r.status == 200 and body == b"backend " + b0.name.encode()
    seen = b0.seen()[-1]
    assert seen.path == "/secure" and seen.headers.get("X-Forwarded-Proto") == "https"
    # The served certificate names the load balancer's DNS name.
    assert lb["DNSName"].lower().encode() in der


def test_tcp_listener_proxies_streams(elbv2, endpoint, net):
    """An NLB TCP listener forwards each connection's bytes both ways to a target of its target group."""
    with echo_once_server() as port:
        lb = create_lb(elbv2, net, type="network")
        tg = elbv2.create_target_group(
            Name=unique("tcp"), Protocol="TCP", Port=port, VpcId=lb["VpcId"], TargetType="ip"
        )["TargetGroups"][0]
        elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": port}])
        listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="TCP")
        addr = address_of(endpoint, listener["ListenerArn"])
        with socket.create_connection(addr, timeout=5) as c:
            c.sendall(b"hello")
            assert c.recv(1024) == b"echo:hello"


def test_metrics_count_requests_by_target_and_status_class(elbv2, endpoint, net, backends):
    """/_localelb/metrics (Prometheus text) counts forwarded requests per load balancer, listener, target group and target."""
    import urllib.request

    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0])
    s.healthy()
    for _ in range(3):
        assert s.routed("/m") == b0.name
    text = urllib.request.urlopen(endpoint + "/_localelb/metrics", timeout=5).read().decode()
    labels = (
        f'load_balancer="{s.lb["LoadBalancerName"]}",listener="{s.listener_arn}",'
        f'target_group="{s.arns[0]}",target="127.0.0.1:{b0.port}"'
    )
    assert f"localelb_requests_total{{{labels}}} 3" in text, text
    assert f'localelb_responses_total{{{labels},code="2xx"}} 3' in text, text


def _cookie(resp, name):
    for k, v in resp.headers.items():
        if k.lower() == "set-cookie" and v.startswith(name + "="):
            return v.split(";", 1)[0].split("=", 1)[1]
    return None


def test_target_group_stickiness_pins_a_client_to_one_group(elbv2, endpoint, net, backends):
    """A weighted forward with TargetGroupStickinessConfig sets AWSALBTG/AWSALBTGCORS; requests carrying it stay on that group."""
    b0, b1 = backends(2)
    s = Stack(elbv2, endpoint, net, [b0, b1])
    elbv2.modify_listener(
        ListenerArn=s.listener_arn,
        DefaultActions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [{"TargetGroupArn": s.arns[0], "Weight": 1}, {"TargetGroupArn": s.arns[1], "Weight": 1}],
                    "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
                },
            }
        ],
    )
    s.healthy()
    first = s.get("/")
    token = _cookie(first, "AWSALBTG")
    assert first.status == 200 and token, dict(first.headers)
    assert _cookie(first, "AWSALBTGCORS") == token
    stuck = first.backend
    got = {s.get("/", headers={"Cookie": f"AWSALBTG={token}"}).backend for _ in range(10)}
    assert got == {stuck}
    # Without the cookie, the 1:1 weights alternate.
    assert {s.get("/").backend for _ in range(4)} == {b0.name, b1.name}


def test_lb_cookie_stickiness_pins_a_client_to_one_target(elbv2, endpoint, net, backends):
    """stickiness.type=lb_cookie sets AWSALB/AWSALBCORS; requests carrying it reach the same target."""
    b0, b1 = backends(2)
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"], b0, b1)
    elbv2.modify_target_group_attributes(
        TargetGroupArn=tg["TargetGroupArn"],
        Attributes=[{"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "lb_cookie"}],
    )
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    wait_state(elbv2, tg["TargetGroupArn"])
    addr = address_of(endpoint, listener["ListenerArn"])
    first = send(addr, "/")
    token = _cookie(first, "AWSALB")
    assert first.status == 200 and token, dict(first.headers)
    got = {send(addr, "/", headers={"Cookie": f"AWSALB={token}"}).backend for _ in range(10)}
    assert got == {first.backend}
    assert {send(addr, "/").backend for _ in range(4)} == {b0.name, b1.name}


def test_xff_processing_modes(elbv2, endpoint, net, backends):
    """routing.http.xff_header_processing.mode: append adds the client, preserve keeps the client's header, remove drops it."""
    (b0,) = backends(1)
    s = Stack(elbv2, endpoint, net, [b0])
    s.healthy()
    la = s.lb["LoadBalancerArn"]
    expect = {"append": "1.2.3.4, 127.0.0.1", "preserve": "1.2.3.4", "remove": None}
    for mode, want in expect.items():
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=la, Attributes=[{"Key": "routing.http.xff_header_processing.mode", "Value": mode}]
        )
        assert s.routed("/xff", headers={"X-Forwarded-For": "1.2.3.4"}) == b0.name
        assert b0.seen()[-1].headers.get("X-Forwarded-For") == want, mode
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=la,
        Attributes=[
            {"Key": "routing.http.xff_header_processing.mode", "Value": "append"},
            {"Key": "routing.http.xff_client_port.enabled", "Value": "true"},
        ],
    )
    s.routed("/xff")
    got = b0.seen()[-1].headers.get("X-Forwarded-For")
    assert got.startswith("127.0.0.1:") and got.split(":")[1].isdigit(), got


def test_idle_timeout_gives_504(elbv2, endpoint, net):
    """A target that does not answer within the load balancer's idle timeout gets the client a 504."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    stop = threading.Event()
    held = []

    def silent():
        # Accepts and reads, never answers: health checks (TCP) pass, requests time out.
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                held.append(c)
            except OSError:
                continue

    t = threading.Thread(target=silent, daemon=True)
    t.start()
    try:
        lb = create_lb(elbv2, net)
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=lb["LoadBalancerArn"], Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "1"}]
        )
        tg = elbv2.create_target_group(
            Name=unique("slow"), Protocol="HTTP", Port=port, VpcId=lb["VpcId"], TargetType="ip"
        )["TargetGroups"][0]
        elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": port}])
        listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
        r = send(address_of(endpoint, listener["ListenerArn"]), "/slow", timeout=10)
        assert r.status == 504
    finally:
        stop.set()
        t.join(timeout=2)
        for c in held:
            c.close()
        srv.close()


def test_deregistered_target_drains_and_gets_no_new_requests(elbv2, endpoint, net, backends):
    """After DeregisterTargets the target is `draining` and new requests go only to the remaining targets."""
    b0, b1 = backends(2)
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"], b0, b1)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    wait_state(elbv2, tg["TargetGroupArn"])
    addr = address_of(endpoint, listener["ListenerArn"])
    assert {send(addr, "/").backend for _ in range(4)} == {b0.name, b1.name}
    elbv2.deregister_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": b1.port}])
    states = {
        d["Target"]["Port"]: d["TargetHealth"]["State"]
        for d in elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
    }
    assert states[b1.port] == "draining"
    assert {send(addr, "/").backend for _ in range(10)} == {b0.name}
