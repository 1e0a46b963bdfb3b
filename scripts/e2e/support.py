"""Helpers shared by the e2e tests: ids, resource builders, error-code and attribute helpers, polling."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

REGION = "us-east-1"
ACCESS_KEY = "test"
SECRET_KEY = "test"

# Used when the endpoint has no EC2 create calls (see conftest.net).
VPC_ID = "vpc-0a1b2c3d4e5f60718"
SUBNETS = ("subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003")
SECURITY_GROUPS = ("sg-0a1b2c3d4e5f60001", "sg-0a1b2c3d4e5f60002")

# ACM certificate ARNs (the emulator has no ACM; AWS would check they exist).
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
CERT_ARN_2 = "arn:aws:acm:us-east-1:123456789012:certificate/66666666-7777-8888-9999-000000000000"

ACCOUNT_RE = r"\d{12}"
HEX16 = r"[0-9a-f]{16}"

# Rule condition Field → the member holding its typed configuration.
CONDITION_CONFIG_KEY = {
    "host-header": "HostHeaderConfig",
    "path-pattern": "PathPatternConfig",
    "http-header": "HttpHeaderConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "query-string": "QueryStringConfig",
    "source-ip": "SourceIpConfig",
}

# Small waiter settings: botocore requires an integer Delay.
FAST_WAIT = {"Delay": 1, "MaxAttempts": 15}


def http_request(method: str, url: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 10.0):
    """A plain HTTP request; returns (status, headers, body) for any status, 4xx/5xx included."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def unique(prefix: str) -> str:
    """A fresh resource name: `<prefix>-<8 hex>` (keep prefix ≤ 23 chars to stay within 32)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error_code(excinfo) -> str:
    """The AWS error code of a pytest.raises(ClientError) result."""
    return excinfo.value.response["Error"]["Code"]


def error_message(excinfo) -> str:
    return excinfo.value.response["Error"].get("Message", "")


def raises_code(code: str):
    """`with raises_code("LoadBalancerNotFound"): ...` — a ClientError whose Error.Code is `code`."""
    return _RaisesCode(code)


class _RaisesCode:
    def __init__(self, code):
        self.code = code
        self.codes = {code} if isinstance(code, str) else set(code)
        self.error = None

    def __enter__(self):
        return self

    def __exit__(self, typ, value, tb):
        if typ is None:
            pytest.fail(f"expected a {self.code} error, but the call succeeded")
        if not issubclass(typ, ClientError):
            return False
        got = value.response.get("Error", {}).get("Code")
        if got not in self.codes:
            pytest.fail(f"expected error {self.code}, got {got}: {value.response.get('Error', {}).get('Message')}")
        self.error = value.response["Error"]
        return True

    @property
    def message(self) -> str:
        return (self.error or {}).get("Message", "")


def attrs(items) -> dict:
    """[{"Key": k, "Value": v}, ...] → {k: v}."""
    return {a["Key"]: a.get("Value") for a in items}


def kv(d: dict) -> list:
    """{k: v} → [{"Key": k, "Value": v}, ...]."""
    return [{"Key": k, "Value": v} for k, v in d.items()]


def chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i : i + n]


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1 (for listener ports, so tests never fight over 80)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A port where nothing listens (connection refused)."""
    return free_port()


def wait_until(fn, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Calls fn() until it returns a truthy value; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------------
# Local servers and processes the tests start
# --------------------------------------------------------------------------------------------------


def serve_http(handler_class) -> ThreadingHTTPServer:
    """A ThreadingHTTPServer on 127.0.0.1:<free port> serving `handler_class` from a daemon thread; stop it with
    stop_http. The port is `server.server_address[1]`."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd


def stop_http(httpd: ThreadingHTTPServer) -> None:
    httpd.shutdown()
    httpd.server_close()


@contextmanager
def echo_once_server():
    """A TCP server on 127.0.0.1 answering the first read of each connection with `echo:<data>` (health checks
    connect and close without data). Yields its port."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    stop = threading.Event()

    def loop():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            with c:
                c.settimeout(2)
                try:
                    data = c.recv(1024)
                    if data:
                        c.sendall(b"echo:" + data)
                except OSError:
                    pass

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        t.join(timeout=2)
        srv.close()


def spawn_logged(args: list, log_path: Path, *, stdout=None, env=None) -> subprocess.Popen:
    """Starts `args` in its own session with stderr (and stdout unless given) appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log if stdout is None else stdout,
            stderr=log,
            env=env,
            start_new_session=True,
        )


def stop_process(proc: subprocess.Popen | None, sig: int, timeout: float = 10) -> None:
    """Sends `sig` to a running process, then SIGKILL if it has not exited after `timeout` seconds."""
    if not proc or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------------
# Network (EC2) and resource builders
# --------------------------------------------------------------------------------------------------


@dataclass
class Net:
    """What an ELB needs from EC2: a VPC, subnets in three AZs, two security groups."""

    vpc_id: str
    subnets: list
    security_groups: list
    source: str = "fixed"


def make_net(ec2) -> Net:
    """Creates a VPC, three subnets (us-east-1a/b/c) and two security groups through the EC2 API, as one would
    against AWS. If the endpoint has no EC2 create calls, falls back to fixed ids (the emulator accepts any
    subnet-*/sg-* id, see terraform-provider-needs.md §0)."""
    try:
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
            for i, az in enumerate("abc")
        ]
        sgs = [
            ec2.create_security_group(GroupName=unique(f"sg{i}"), Description="e2e", VpcId=vpc)["GroupId"]
            for i in range(2)
        ]
        return Net(vpc, subnets, sgs, source="ec2")
    except (ClientError, BotoCoreError, KeyError):
        return Net(VPC_ID, list(SUBNETS), list(SECURITY_GROUPS))


# --------------------------------------------------------------------------------------------------
# Resource builders
# --------------------------------------------------------------------------------------------------


def create_lb(elbv2, net, *, name=None, type="application", **kw) -> dict:
    """CreateLoadBalancer with the net fixture's subnets (2 for ALB/NLB, 1 for GWLB) → the LoadBalancer dict."""
    name = name or unique({"application": "alb", "network": "nlb", "gateway": "gwlb"}[type])
    if "Subnets" not in kw and "SubnetMappings" not in kw:
        kw["Subnets"] = net.subnets[:1] if type == "gateway" else net.subnets[:2]
    if type == "application" and "SecurityGroups" not in kw:
        kw["SecurityGroups"] = net.security_groups[:1]
    return elbv2.create_load_balancer(Name=name, Type=type, **kw)["LoadBalancers"][0]


def create_tg(elbv2, vpc_id, *, name=None, protocol="HTTP", port=80, **kw) -> dict:
    """CreateTargetGroup → the TargetGroup dict."""
    name = name or unique("tg")
    if kw.get("TargetType") == "lambda":
        return elbv2.create_target_group(Name=name, **kw)["TargetGroups"][0]
    return elbv2.create_target_group(Name=name, Protocol=protocol, Port=port, VpcId=vpc_id, **kw)["TargetGroups"][0]


def forward(tg_arn: str) -> list:
    """A default action list forwarding to one target group."""
    return [{"Type": "forward", "TargetGroupArn": tg_arn}]


def weighted(*pairs, stickiness: int | None = None) -> list:
    """Actions forwarding with weights: weighted((tg1, 80), (tg2, 20), stickiness=300)."""
    cfg = {"TargetGroups": [{"TargetGroupArn": arn, "Weight": w} for arn, w in pairs]}
    if stickiness is not None:
        cfg["TargetGroupStickinessConfig"] = {"Enabled": True, "DurationSeconds": stickiness}
    return [{"Type": "forward", "ForwardConfig": cfg}]


def create_listener(elbv2, lb_arn, tg_arn=None, *, port=None, protocol="HTTP", actions=None, **kw) -> dict:
    """CreateListener (on a free port unless given) → the Listener dict."""
    if actions is None:
        actions = forward(tg_arn)
    return elbv2.create_listener(
        LoadBalancerArn=lb_arn, Protocol=protocol, Port=port or free_port(), DefaultActions=actions, **kw
    )["Listeners"][0]


def alb_stack(elbv2, net, *, tgs=1, **tg_kw):
    """An ALB, `tgs` HTTP target groups in its VPC, and an HTTP listener forwarding to the first one."""
    lb = create_lb(elbv2, net)
    groups = [create_tg(elbv2, lb["VpcId"], **tg_kw) for _ in range(tgs)]
    listener = create_listener(elbv2, lb["LoadBalancerArn"], groups[0]["TargetGroupArn"])
    return lb, groups, listener


def lb_id(lb_arn: str) -> tuple[str, str, str]:
    """loadbalancer/<kind>/<name>/<id> → (kind, name, id)."""
    m = re.search(r":loadbalancer/(app|net|gwy)/([^/]+)/([^/]+)$", lb_arn)
    assert m, lb_arn
    return m.group(1), m.group(2), m.group(3)


def strip_metadata(resp: dict) -> dict:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


# --------------------------------------------------------------------------------------------------
# aws CLI
# --------------------------------------------------------------------------------------------------


class AwsCliError(Exception):
    """The aws CLI exited non-zero. `.code` is the AWS error code parsed from stderr, if any."""

    def __init__(self, args, returncode, stdout, stderr):
        self.args_ = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        m = re.search(r"An error occurred \(([^)]+)\)", stderr)
        self.code = m.group(1) if m else None
        super().__init__(f"aws {' '.join(args)} exited {returncode}:\n{stderr.strip()}")


def aws_cli_command() -> list[str]:
    """The aws CLI v1 of this Python environment (`.venv/bin/aws`, else `python -m awscli`)."""
    exe = Path(sys.executable).parent / "aws"
    if exe.is_file():
        return [sys.executable, str(exe)]
    return [sys.executable, "-m", "awscli"]


def aws_cli_env() -> dict:
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_PAGER="",
    )
    return env
