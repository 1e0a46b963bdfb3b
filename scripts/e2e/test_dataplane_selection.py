"""Native data plane, routing semantics: target selection algorithms (round_robin, least_outstanding_requests,
weighted_random), slow start, app_cookie and lb_cookie stickiness, fail-open, health-check matchers, target types
(instance, lambda, alb), blue/green switches under load, and 502s for broken targets. Real HTTP backends, boto3
against the binary (served with --health-check-time-scale 0.01)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from support import create_lb, create_listener, create_tg, free_port, serve_http, stop_http, unique, wait_until, weighted
from test_dataplane import (  # noqa: F401  (backends is a fixture)
    FAST_HC,
    HC_PATH,
    _cookie,
    address_of,
    backends,
    path_is,
    send,
    tg_for,
    wait_state,
)

pytestmark = pytest.mark.dataplane

TIME_SCALE = 0.01  # the e2e server's --health-check-time-scale

# Health checks every 0.3 s with a 0.25 s timeout (30 s / 25 s scaled): slow enough that a loaded machine does not
# fail checks of a live backend, which would change where requests go.
ROBUST_HC = {**FAST_HC, "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 25}


def robust_tg(elbv2, vpc_id, *ports, **kw) -> dict:
    """tg_for with ROBUST_HC timings: an ip target group with 127.0.0.1:<port> registered for each port."""
    return tg_for(elbv2, vpc_id, *ports, **{**ROBUST_HC, **kw})


# --------------------------------------------------------------------------------------------------
# Scripted backends
# --------------------------------------------------------------------------------------------------


class Scripted:
    """An HTTP/1.1 server on 127.0.0.1 whose answers a test can steer.

    * health checks (HC_PATH) answer `hc_status` (200 unless changed);
    * `/hold` blocks until `release` is set when `holds` is true;
    * `/login` sets the application cookie `SESSION=<name>`;
    * every other path answers 200 `backend <name>` with `X-Backend: <name>`.
    The Cookie header of each non-health request is recorded."""

    def __init__(self, name: str):
        self.name = name
        self.hc_status = 200
        self.holds = False
        self.holding = 0
        self.release = threading.Event()
        self.cookies: list = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = self.path.partition("?")[0]
                headers = {}
                if path == HC_PATH:
                    status = owner.hc_status
                else:
                    status = 200
                    with owner.lock:
                        owner.cookies.append(self.headers.get("Cookie"))
                    if path == "/hold" and owner.holds:
                        with owner.lock:
                            owner.holding += 1
                        owner.release.wait(20)
                        with owner.lock:
                            owner.holding -= 1
                    if path == "/login":
                        headers["Set-Cookie"] = f"SESSION={owner.name}; Path=/; HttpOnly"
                body = f"backend {owner.name}".encode()
                self.send_response(status)
                self.send_header("X-Backend", owner.name)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = serve_http(Handler)
        self.port = self.httpd.server_address[1]

    def close(self):
        self.release.set()
        stop_http(self.httpd)


@pytest.fixture
def scripted():
    """`scripted("a", "b")` → Scripted backends, shut down after the test."""
    made = []

    def start(*names):
        out = [Scripted(n) for n in names]
        made.extend(out)
        return out

    yield start
    for s in made:
        s.close()


class RawServer:
    """A TCP server answering each connection with `answer(conn, request_bytes)` (health checks included)."""

    def __init__(self, answer):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.answer = answer
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        try:
            c.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            if data:
                self.answer(c, data)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def set_tg_attrs(elbv2, tg_arn, **attrs):
    elbv2.modify_target_group_attributes(
        TargetGroupArn=tg_arn, Attributes=[{"Key": k.replace("__", "."), "Value": str(v)} for k, v in attrs.items()]
    )


def one_tg_stack(elbv2, endpoint, net, ports, **attrs):
    """An ALB whose HTTP listener forwards to one ip target group with a target per port; returns (tg_arn, addr)."""
    lb = create_lb(elbv2, net)
    tg = robust_tg(elbv2, lb["VpcId"], *ports)
    arn = tg["TargetGroupArn"]
    if attrs:
        elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[{"Key": k, "Value": v} for k, v in attrs.items()])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], arn)
    return arn, address_of(endpoint, listener["ListenerArn"])


def states(elbv2, tg_arn) -> dict:
    """Target port → health state."""
    d = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    return {x["Target"]["Port"]: x["TargetHealth"]["State"] for x in d}


def set_cookies(resp) -> dict:
    """Set-Cookie headers of a response: name → full header value."""
    out = {}
    for k, v in resp.headers.items():
        if k.lower() == "set-cookie":
            out[v.split("=", 1)[0]] = v
    return out


# --------------------------------------------------------------------------------------------------
# 1. Target selection algorithms
# --------------------------------------------------------------------------------------------------


def test_round_robin_rotates_exactly(elbv2, endpoint, net, backends):
    """round_robin (the default): every window of 3 consecutive requests reaches each of 3 targets once."""
    bes = backends(3)
    arn, addr = one_tg_stack(elbv2, endpoint, net, [b.port for b in bes])
    wait_state(elbv2, arn)
    seq = [send(addr, f"/r{i}").backend for i in range(30)]
    names = {b.name for b in bes}
    for k in range(len(seq) - 2):
        assert set(seq[k : k + 3]) == names, seq
    assert all(seq[k] == seq[k % 3] for k in range(len(seq))), seq


def test_least_outstanding_requests_avoids_the_busy_target(elbv2, endpoint, net, scripted):
    """least_outstanding_requests: while one target holds an in-flight request, every new request goes to the idle one
    (also after a configuration change rebuilt the routing table); once it is released both targets serve again."""
    busy, idle = scripted("busy", "idle")
    busy.holds = True
    arn, addr = one_tg_stack(
        elbv2, endpoint, net, [busy.port, idle.port], **{"load_balancing.algorithm.type": "least_outstanding_requests"}
    )
    wait_state(elbv2, arn)
    held = []
    # Send /hold until one lands on the busy target (ties rotate, so within two requests).
    for _ in range(4):
        t = threading.Thread(target=lambda: held.append(send(addr, "/hold", timeout=30)), daemon=True)
        t.start()
        if wait_until(lambda: busy.holding == 1 or not t.is_alive(), timeout=10, interval=0.01) and busy.holding == 1:
            break
    assert busy.holding == 1
    got = [send(addr, f"/fast{i}").backend for i in range(20)]
    assert got == ["idle"] * 20, got
    # A configuration change rebuilds the routing table; the in-flight count survives it.
    set_tg_attrs(elbv2, arn, deregistration_delay__timeout_seconds=30)
    got = [send(addr, f"/rebuilt{i}").backend for i in range(10)]
    assert got == ["idle"] * 10, got
    busy.release.set()
    wait_until(lambda: busy.holding == 0, timeout=10, interval=0.01, what="held request to finish")
    assert {send(addr, f"/after{i}").backend for i in range(6)} == {"busy", "idle"}


def test_weighted_random_uses_every_target_about_evenly(elbv2, endpoint, net, backends):
    """weighted_random: over 300 requests each of 3 targets gets 100 ± 40 (≈ 5σ of the binomial), and the sequence is
    not round robin's fixed rotation."""
    bes = backends(3)
    arn, addr = one_tg_stack(
        elbv2, endpoint, net, [b.port for b in bes], **{"load_balancing.algorithm.type": "weighted_random"}
    )
    wait_state(elbv2, arn)
    seq = [send(addr, f"/r{i}").backend for i in range(300)]
    counts = {b.name: seq.count(b.name) for b in bes}
    assert all(60 <= c <= 140 for c in counts.values()), counts
    assert any(seq[k] != seq[k % 3] for k in range(len(seq))), "a fixed rotation is not random"


# --------------------------------------------------------------------------------------------------
# 2. Slow start
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["round_robin", "weighted_random"])
def test_slow_start_ramps_a_new_target_linearly(elbv2, endpoint, net, backends, algorithm):
    """slow_start.duration_seconds=600 (6 s at time scale 0.01): a target that turns healthy next to a warm one gets a
    small share early in the window, close to a fair share late in it, and exactly its share after it. Requests are
    counted in time buckets measured from when DescribeTargetHealth first shows the new target healthy."""
    warm, new = backends(2)
    window = 600 * TIME_SCALE
    lb = create_lb(elbv2, net)
    tg = robust_tg(elbv2, lb["VpcId"], warm.port)
    arn = tg["TargetGroupArn"]
    set_tg_attrs(elbv2, arn, load_balancing__algorithm__type=algorithm, slow_start__duration_seconds=600)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], arn)
    addr = address_of(endpoint, listener["ListenerArn"])
    wait_state(elbv2, arn)
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": new.port}])
    wait_until(lambda: states(elbv2, arn).get(new.port) == "healthy", timeout=15, interval=0.01, what="new target healthy")
    t0 = time.monotonic()
    end = t0 + 1.5 * window
    seen = []  # (seconds since t0 at send, backend)
    lock = threading.Lock()

    def client():
        while True:
            t = time.monotonic() - t0
            if t0 + t >= end:
                return
            b = send(addr, "/ss").backend
            with lock:
                seen.append((t, b))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    def share(lo, hi):
        picked = [b for t, b in seen if lo * window <= t < hi * window]
        assert len(picked) >= 40, f"only {len(picked)} requests in [{lo}, {hi}) of the window; machine too slow?"
        return picked.count(new.name) / len(picked)

    early, late, after = share(0.0, 0.2), share(0.8, 1.0), share(1.05, 1.5)
    # Linear ramp from 0: expected ≈ 0.09 early (mean factor 0.1), ≈ 0.47 late (mean factor 0.9), 0.5 after.
    # Bounds keep about 3σ of binomial noise for weighted_random at 40 requests a bucket (typically 150+).
    assert early < 0.25, (early, late, after)
    assert late > 0.25, (early, late, after)
    assert late - early > 0.1, (early, late, after)
    assert 0.35 <= after <= 0.65, (early, late, after)


def test_slow_start_does_not_apply_to_the_first_healthy_target(elbv2, endpoint, net, backends):
    """AWS: targets enter slow start only when another healthy target is not in slow start; the only target gets all
    requests at once."""
    (b0,) = backends(1)
    lb = create_lb(elbv2, net)
    tg = robust_tg(elbv2, lb["VpcId"], b0.port)
    arn = tg["TargetGroupArn"]
    set_tg_attrs(elbv2, arn, slow_start__duration_seconds=900)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], arn)
    wait_state(elbv2, arn)
    addr = address_of(endpoint, listener["ListenerArn"])
    assert {send(addr, f"/{i}").status for i in range(5)} == {200}


# --------------------------------------------------------------------------------------------------
# 3. Stickiness
# --------------------------------------------------------------------------------------------------


def test_app_cookie_stickiness(elbv2, endpoint, net, scripted):
    """stickiness.type=app_cookie: when the target sets the application cookie the load balancer adds AWSALBAPP-0 (and
    clears AWSALBAPP-1..3, 7-day cookies); a client sending both cookies back stays on that target while it is
    healthy; cookies reach the target unchanged; without the application cookie there is no stickiness."""
    a, b = scripted("a", "b")
    arn, addr = one_tg_stack(
        elbv2,
        endpoint,
        net,
        [a.port, b.port],
        **{
            "stickiness.enabled": "true",
            "stickiness.type": "app_cookie",
            "stickiness.app_cookie.cookie_name": "SESSION",
            "stickiness.app_cookie.duration_seconds": "600",
        },
    )
    wait_state(elbv2, arn)
    # A response without the application cookie clears the load balancer's cookies.
    plain = send(addr, "/plain")
    cookies = set_cookies(plain)
    assert cookies["AWSALBAPP-0"].startswith("AWSALBAPP-0=_remove_;"), cookies
    login = send(addr, "/login")
    cookies = set_cookies(login)
    assert cookies["SESSION"].startswith(f"SESSION={login.backend}"), cookies
    lb_value = _cookie(login, "AWSALBAPP-0")
    assert lb_value and lb_value != "_remove_", cookies
    for n in (1, 2, 3):
        assert cookies[f"AWSALBAPP-{n}"].startswith(f"AWSALBAPP-{n}=_remove_;"), cookies
    assert "Expires=" in cookies["AWSALBAPP-0"] and "Path=/" in cookies["AWSALBAPP-0"], cookies
    stuck = login.backend
    other = b if stuck == "a" else a
    jar = f"SESSION={stuck}; AWSALBAPP-0={lb_value}"
    got = []
    for i in range(10):
        r = send(addr, f"/page{i}", headers={"Cookie": jar})
        got.append(r.backend)
        assert _cookie(r, "AWSALBAPP-0") == lb_value  # kept while stuck
    assert got == [stuck] * 10
    # The target sees the client's cookies as sent.
    target = a if stuck == "a" else b
    assert target.cookies[-1] == jar
    # Only the load balancer cookie (no application cookie): not sticky.
    assert {send(addr, "/x", headers={"Cookie": f"AWSALBAPP-0={lb_value}"}).backend for _ in range(4)} == {"a", "b"}
    # The stuck target turns unhealthy: the client moves to a healthy target.
    target.hc_status = 503
    wait_until(lambda: states(elbv2, arn).get(target.port) == "unhealthy", timeout=15, interval=0.02, what="unhealthy")
    moved = send(addr, "/login", headers={"Cookie": jar})
    assert moved.backend == other.name
    assert _cookie(moved, "AWSALBAPP-0") not in (None, "_remove_", lb_value)


def test_lb_cookie_sets_awsalb_and_awsalbcors(elbv2, endpoint, net, backends):
    """lb_cookie stickiness sets AWSALB and AWSALBCORS with the same value; AWSALBCORS has SameSite=None; Secure."""
    b0, b1 = backends(2)
    arn, addr = one_tg_stack(
        elbv2,
        endpoint,
        net,
        [b0.port, b1.port],
        **{"stickiness.enabled": "true", "stickiness.type": "lb_cookie", "stickiness.lb_cookie.duration_seconds": "120"},
    )
    wait_state(elbv2, arn)
    r = send(addr, "/")
    cookies = set_cookies(r)
    assert _cookie(r, "AWSALB") and _cookie(r, "AWSALB") == _cookie(r, "AWSALBCORS"), cookies
    assert "SameSite=None" in cookies["AWSALBCORS"] and "Secure" in cookies["AWSALBCORS"], cookies
    assert "Expires=" in cookies["AWSALB"], cookies
    # The CORS twin alone also sticks.
    got = {send(addr, "/", headers={"Cookie": f"AWSALBCORS={_cookie(r, 'AWSALBCORS')}"}).backend for _ in range(6)}
    assert got == {r.backend}


# --------------------------------------------------------------------------------------------------
# 4. Fail-open and health-check matchers
# --------------------------------------------------------------------------------------------------


def test_all_targets_unhealthy_fails_open(elbv2, endpoint, net, scripted):
    """When every target fails its health checks but still answers on the traffic port, requests are routed to all."""
    a, b = scripted("a", "b")
    a.hc_status = b.hc_status = 500
    arn, addr = one_tg_stack(elbv2, endpoint, net, [a.port, b.port])
    wait_state(elbv2, arn, "unhealthy")
    got = [send(addr, f"/fo{i}") for i in range(6)]
    assert {r.status for r in got} == {200}
    assert {r.backend for r in got} == {"a", "b"}
    # One target recovers: it alone gets the traffic.
    a.hc_status = 200
    wait_until(lambda: states(elbv2, arn).get(a.port) == "healthy", timeout=15, interval=0.02, what="a healthy")
    assert {send(addr, f"/one{i}").backend for i in range(6)} == {"a"}


def test_matcher_code_lists_and_ranges(elbv2, endpoint, net, scripted):
    """Matcher HttpCode "200,202,418-420": a target answering 418 is healthy, one answering 421 is unhealthy."""
    ok, bad = scripted("ok", "bad")
    ok.hc_status, bad.hc_status = 418, 421
    lb = create_lb(elbv2, net)
    tg = robust_tg(elbv2, lb["VpcId"], ok.port, bad.port, Matcher={"HttpCode": "200,202,418-420"})
    arn = tg["TargetGroupArn"]
    create_listener(elbv2, lb["LoadBalancerArn"], arn)
    wait_until(
        lambda: states(elbv2, arn) == {ok.port: "healthy", bad.port: "unhealthy"}, timeout=15, interval=0.02, what="states"
    )
    d = elbv2.describe_target_health(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": bad.port}])
    health = d["TargetHealthDescriptions"][0]["TargetHealth"]
    assert health["Reason"] == "Target.ResponseCodeMismatch"
    assert "421" in health["Description"]


# --------------------------------------------------------------------------------------------------
# 5. Target types
# --------------------------------------------------------------------------------------------------


def test_lambda_target_group_answers_502_naming_the_reason(elbv2, endpoint, net):
    """A forward to a lambda target group answers 502 with a body saying Lambda functions are not invoked locally."""
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"], name=unique("fn"), TargetType="lambda")
    fn = "arn:aws:lambda:us-east-1:000000000000:function:hello"
    elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": fn}])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    r = send(address_of(endpoint, listener["ListenerArn"]), "/invoke")
    assert r.status == 502, (r.status, r.text)
    assert "lambda" in r.text.lower() and "does not invoke" in r.text, r.text
    assert "lambda" in r.headers.get("X-Localelb-Error", "").lower()


def test_instance_targets_are_reached_on_loopback(elbv2, endpoint, net, backends):
    """An instance target i-… on port P is reached at 127.0.0.1:P (the documented rule), for traffic and health."""
    (b0,) = backends(1)
    lb = create_lb(elbv2, net)
    tg = create_tg(elbv2, lb["VpcId"], TargetType="instance", **ROBUST_HC)
    arn = tg["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "i-0123456789abcdef0", "Port": b0.port}])
    listener = create_listener(elbv2, lb["LoadBalancerArn"], arn)
    wait_state(elbv2, arn)
    r = send(address_of(endpoint, listener["ListenerArn"]), "/inst")
    assert (r.status, r.backend) == (200, b0.name)


def test_alb_target_of_an_nlb_forwards_to_that_albs_listener(elbv2, endpoint, net, backends):
    """An NLB TCP listener forwarding to a target group of type alb reaches the ALB's listener on the target group's
    port inside the process: HTTP sent to the NLB is routed by the ALB's rules to its backend."""
    (b0,) = backends(1)
    alb = create_lb(elbv2, net)
    alb_tg = robust_tg(elbv2, alb["VpcId"], b0.port)
    alb_port = free_port()
    alb_listener = create_listener(elbv2, alb["LoadBalancerArn"], alb_tg["TargetGroupArn"], port=alb_port)
    wait_state(elbv2, alb_tg["TargetGroupArn"])
    nlb = create_lb(elbv2, net, type="network")
    tg = elbv2.create_target_group(
        Name=unique("albtg"), Protocol="TCP", Port=alb_port, VpcId=nlb["VpcId"], TargetType="alb"
    )["TargetGroups"][0]
    elbv2.register_targets(
        TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": alb["LoadBalancerArn"], "Port": alb_port}]
    )
    nlb_listener = create_listener(elbv2, nlb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="TCP")
    nlb_addr = address_of(endpoint, nlb_listener["ListenerArn"])
    assert nlb_addr != address_of(endpoint, alb_listener["ListenerArn"])
    r = send(nlb_addr, "/through/nlb")
    assert (r.status, r.backend) == (200, b0.name), (r.status, r.text)
    assert b0.seen()[-1].path == "/through/nlb"


# --------------------------------------------------------------------------------------------------
# 6. Blue/green switches under load
# --------------------------------------------------------------------------------------------------


class BlueGreen:
    """An ALB with a blue and a green target group (ROBUST_HC) and an HTTP listener forwarding to blue."""

    def __init__(self, elbv2, endpoint, net, blue, green):
        lb = create_lb(elbv2, net)
        self.arns = [robust_tg(elbv2, lb["VpcId"], b.port)["TargetGroupArn"] for b in (blue, green)]
        listener = create_listener(elbv2, lb["LoadBalancerArn"], self.arns[0])
        self.listener_arn = listener["ListenerArn"]
        self.addr = address_of(endpoint, self.listener_arn)
        self.elbv2 = elbv2

    def healthy(self):
        for arn in self.arns:
            wait_state(self.elbv2, arn)


def _switch_under_load(s: BlueGreen, switch):
    """Runs 4 client threads against the stack while `switch()` runs; returns (records, t_before, t_after) where a
    record is (t_start, t_end, status, backend)."""
    records = []
    lock = threading.Lock()
    stop = threading.Event()

    def client():
        while not stop.is_set():
            t1 = time.monotonic()
            try:
                r = send(s.addr, "/bg")
                rec = (t1, time.monotonic(), r.status, r.backend)
            except OSError as e:
                rec = (t1, time.monotonic(), repr(e), None)
            with lock:
                records.append(rec)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    wait_until(lambda: len(records) >= 40, timeout=20, interval=0.01, what="load before the switch")
    t_before = time.monotonic()
    switch()
    t_after = time.monotonic()
    n_at_switch = len(records)
    wait_until(lambda: len(records) >= n_at_switch + 80, timeout=20, interval=0.01, what="load after the switch")
    stop.set()
    for t in threads:
        t.join(timeout=10)
    return records, t_before, t_after


def _assert_blue_green(records, t_before, t_after):
    failed = [r for r in records if r[2] != 200]
    assert not failed, f"{len(failed)} failed requests, e.g. {failed[:3]}"
    before = [r[3] for r in records if r[1] < t_before]
    after = [r[3] for r in records if r[0] > t_after]
    assert before and set(before) == {"blue"}, set(before)
    assert len(after) >= 40 and set(after) == {"green"}, (len(after), set(after))


def test_blue_green_modify_rule_under_load(elbv2, endpoint, net, scripted):
    """ModifyRule weights 100/0 → 0/100 while 4 clients send requests: no request fails, every request sent after
    ModifyRule answered goes to green."""
    blue, green = scripted("blue", "green")
    s = BlueGreen(elbv2, endpoint, net, blue, green)
    rule = elbv2.create_rule(
        ListenerArn=s.listener_arn,
        Priority=1,
        Conditions=[path_is("/*")],
        Actions=weighted((s.arns[0], 100), (s.arns[1], 0)),
    )["Rules"][0]
    s.healthy()
    records, t0, t1 = _switch_under_load(
        s, lambda: elbv2.modify_rule(RuleArn=rule["RuleArn"], Actions=weighted((s.arns[0], 0), (s.arns[1], 100)))
    )
    _assert_blue_green(records, t0, t1)


def test_blue_green_modify_listener_under_load(elbv2, endpoint, net, scripted):
    """The same switch made on the listener's default action with ModifyListener."""
    blue, green = scripted("blue", "green")
    s = BlueGreen(elbv2, endpoint, net, blue, green)
    elbv2.modify_listener(ListenerArn=s.listener_arn, DefaultActions=weighted((s.arns[0], 100), (s.arns[1], 0)))
    s.healthy()
    records, t0, t1 = _switch_under_load(
        s,
        lambda: elbv2.modify_listener(
            ListenerArn=s.listener_arn, DefaultActions=weighted((s.arns[0], 0), (s.arns[1], 100))
        ),
    )
    _assert_blue_green(records, t0, t1)


# --------------------------------------------------------------------------------------------------
# 7. Broken targets
# --------------------------------------------------------------------------------------------------


def _garbage(c, _req):
    c.sendall(b"this is not HTTP at all\r\n\r\n")


def _reset_mid_response(c, _req):
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl")
    # SO_LINGER 0: close with a TCP reset instead of a FIN.
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("answer", [_garbage, _reset_mid_response], ids=["garbage", "reset"])
def test_broken_target_response_is_502(elbv2, endpoint, net, answer):
    """A target that writes garbage instead of HTTP, or resets the connection in the middle of its response headers,
    gets the client a 502 (the target is unhealthy too, so this also goes through fail-open)."""
    srv = RawServer(answer)
    try:
        arn, addr = one_tg_stack(elbv2, endpoint, net, [srv.port])
        r = send(addr, "/broken")
        assert r.status == 502, (r.status, r.text)
        assert "502 Bad Gateway" in r.text
    finally:
        srv.close()
