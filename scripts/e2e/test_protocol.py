"""The query protocol on the wire, checked with raw HTTP (no SDK in between)."""

import re
import urllib.parse
import xml.etree.ElementTree as ET

from support import http_request

NS = "{http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/}"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def post(endpoint, params):
    body = urllib.parse.urlencode(params).encode()
    return http_request("POST", endpoint + "/", body=body, headers=FORM)


def local(tag: str) -> str:
    return tag.split("}", 1)[-1]


def parse_error(status, headers, body):
    root = ET.fromstring(body)
    assert local(root.tag) == "ErrorResponse", body
    err = [c for c in root if local(c.tag) == "Error"]
    assert len(err) == 1, body
    fields = {local(c.tag): (c.text or "") for c in err[0]}
    request_id = [c.text for c in root if local(c.tag) == "RequestId"]
    return fields, request_id


def test_missing_action_is_sender_error(endpoint):
    """A request without Action gets HTTP 400 <ErrorResponse><Error><Type>Sender</Type><Code>MissingAction</Code>."""
    status, headers, body = post(endpoint, {"Version": "2015-12-01"})
    assert status == 400
    fields, request_id = parse_error(status, headers, body)
    assert fields["Type"] == "Sender"
    assert fields["Code"] == "MissingAction"
    assert fields.get("Message")
    assert request_id and request_id[0]
    assert headers.get("x-amzn-RequestId") == request_id[0]


def test_unknown_action_is_invalid_action(endpoint):
    """An unknown Action gets HTTP 400 InvalidAction (Type Sender) in the query-protocol error document."""
    status, headers, body = post(endpoint, {"Action": "DescribeUnicorns", "Version": "2015-12-01"})
    assert status == 400
    fields, request_id = parse_error(status, headers, body)
    assert fields["Type"] == "Sender"
    assert fields["Code"] == "InvalidAction"
    assert request_id and UUID_RE.match(request_id[0])
    assert headers.get("x-amzn-RequestId") == request_id[0]
    assert headers.get("Content-Type", "").startswith("text/xml")


def test_success_envelope_and_request_id(endpoint):
    """A success is <OpResponse xmlns=2015-12-01><OpResult>…</OpResult><ResponseMetadata><RequestId>, with x-amzn-RequestId."""
    status, headers, body = post(endpoint, {"Action": "DescribeLoadBalancers", "Version": "2015-12-01"})
    assert status == 200, body
    root = ET.fromstring(body)
    assert root.tag == NS + "DescribeLoadBalancersResponse"
    result = root.find(NS + "DescribeLoadBalancersResult")
    assert result is not None
    lbs = result.find(NS + "LoadBalancers")
    assert lbs is not None and list(lbs) == []
    rid = root.find(f"{NS}ResponseMetadata/{NS}RequestId")
    assert rid is not None and UUID_RE.match(rid.text)
    assert headers.get("x-amzn-RequestId") == rid.text


def test_empty_output_still_has_result_element(endpoint):
    """An operation with an empty output (DeleteLoadBalancer of an unknown ARN, which succeeds) still sends <DeleteLoadBalancerResult/>."""
    arn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/gone/0123456789abcdef"
    status, _, body = post(endpoint, {"Action": "DeleteLoadBalancer", "Version": "2015-12-01", "LoadBalancerArn": arn})
    assert status == 200, body
    root = ET.fromstring(body)
    assert root.tag == NS + "DeleteLoadBalancerResponse"
    assert root.find(NS + "DeleteLoadBalancerResult") is not None


def test_get_query_string_is_accepted(endpoint):
    """The same parameters work as a GET query string (GET /?Action=DescribeLoadBalancers&Version=2015-12-01)."""
    q = urllib.parse.urlencode({"Action": "DescribeLoadBalancers", "Version": "2015-12-01"})
    status, _, body = http_request("GET", f"{endpoint}/?{q}")
    assert status == 200, body
    assert ET.fromstring(body).tag == NS + "DescribeLoadBalancersResponse"


def test_modeled_error_code_and_status(endpoint):
    """A modeled error (LoadBalancerNotFound) is HTTP 400, Type Sender, Code without the Exception suffix."""
    status, headers, body = post(
        endpoint, {"Action": "DescribeLoadBalancers", "Version": "2015-12-01", "Names.member.1": "does-not-exist"}
    )
    assert status == 400, body
    fields, request_id = parse_error(status, headers, body)
    assert fields["Code"] == "LoadBalancerNotFound"
    assert fields["Type"] == "Sender"
    assert request_id and headers.get("x-amzn-RequestId") == request_id[0]


def test_empty_list_parameter_means_no_filter(endpoint):
    """`Names=` (botocore's empty list) parses as [] and DescribeLoadBalancers answers like no filter."""
    status, _, body = post(endpoint, {"Action": "DescribeLoadBalancers", "Version": "2015-12-01", "Names": ""})
    assert status == 200, body


def test_health_and_reset_endpoints(endpoint):
    """The test-support endpoints answer: GET /_localelb/health 200, POST /_localelb/reset 200."""
    status, _, _ = http_request("GET", endpoint + "/_localelb/health")
    assert status == 200
    status, _, _ = http_request("POST", endpoint + "/_localelb/reset", body=b"")
    assert status == 200


def test_boto3_maps_error_code_to_modeled_exception(elbv2):
    """botocore raises LoadBalancerNotFoundException for <Code>LoadBalancerNotFound</Code>."""
    try:
        elbv2.describe_load_balancers(Names=["does-not-exist"])
    except elbv2.exceptions.LoadBalancerNotFoundException as e:
        assert e.response["Error"]["Code"] == "LoadBalancerNotFound"
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    else:
        raise AssertionError("expected LoadBalancerNotFoundException")
