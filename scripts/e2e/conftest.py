"""Fixtures for the client e2e suite.

One `localelb serve --ephemeral` per session (binary from $LOCALELB_BIN), reset before every test; boto3
clients and an aws CLI v1 runner pointed at it; a factory for extra servers with a --data-dir (persistence);
throw-away HTTP backends for health checks. No fixed ports and no sleeps: everything polls with a deadline.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

import support
from support import AwsCliError, aws_cli_command, aws_cli_env, http_request, serve_http, spawn_logged, stop_http, stop_process

REGION = support.REGION

# Keep the clients away from whatever AWS configuration the machine has: dummy keys, no config files,
# no IMDS, no endpoint overrides.
for _k in (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_CA_BUNDLE",
):
    os.environ.pop(_k, None)
os.environ.update(
    AWS_ACCESS_KEY_ID=support.ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY=support.SECRET_KEY,
    AWS_DEFAULT_REGION=REGION,
    AWS_CONFIG_FILE=os.devnull,
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    AWS_EC2_METADATA_DISABLED="true",
    AWS_RETRY_MODE="standard",
    AWS_MAX_ATTEMPTS="1",
)

START_DEADLINE_S = 60.0
LISTEN_RE = re.compile(r"localelb listening on (http://\S+)")


# --------------------------------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------------------------------


def _binary() -> Path:
    env = os.environ.get("LOCALELB_BIN")
    if env:
        p = Path(env)
    else:
        target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/localelb-target")
        p = Path(target) / "debug" / "localelb"
    if not (p.is_file() and os.access(p, os.X_OK)):
        raise pytest.UsageError(f"localelb binary not found at {p}: run `cargo build` and set LOCALELB_BIN")
    return p


class LocalElb:
    """One `localelb serve` process on 127.0.0.1:<free port>."""

    def __init__(
        self,
        binary: Path,
        log_path: Path,
        data_dir: Path | None = None,
        s3_dir: Path | None = None,
        extra_args: tuple = (),
    ):
        self.binary = binary
        self.extra_args = list(extra_args)
        self.log_path = log_path
        self.data_dir = data_dir
        self.s3_dir = s3_dir
        self.proc: subprocess.Popen | None = None
        self.endpoint: str | None = None

    def args(self) -> list[str]:
        a = [str(self.binary), "serve", "--listen", "127.0.0.1:0"]
        a += ["--data-dir", str(self.data_dir)] if self.data_dir else ["--ephemeral"]
        a += ["--health-check-time-scale", "0.01"]
        if self.s3_dir:
            a += ["--s3-dir", str(self.s3_dir)]
        return a + self.extra_args

    def start(self) -> "LocalElb":
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALELB_")}
        env.setdefault("RUST_BACKTRACE", "1")
        self.proc = spawn_logged(self.args(), self.log_path, stdout=subprocess.PIPE, env=env)
        deadline = time.monotonic() + START_DEADLINE_S
        self.endpoint = self._read_endpoint(deadline)
        # Keep draining stdout so the server can never block on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        self._wait_healthy(deadline)
        return self

    def _read_endpoint(self, deadline: float) -> str:
        assert self.proc and self.proc.stdout
        fd = self.proc.stdout.fileno()
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        buf = b""
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise RuntimeError(f"localelb printed no 'listening on' line in {START_DEADLINE_S}s\n{self.log_tail()}")
                if not sel.select(timeout=min(left, 0.5)):
                    if self.proc.poll() is not None:
                        raise RuntimeError(f"localelb exited with {self.proc.returncode} at start-up\n{self.log_tail()}")
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.proc.wait(timeout=5)
                    raise RuntimeError(f"localelb closed stdout (exit {self.proc.returncode})\n{self.log_tail()}")
                buf += chunk
                m = LISTEN_RE.search(buf.decode("utf-8", "replace"))
                if m:
                    return m.group(1).rstrip("/")
        finally:
            sel.close()

    def _drain(self) -> None:
        try:
            while self.proc and self.proc.stdout and self.proc.stdout.read(4096):
                pass
        except (OSError, ValueError):
            pass

    def _wait_healthy(self, deadline: float) -> None:
        last = None
        while time.monotonic() < deadline:
            try:
                status, _, _ = http_request("GET", f"{self.endpoint}/_localelb/health", timeout=2)
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as e:
                last = repr(e)
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"localelb exited with {self.proc.returncode}\n{self.log_tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"GET /_localelb/health never answered 200 ({last})\n{self.log_tail()}")

    def reset(self) -> None:
        status, _, body = http_request("POST", f"{self.endpoint}/_localelb/reset", body=b"")
        if status != 200:
            raise RuntimeError(f"POST /_localelb/reset answered {status}: {body[:500]!r}")

    def kill9(self) -> None:
        """SIGKILL, as a crash: no chance to flush or shut down."""
        stop_process(self.proc, signal.SIGKILL)

    def kill(self) -> None:
        self.kill9()

    def stop(self) -> None:
        """SIGINT (the server's shutdown signal), then SIGKILL after a deadline."""
        stop_process(self.proc, signal.SIGINT)

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int, limit: int = 6000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            return ""
        text = data.decode("utf-8", "replace")
        return text[-limit:]

    def log_tail(self, limit: int = 4000) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return "(no server log)"
        return "--- server log (tail) ---\n" + text[-limit:]


_SESSION_SERVER: "LocalElb | None" = None


@pytest.fixture(scope="session")
def localelb_bin() -> Path:
    return _binary()


@pytest.fixture(scope="session")
def s3_dir(tmp_path_factory) -> Path:
    """The session server's stand-in for S3 (`--s3-dir`): `s3://bucket/key` is `s3_dir/bucket/key`."""
    return tmp_path_factory.mktemp("s3")


@pytest.fixture(scope="session")
def server(localelb_bin, tmp_path_factory, s3_dir):
    """The session's server: `serve --listen 127.0.0.1:0 --ephemeral --health-check-time-scale 0.01 --s3-dir <s3_dir>`."""
    global _SESSION_SERVER
    s = LocalElb(localelb_bin, tmp_path_factory.mktemp("server") / "localelb.log", s3_dir=s3_dir).start()
    _SESSION_SERVER = s
    yield s
    _SESSION_SERVER = None
    s.stop()


@pytest.fixture(scope="session")
def endpoint(server) -> str:
    """Base URL of the session's server, e.g. http://127.0.0.1:41234."""
    return server.endpoint


@pytest.fixture(autouse=True)
def _reset(request, server):
    """Every test starts from an empty server."""
    server.reset()
    request.node._localelb_log_offset = server.log_size()
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the server's log lines written during a failed test to its report."""
    report = yield
    if report.failed and call.when in ("call", "setup"):
        srv = _SESSION_SERVER
        offset = getattr(item, "_localelb_log_offset", None)
        if srv is not None and offset is not None:
            text = srv.log_since(offset)
            if text.strip():
                report.sections.append(("localelb log", text))
    return report


@pytest.fixture
def server_factory(localelb_bin, tmp_path):
    """Starts extra servers: `start(data_dir=None, extra_args=())` → LocalElb. All are stopped after the test."""
    started: list[LocalElb] = []

    def start(data_dir: Path | None = None, extra_args: tuple = ()) -> LocalElb:
        s = LocalElb(localelb_bin, tmp_path / f"extra-{len(started)}.log", data_dir=data_dir, extra_args=extra_args)
        started.append(s)
        return s.start()

    yield start
    for s in started:
        s.stop()


# --------------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------------


def make_client(service: str, endpoint: str, *, validate: bool = True):
    """A boto3 client for the emulator: dummy keys, us-east-1, no retries (errors surface at once)."""
    cfg = Config(
        region_name=REGION,
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        parameter_validation=validate,
    )
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=support.ACCESS_KEY,
        aws_secret_access_key=support.SECRET_KEY,
        config=cfg,
    )


@pytest.fixture(scope="session")
def elbv2(endpoint):
    """boto3 elbv2 client."""
    return make_client("elbv2", endpoint)


@pytest.fixture(scope="session")
def elbv2_unchecked(endpoint):
    """boto3 elbv2 client without client-side parameter validation (to send what botocore would refuse)."""
    return make_client("elbv2", endpoint, validate=False)


@pytest.fixture(scope="session")
def ec2(endpoint):
    """boto3 ec2 client on the same endpoint (the emulator answers a small EC2 subset)."""
    return make_client("ec2", endpoint)


@pytest.fixture(scope="session")
def client_factory():
    """`client_factory(service, endpoint)` for servers other than the session's one."""
    return make_client


@pytest.fixture
def aws(endpoint):
    """`aws("elbv2", "describe-load-balancers", ...)` → parsed JSON (None for empty output).

    Runs the aws CLI v1 with --endpoint-url/--region us-east-1/--output json and dummy keys;
    raises AwsCliError (with the CLI's stderr and the AWS error code) on a non-zero exit.
    """
    base = aws_cli_command()

    def run(*args: str, timeout: float = 60.0):
        cmd = base + list(args) + ["--endpoint-url", endpoint, "--region", REGION, "--output", "json"]
        p = subprocess.run(cmd, capture_output=True, text=True, env=aws_cli_env(), timeout=timeout, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise AwsCliError(list(args), p.returncode, p.stdout, p.stderr)
        out = p.stdout.strip()
        return json.loads(out) if out else None

    return run


# --------------------------------------------------------------------------------------------------
# Network fixtures (VPC, subnets, security groups) and backends
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def net(ec2) -> support.Net:
    """A VPC, subnets in three AZs and two security groups for the test's load balancers (see support.make_net)."""
    return support.make_net(ec2)


@dataclass
class Backend:
    """A local HTTP server on 127.0.0.1:<free port> answering `status` on every path in `paths`, 404 elsewhere."""

    port: int
    status: int
    paths: tuple
    hits: list = field(default_factory=list)


@pytest.fixture
def http_backend():
    """`http_backend(status=200, paths=("/health",))` → Backend; every server is shut down after the test."""
    servers = []

    def start(status: int = 200, paths=("/health",)) -> Backend:
        backend = Backend(port=0, status=status, paths=tuple(paths))

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                backend.hits.append(self.path)
                path = self.path.split("?", 1)[0]
                code = backend.status if (not backend.paths or path in backend.paths) else 404
                body = f"backend {backend.port} {path}\n".encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *a):
                pass

        httpd = serve_http(Handler)
        backend.port = httpd.server_address[1]
        servers.append(httpd)
        return backend

    yield start
    for s in servers:
        stop_http(s)
