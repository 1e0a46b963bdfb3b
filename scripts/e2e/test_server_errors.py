"""Errors that must not mislead: a data dir in use, a request for a service localelb does not serve, an
oversized body; and the one log line every API call writes."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from support import http_request, unique

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
SERVED = ("elasticloadbalancing (Version 2015-12-01)", "ec2 (Version 2016-11-15)")
LIMIT = 64 << 20


def post(endpoint, params, headers=None):
    body = urllib.parse.urlencode(params).encode()
    return http_request("POST", endpoint + "/", body=body, headers={**FORM, **(headers or {})})


def sigv4_for(service: str) -> dict:
    """An Authorization header whose credential scope names `service` (localelb reads, never verifies, it)."""
    scope = f"test/20260101/us-east-1/{service}/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=00"}


def error_fields(body: bytes) -> dict:
    root = ET.fromstring(body)
    assert root.tag.split("}")[-1] == "ErrorResponse", body
    err = next(c for c in root if c.tag.split("}")[-1] == "Error")
    return {c.tag.split("}")[-1]: (c.text or "") for c in err}


def names_the_served_services(message: str) -> bool:
    return all(s in message for s in SERVED)


def files_of(d: Path) -> dict:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(d.iterdir()) if p.is_file()}


# --------------------------------------------------------------------------------------------------
# A data dir in use
# --------------------------------------------------------------------------------------------------


def test_second_server_on_a_data_dir_in_use_is_refused(server_factory, client_factory, localelb_bin, tmp_path):
    """A second `serve` on a --data-dir a running server holds exits non-zero saying the dir is in use by another
    localelb (naming the dir, not calling it corrupt), touches no file there, and the first server's state stays."""
    data = tmp_path / "data"
    first = server_factory(data_dir=data)
    elbv2 = client_factory("elbv2", first.endpoint)
    name = unique("inuse")
    elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId="vpc-0a1b2c3d4e5f60718")
    before = files_of(data)

    p = subprocess.run(
        [str(localelb_bin), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert p.returncode != 0, (p.returncode, p.stdout, p.stderr)
    assert "in use by another localelb" in p.stderr and str(data) in p.stderr, p.stderr
    assert "corrupt" not in p.stderr and "move it away" not in p.stderr, p.stderr
    assert "listening on" not in p.stdout
    assert files_of(data) == before

    # The first server still answers from its state, and the state is on disk for the next start.
    assert elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupName"] == name
    first.stop()
    again = server_factory(data_dir=data)
    tgs = client_factory("elbv2", again.endpoint).describe_target_groups(Names=[name])["TargetGroups"]
    assert [t["TargetGroupName"] for t in tgs] == [name]


# --------------------------------------------------------------------------------------------------
# A service localelb does not serve
# --------------------------------------------------------------------------------------------------


def test_sigv4_scope_of_another_service_names_the_served_ones(endpoint):
    """A request signed for `s3` gets HTTP 400 InvalidAction (Sender) naming s3 and what localelb serves."""
    status, headers, body = http_request("GET", endpoint + "/my-bucket?list-type=2", headers=sigv4_for("s3"))
    assert status == 400, body
    f = error_fields(body)
    assert (f["Type"], f["Code"]) == ("Sender", "InvalidAction"), f
    assert '"s3"' in f["Message"] and names_the_served_services(f["Message"]), f
    assert headers.get("x-amzn-RequestId")


def test_unknown_version_names_the_served_ones(endpoint):
    """An ELBv2 action with a Version that is neither ELBv2's nor EC2's gets InvalidAction naming both versions."""
    status, _, body = post(endpoint, {"Action": "DescribeLoadBalancers", "Version": "2012-06-01"})
    assert status == 400, body
    f = error_fields(body)
    assert f["Code"] == "InvalidAction" and "2012-06-01" in f["Message"], f
    assert names_the_served_services(f["Message"]), f


def test_x_amz_target_is_answered_in_json_naming_the_served_ones(endpoint):
    """A JSON-protocol request (X-Amz-Target) gets a 400 UnknownOperationException in JSON with the served services."""
    status, headers, body = http_request(
        "POST", endpoint + "/", body=b"{}",
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"},
    )
    assert status == 400, body
    doc = json.loads(body)
    assert doc["__type"] == "UnknownOperationException" == headers.get("x-amzn-ErrorType"), (doc, dict(headers))
    assert "DynamoDB_20120810.ListTables" in doc["message"] and names_the_served_services(doc["message"]), doc


@pytest.mark.parametrize("service,call", [("sts", "get_caller_identity"), ("dynamodb", "list_tables")])
def test_sdk_clients_of_other_services_see_the_message(client_factory, endpoint, service, call):
    """boto3 clients of other services (query protocol: STS; JSON protocol: DynamoDB) surface the message."""
    client = client_factory(service, endpoint)
    with pytest.raises(ClientError) as e:
        getattr(client, call)()
    err = e.value.response["Error"]
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["Code"] in ("InvalidAction", "UnknownOperationException"), err
    assert names_the_served_services(err["Message"]), err


def test_served_requests_still_dispatch(endpoint):
    """The checks let ELBv2 (signed or not) and EC2 (by scope or by Version) through."""
    ok = [
        post(endpoint, {"Action": "DescribeLoadBalancers", "Version": "2015-12-01"}, sigv4_for("elasticloadbalancing")),
        post(endpoint, {"Action": "DescribeLoadBalancers"}),
        post(endpoint, {"Action": "DescribeVpcs", "Version": "2016-11-15"}),
        post(endpoint, {"Action": "DescribeVpcs"}, sigv4_for("ec2")),
    ]
    assert [s for s, _, _ in ok] == [200, 200, 200, 200], [b[:300] for _, _, b in ok]


# --------------------------------------------------------------------------------------------------
# Oversized bodies
# --------------------------------------------------------------------------------------------------


def test_oversized_body_is_413(endpoint):
    """A body declared larger than 64 MiB gets HTTP 413 RequestEntityTooLarge (Sender) at once, not MissingAction."""
    u = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest("POST", "/")
        conn.putheader("Content-Type", FORM["Content-Type"])
        conn.putheader("Content-Length", str(LIMIT + 1))
        conn.endheaders()  # no body: the answer must not wait for it
        r = conn.getresponse()
        status, body = r.status, r.read()
    finally:
        conn.close()
    assert status == 413, body
    f = error_fields(body)
    assert (f["Type"], f["Code"]) == ("Sender", "RequestEntityTooLarge"), f
    assert "64 MiB" in f["Message"], f


def test_large_body_under_the_limit_is_served(endpoint):
    """A 3 MiB form (over common 2 MiB framework defaults, under the limit) is read and answered normally."""
    status, _, body = post(endpoint, {"Action": "DescribeLoadBalancers", "Version": "2015-12-01", "Padding": "a" * (3 << 20)})
    assert status == 200, body[:300]


# --------------------------------------------------------------------------------------------------
# One log line per API call
# --------------------------------------------------------------------------------------------------

ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
FIELD_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def call_lines(server, offset: int, request_id: str) -> list[dict]:
    """The fields of the log lines written since `offset` that carry `request_id` (text or JSON format)."""
    with open(server.log_path, "rb") as f:
        f.seek(offset)
        text = ANSI_RE.sub("", f.read().decode("utf-8", "replace"))
    found = []
    for line in text.splitlines():
        if request_id not in line:
            continue
        if line.lstrip().startswith("{"):
            doc = json.loads(line)
            found.append({k: str(v) for k, v in {**doc, **doc.get("fields", {})}.items() if k != "fields"})
        else:
            found.append({k: v.strip('"') for k, v in FIELD_RE.findall(line)})
    return found


def one_call_line(server, offset, headers) -> dict:
    rid = headers.get("x-amzn-RequestId")
    assert rid
    lines = call_lines(server, offset, rid)
    assert len(lines) == 1, lines
    line = lines[0]
    assert float(line["ms"]) >= 0, line
    return line


def test_every_api_call_writes_one_log_line(server, endpoint):
    """Each call logs service, action, status, error code (errors only) and milliseconds, with its request id."""
    offset = server.log_size()
    _, h_ok, _ = post(endpoint, {"Action": "DescribeLoadBalancers", "Version": "2015-12-01"})
    _, h_err, _ = post(
        endpoint, {"Action": "DescribeLoadBalancers", "Version": "2015-12-01", "Names.member.1": unique("nolb")}
    )
    _, h_ec2, _ = post(endpoint, {"Action": "DescribeVpcs", "Version": "2016-11-15"})
    _, h_s3, _ = http_request("GET", endpoint + "/", headers=sigv4_for("s3"))

    ok = one_call_line(server, offset, h_ok)
    assert (ok["service"], ok["action"], ok["status"]) == ("elasticloadbalancing", "DescribeLoadBalancers", "200"), ok
    assert "error_code" not in ok, ok
    err = one_call_line(server, offset, h_err)
    assert (err["status"], err["error_code"]) == ("400", "LoadBalancerNotFound"), err
    ec2 = one_call_line(server, offset, h_ec2)
    assert (ec2["service"], ec2["action"], ec2["status"]) == ("ec2", "DescribeVpcs", "200"), ec2
    s3 = one_call_line(server, offset, h_s3)
    assert (s3["service"], s3["status"], s3["error_code"]) == ("s3", "400", "InvalidAction"), s3
