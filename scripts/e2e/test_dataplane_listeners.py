"""Native data plane, listener kinds and transports: HTTP/2 over HTTPS (ALPN), user-supplied certificates chosen by
SNI, NLB TLS (terminated, then relayed as plain TCP), UDP and TCP_UDP listeners, WebSocket upgrades, and bodies
streamed both ways. Real clients throughout: httpx (HTTP/2), python ssl with server_hostname, websockets, raw
sockets."""

from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
import websockets.sync.client
import websockets.sync.server

from conftest import make_client
from support import CERT_ARN, CERT_ARN_2, create_lb, create_listener, serve_http, stop_http, unique, wait_until
from test_dataplane import HC_PATH, address_of, backends, endpoint_of, tg_for, wait_state  # noqa: F401

pytestmark = pytest.mark.dataplane


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def insecure_ctx() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def peer_cert(addr, server_hostname: str | None) -> bytes:
    """The DER certificate the listener presents for this SNI name (None = no SNI)."""
    with socket.create_connection(addr, timeout=5) as raw:
        with insecure_ctx().wrap_socket(raw, server_hostname=server_hostname) as tls:
            return tls.getpeercert(binary_form=True)


def make_cert(workdir: Path, name: str, sans: list[str]) -> tuple[Path, Path, bytes]:
    """A self-signed EC certificate with these DNS SANs (openssl CLI) → (cert path, key path, DER)."""
    crt, key = workdir / f"{name}.crt", workdir / f"{name}.key"
    p = subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "2", "-subj", f"/CN={sans[0]}", "-addext", "subjectAltName=" + ",".join(f"DNS:{s}" for s in sans),
            "-keyout", str(key), "-out", str(crt),
        ],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30,
    )
    assert p.returncode == 0, p.stderr
    return crt, key, ssl.PEM_cert_to_DER_cert(crt.read_text())


class EchoServer:
    """TCP and/or UDP echo on 127.0.0.1 (one port number for both), answering `<name>:<data>`. TCP health checks
    connect and close without data."""

    def __init__(self, name: str, tcp: bool = True, udp: bool = False):
        self.name = name
        self.stop = threading.Event()
        self.tcp = self.udp = None
        for _ in range(50):
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM) if tcp else None
            port = 0
            if self.tcp:
                self.tcp.bind(("127.0.0.1", 0))
                self.tcp.listen(64)
                port = self.tcp.getsockname()[1]
            if udp:
                self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    self.udp.bind(("127.0.0.1", port))
                except OSError:
                    self.udp.close()
                    self.tcp and self.tcp.close()
                    continue
                port = self.udp.getsockname()[1]
            break
        self.port = port
        self.threads = []
        if self.tcp:
            self.threads.append(threading.Thread(target=self._tcp_loop, daemon=True))
        if self.udp:
            self.threads.append(threading.Thread(target=self._udp_loop, daemon=True))
        for t in self.threads:
            t.start()

    def _tcp_loop(self):
        self.tcp.settimeout(0.1)
        while not self.stop.is_set():
            try:
                c, _ = self.tcp.accept()
            except OSError:
                continue
            threading.Thread(target=self._tcp_conn, args=(c,), daemon=True).start()

    def _tcp_conn(self, c):
        with c:
            c.settimeout(5)
            try:
                while data := c.recv(65536):
                    c.sendall(self.name.encode() + b":" + data)
            except OSError:
                pass

    def _udp_loop(self):
        self.udp.settimeout(0.1)
        while not self.stop.is_set():
            try:
                data, peer = self.udp.recvfrom(65536)
            except OSError:
                continue
            self.udp.sendto(self.name.encode() + b":" + data, peer)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=2)
        for s in (self.tcp, self.udp):
            if s:
                s.close()


@pytest.fixture
def echo():
    servers = []

    def start(name="e0", tcp=True, udp=False) -> EchoServer:
        s = EchoServer(name, tcp=tcp, udp=udp)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def nlb_tg(elbv2, vpc_id, protocol: str, *servers, hc_port: int | None = None) -> dict:
    """An ip target group of NLB protocol `protocol` with 127.0.0.1:<port> of each server, fast TCP checks."""
    kw = {"HealthCheckProtocol": "TCP", "HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 2}
    if hc_port:
        kw["HealthCheckPort"] = str(hc_port)
    tg = elbv2.create_target_group(
        Name=unique("nlb"), Protocol=protocol, Port=servers[0].port, VpcId=vpc_id, TargetType="ip", **kw
    )["TargetGroups"][0]
    elbv2.register_targets(
        TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": s.port} for s in servers]
    )
    return tg


def udp_exchange(addr, payload: bytes, sock: socket.socket | None = None) -> bytes:
    """Sends one datagram to the listener and returns the reply (retrying a lost datagram, UDP being UDP)."""
    own = sock is None
    sock = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.5)
    try:
        for _ in range(20):
            sock.sendto(payload, addr)
            try:
                data, _ = sock.recvfrom(65536)
                return data
            except socket.timeout:
                continue
        pytest.fail(f"no UDP reply from {addr} for {payload!r}")
    finally:
        if own:
            sock.close()


# --------------------------------------------------------------------------------------------------
# HTTPS: HTTP/2 and certificates
# --------------------------------------------------------------------------------------------------


def test_https_listener_speaks_http2_to_clients_that_offer_it(elbv2, endpoint, net, backends):
    """ALPN offers h2 and http/1.1: an HTTP/2 client gets HTTP/2, an HTTP/1.1 client HTTP/1.1; the target gets
    HTTP/1.1 with Host taken from :authority."""
    (b0,) = backends(1)
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"], b0)
    listener = create_listener(
        elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="HTTPS", Certificates=[{"CertificateArn": CERT_ARN}]
    )
    wait_state(elbv2, tg["TargetGroupArn"])
    host, port = address_of(endpoint, listener["ListenerArn"])
    url = f"https://{host}:{port}/h2?q=1"
    with httpx.Client(http2=True, verify=False, timeout=5) as c:
        r = c.get(url, headers={"Host": lb["DNSName"]})
        assert r.http_version == "HTTP/2" and r.status_code == 200, (r.http_version, r.status_code, r.text)
        assert r.text == f"backend {b0.name}"
        # Several requests multiplexed on one connection.
        assert all(c.get(url, headers={"Host": lb["DNSName"]}).status_code == 200 for _ in range(5))
    seen = b0.seen()[-1]
    assert seen.path == "/h2" and seen.query == "q=1"
    assert seen.headers.get("Host") == lb["DNSName"] and seen.headers.get("X-Forwarded-Proto") == "https"
    with httpx.Client(http2=False, verify=False, timeout=5) as c:
        r = c.get(url)
        assert r.http_version == "HTTP/1.1" and r.status_code == 200
    # The negotiated protocol, as seen by a plain TLS client.
    ctx = insecure_ctx()
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection((host, port), timeout=5) as raw, ctx.wrap_socket(raw, server_hostname=lb["DNSName"]) as t:
        assert t.selected_alpn_protocol() == "h2"


def test_user_certificates_are_chosen_by_sni(elbv2_factory_server, net, backends, tmp_path):
    """--certificate ARN=CERT,KEY serves that certificate for the ARN. SNI picks among the listener's default and added
    certificates (exact or wildcard SAN); other names and no SNI get the default; removing a certificate takes it
    out of the choice. A client verifying against the certificate (check_hostname) completes the handshake."""
    a_crt, a_key, a_der = make_cert(tmp_path, "a", ["a.example.test"])
    b_crt, b_key, b_der = make_cert(tmp_path, "b", ["*.b.example.test"])
    elbv2, endpoint = elbv2_factory_server(
        "--certificate", f"{CERT_ARN}={a_crt},{a_key}", "--certificate", f"{CERT_ARN_2}={b_crt},{b_key}"
    )
    (b0,) = backends(1)
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"], b0)
    listener = create_listener(
        elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="HTTPS", Certificates=[{"CertificateArn": CERT_ARN}]
    )
    arn = listener["ListenerArn"]
    elbv2.add_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": CERT_ARN_2}])
    addr = address_of(endpoint, arn)
    assert peer_cert(addr, "a.example.test") == a_der
    assert peer_cert(addr, "api.b.example.test") == b_der
    assert peer_cert(addr, "elsewhere.example") == a_der
    assert peer_cert(addr, None) == a_der
    # Real verification: trust only certificate B, require the name to match.
    wait_state(elbv2, tg["TargetGroupArn"])
    ctx = ssl.create_default_context(cafile=str(b_crt))
    with socket.create_connection(addr, timeout=5) as raw, ctx.wrap_socket(raw, server_hostname="api.b.example.test") as t:
        conn = http.client.HTTPConnection(*addr, timeout=5)
        conn.sock = t
        conn.request("GET", "/verified", headers={"Host": "api.b.example.test"})
        r = conn.getresponse()
        assert r.status == 200 and r.read() == f"backend {b0.name}".encode()
    elbv2.remove_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": CERT_ARN_2}])
    assert peer_cert(addr, "api.b.example.test") == a_der


def test_unreadable_certificate_file_stops_the_start(localelb_bin, tmp_path):
    """A --certificate whose files cannot be read is an error at start, naming the ARN."""
    p = subprocess.run(
        [str(localelb_bin), "serve", "--ephemeral", "--listen", "127.0.0.1:0",
         "--certificate", f"{CERT_ARN}={tmp_path}/missing.crt,{tmp_path}/missing.key"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert p.returncode != 0 and CERT_ARN in p.stderr, (p.returncode, p.stderr)


@pytest.fixture
def elbv2_factory_server(server_factory):
    """`start(*extra_args)` → (elbv2 client, endpoint) of a fresh server started with those flags."""

    def start(*extra_args):
        s = server_factory(extra_args=tuple(extra_args))
        return make_client("elbv2", s.endpoint), s.endpoint

    return start


# --------------------------------------------------------------------------------------------------
# NLB: TLS, UDP, TCP_UDP
# --------------------------------------------------------------------------------------------------


def test_nlb_tls_listener_terminates_tls_and_relays_plain_bytes(elbv2, endpoint, net, echo):
    """A TLS listener terminates TLS with the load balancer's certificate and relays the plain stream to a TCP
    target (the echo target never sees TLS); no ALPN unless the listener has an AlpnPolicy."""
    e = echo("tls-target")
    lb = create_lb(elbv2, net, type="network")
    tg = nlb_tg(elbv2, lb["VpcId"], "TCP", e)
    listener = create_listener(
        elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="TLS", Certificates=[{"CertificateArn": CERT_ARN}]
    )
    entry = endpoint_of(endpoint, listener["ListenerArn"])
    assert entry["error"] is None and entry["protocol"] == "TLS"
    addr = address_of(endpoint, listener["ListenerArn"])
    ctx = insecure_ctx()
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(addr, timeout=5) as raw, ctx.wrap_socket(raw, server_hostname=lb["DNSName"]) as t:
        assert lb["DNSName"].lower().encode() in t.getpeercert(binary_form=True)
        assert t.selected_alpn_protocol() is None
        t.sendall(b"hello over tls")
        assert t.recv(1024) == b"tls-target:hello over tls"
        t.sendall(b"again")
        assert t.recv(1024) == b"tls-target:again"
    elbv2.modify_listener(ListenerArn=listener["ListenerArn"], AlpnPolicy=["HTTP2Preferred"])
    with socket.create_connection(addr, timeout=5) as raw, ctx.wrap_socket(raw, server_hostname=lb["DNSName"]) as t:
        assert t.selected_alpn_protocol() == "h2"


def test_udp_listener_relays_datagrams_with_one_target_per_client(elbv2, endpoint, net, echo):
    """A UDP listener relays each client's datagrams to one target (its flow) and the replies back; two clients
    are spread over the two targets."""
    u0, u1 = echo("u0", tcp=False, udp=True), echo("u1", tcp=False, udp=True)
    hc = echo("hc")
    lb = create_lb(elbv2, net, type="network")
    tg = nlb_tg(elbv2, lb["VpcId"], "UDP", u0, u1, hc_port=hc.port)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="UDP")
    wait_state(elbv2, tg["TargetGroupArn"])
    addr = address_of(endpoint, listener["ListenerArn"])
    answered_by = []
    for client in range(2):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            replies = [udp_exchange(addr, f"c{client}-{i}".encode(), s) for i in range(5)]
            names = {r.split(b":", 1)[0] for r in replies}
            assert len(names) == 1, replies
            assert all(r.split(b":", 1)[1] == f"c{client}-{i}".encode() for i, r in enumerate(replies))
            answered_by.append(names.pop())
    assert sorted(answered_by) == [b"u0", b"u1"]


def test_tcp_udp_listener_serves_both_on_one_port(elbv2, endpoint, net, echo):
    """A TCP_UDP listener serves TCP connections and UDP datagrams on the same port number."""
    e = echo("both", tcp=True, udp=True)
    lb = create_lb(elbv2, net, type="network")
    tg = nlb_tg(elbv2, lb["VpcId"], "TCP_UDP", e)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="TCP_UDP")
    wait_state(elbv2, tg["TargetGroupArn"])
    addr = address_of(endpoint, listener["ListenerArn"])
    with socket.create_connection(addr, timeout=5) as c:
        c.sendall(b"over tcp")
        assert c.recv(1024) == b"both:over tcp"
    assert udp_exchange(addr, b"over udp") == b"both:over udp"


def test_deleted_udp_listener_stops_relaying(elbv2, endpoint, net, echo):
    """After DeleteListener the UDP port answers no more (a fresh flow gets no reply)."""
    u = echo("u", tcp=False, udp=True)
    hc = echo("hc")
    lb = create_lb(elbv2, net, type="network")
    tg = nlb_tg(elbv2, lb["VpcId"], "UDP", u, hc_port=hc.port)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="UDP")
    addr = address_of(endpoint, listener["ListenerArn"])
    assert udp_exchange(addr, b"x") == b"u:x"
    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])

    def silent():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            s.sendto(b"y", addr)
            try:
                s.recvfrom(1024)
                return False
            except OSError:
                return True

    wait_until(silent, timeout=10, what="the deleted UDP listener to stop answering")


def test_endpoints_cover_every_listener_kind(elbv2, endpoint, net, echo):
    """/_localelb/endpoints gives an address for TLS, UDP and TCP_UDP listeners and a reason for GENEVE."""
    e = echo("x", tcp=True, udp=True)
    nlb = create_lb(elbv2, net, type="network")
    arns = {}
    for proto in ("TLS", "UDP", "TCP_UDP"):
        tg = nlb_tg(elbv2, nlb["VpcId"], "TCP" if proto == "TLS" else proto, e)
        kw = {"Certificates": [{"CertificateArn": CERT_ARN}]} if proto == "TLS" else {}
        arns[proto] = create_listener(elbv2, nlb["LoadBalancerArn"], tg["TargetGroupArn"], protocol=proto, **kw)[
            "ListenerArn"
        ]
    for proto, arn in arns.items():
        entry = endpoint_of(endpoint, arn)
        assert entry["error"] is None and entry["address"], (proto, entry)
    gw = create_lb(elbv2, net, type="gateway")
    gtg = elbv2.create_target_group(
        Name=unique("gw"), Protocol="GENEVE", Port=6081, VpcId=gw["VpcId"], TargetType="ip",
        HealthCheckProtocol="TCP", HealthCheckPort="80",
    )["TargetGroups"][0]
    gl = elbv2.create_listener(
        LoadBalancerArn=gw["LoadBalancerArn"], DefaultActions=[{"Type": "forward", "TargetGroupArn": gtg["TargetGroupArn"]}]
    )["Listeners"][0]
    entry = endpoint_of(endpoint, gl["ListenerArn"])
    assert entry["address"] is None and "GENEVE" in entry["error"], entry


# --------------------------------------------------------------------------------------------------
# HTTP: WebSocket upgrades and streamed bodies
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def ws_backend():
    """A websockets server on 127.0.0.1: greets, then echoes each message as `echo:<msg>`; plain HTTP gets 200."""
    seen_headers = []

    def handler(conn):
        seen_headers.append(conn.request.headers)
        conn.send("hello from target")
        for msg in conn:
            conn.send(b"echo:" + msg if isinstance(msg, bytes) else f"echo:{msg}")

    def process_request(conn, request):
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return conn.respond(200, "plain ok\n")
        return None

    srv = websockets.sync.server.serve(handler, "127.0.0.1", 0, process_request=process_request)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    port = srv.socket.getsockname()[1]
    yield port, seen_headers
    srv.shutdown()
    t.join(timeout=2)


def test_websocket_upgrade_is_spliced_both_ways(elbv2, endpoint, net, ws_backend):
    """A WebSocket handshake through an HTTP listener reaches the target with its Upgrade headers (and
    X-Forwarded-For), and messages flow both ways, text and binary; the same over an HTTPS listener (wss)."""
    port, seen_headers = ws_backend
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"], port)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    wait_state(elbv2, tg["TargetGroupArn"])
    host, lport = address_of(endpoint, listener["ListenerArn"])
    with websockets.sync.client.connect(f"ws://{host}:{lport}/chat", open_timeout=5, close_timeout=2) as ws:
        assert ws.recv(timeout=5) == "hello from target"
        for i in range(3):
            ws.send(f"message {i}")
            assert ws.recv(timeout=5) == f"echo:message {i}"
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=5) == b"echo:\x00\x01binary"
    h = seen_headers[-1]
    assert h.get("Upgrade", "").lower() == "websocket" and "127.0.0.1" in h.get("X-Forwarded-For", "")
    # The same through an HTTPS listener (wss://), TLS terminated by the load balancer.
    tls_listener = create_listener(
        elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="HTTPS", Certificates=[{"CertificateArn": CERT_ARN}]
    )
    host, sport = address_of(endpoint, tls_listener["ListenerArn"])
    with websockets.sync.client.connect(
        f"wss://{host}:{sport}/secure-chat", ssl=insecure_ctx(), server_hostname=lb["DNSName"], open_timeout=5, close_timeout=2
    ) as ws:
        assert ws.recv(timeout=5) == "hello from target"
        ws.send("over tls")
        assert ws.recv(timeout=5) == "echo:over tls"
    assert seen_headers[-1].get("X-Forwarded-Proto") == "https"


@pytest.fixture
def stream_backend():
    """POST /upload: reads a chunked body piece by piece (sets `first_seen` after the first chunk) and answers its
    length and sha256. GET /slow: sends `part one` as a chunk, waits for `release`, then `part two`."""
    first_seen = threading.Event()
    release = threading.Event()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            if self.path == HC_PATH:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for part, wait in ((b"part one\n", True), (b"part two\n", False)):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
                if wait:
                    release.wait(15)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def do_POST(self):  # noqa: N802
            h, n = hashlib.sha256(), 0
            assert self.headers.get("Transfer-Encoding", "").lower() == "chunked"
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data = self.rfile.read(size)
                self.rfile.readline()
                h.update(data)
                n += len(data)
                first_seen.set()
            body = f"{n} {h.hexdigest()}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = serve_http(H)
    yield srv.server_address[1], first_seen, release
    release.set()
    stop_http(srv)


def test_bodies_stream_both_ways(elbv2, endpoint, net, stream_backend):
    """A large chunked upload reaches the target while the client is still sending (and arrives intact); a slow
    chunked download reaches the client part by part."""
    port, first_seen, release = stream_backend
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"], port)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    wait_state(elbv2, tg["TargetGroupArn"])
    addr = address_of(endpoint, listener["ListenerArn"])

    block = bytes(range(256)) * 256  # 64 KiB
    blocks = 128  # 8 MiB in all
    expected = hashlib.sha256()

    def body():
        expected.update(block)
        yield block
        # The target must see the first chunk before the rest is sent: the proxy streams, it does not buffer.
        assert first_seen.wait(10), "the target did not get the first chunk while the upload was in progress"
        for _ in range(blocks - 1):
            expected.update(block)
            yield block

    conn = http.client.HTTPConnection(*addr, timeout=30)
    conn.request("POST", "/upload", body=body(), encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
    r = conn.getresponse()
    assert r.status == 200
    assert r.read().decode() == f"{len(block) * blocks} {expected.hexdigest()}"
    conn.close()

    conn = http.client.HTTPConnection(*addr, timeout=10)
    conn.request("GET", "/slow")
    r = conn.getresponse()
    assert r.status == 200
    # The first part arrives while the target still holds back the second.
    assert r.readline() == b"part one\n"
    assert not release.is_set()
    release.set()
    assert r.read() == b"part two\n"
    conn.close()


# --------------------------------------------------------------------------------------------------
# Workers and ports
# --------------------------------------------------------------------------------------------------


def test_proxy_threads_flag_sets_the_worker_count_and_all_serve(server_factory, net, backends):
    """--proxy-threads N starts N proxy worker threads; concurrent clients on one listener are all served."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from test_dataplane import send

    s = server_factory(extra_args=("--proxy-threads", "3"))
    elbv2 = make_client("elbv2", s.endpoint)
    names = [Path(f"/proc/{s.proc.pid}/task/{t}/comm").read_text().strip() for t in os.listdir(f"/proc/{s.proc.pid}/task")]
    assert sum(n.startswith("localelb-proxy") for n in names) == 3, names
    (b0,) = backends(1)
    lb = create_lb(elbv2, net)
    tg = tg_for(elbv2, lb["VpcId"], b0)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"])
    wait_state(elbv2, tg["TargetGroupArn"])
    addr = address_of(s.endpoint, listener["ListenerArn"])

    def client(i):
        return [send(addr, f"/c{i}/{j}").status for j in range(4)]

    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = [st for r in pool.map(client, range(24)) for st in r]
    assert statuses == [200] * 96


def test_udp_port_held_by_another_process_is_reported(elbv2, endpoint, net, echo):
    """A UDP listener whose port another socket holds is listed with an error, not shared."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    try:
        port = holder.getsockname()[1]
        u = echo("u", tcp=False, udp=True)
        lb = create_lb(elbv2, net, type="network")
        tg = nlb_tg(elbv2, lb["VpcId"], "UDP", u)
        listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="UDP", port=port)
        entry = endpoint_of(endpoint, listener["ListenerArn"])
        assert entry["address"] is None and str(port) in (entry["error"] or ""), entry
    finally:
        holder.close()


def test_modify_listener_tcp_to_tls_switches_on_the_same_socket(elbv2, endpoint, net, echo):
    """ModifyListener TCP → TLS: the same address now terminates TLS; back to TCP relays plain bytes again."""
    e = echo("m")
    lb = create_lb(elbv2, net, type="network")
    tg = nlb_tg(elbv2, lb["VpcId"], "TCP", e)
    listener = create_listener(elbv2, lb["LoadBalancerArn"], tg["TargetGroupArn"], protocol="TCP")
    arn = listener["ListenerArn"]
    addr = address_of(endpoint, arn)
    with socket.create_connection(addr, timeout=5) as c:
        c.sendall(b"plain")
        assert c.recv(1024) == b"m:plain"
    elbv2.modify_listener(ListenerArn=arn, Protocol="TLS", Certificates=[{"CertificateArn": CERT_ARN}])
    assert address_of(endpoint, arn) == addr
    with socket.create_connection(addr, timeout=5) as raw, insecure_ctx().wrap_socket(raw, server_hostname=lb["DNSName"]) as t:
        t.sendall(b"secret")
        assert t.recv(1024) == b"m:secret"
    elbv2.modify_listener(ListenerArn=arn, Protocol="TCP")
    with socket.create_connection(addr, timeout=5) as c:
        c.sendall(b"plain again")
        assert c.recv(1024) == b"m:plain again"
