"""SigV4 verification against what botocore really signs (header-signed requests and presigned
URLs), and the failures: wrong secret, unknown key, expired or skewed, tampered."""

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from kubelite.cloud import sigv4

botocore = pytest.importorskip("botocore")
from botocore.auth import SigV4Auth, SigV4QueryAuth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

AKID, SECRET = "AKIAEXAMPLE000000001", "secret/with+chars"


def now():
    return datetime.now(timezone.utc)


def secrets(akid):
    return {AKID: SECRET, "ASIATEMP000000000001": "temp"}.get(akid)


def botocore_signed(method, url, body=b"", headers=None, service="eks", region="us-east-1", token=None):
    """Sign as botocore does, now (botocore reads the clock itself)."""
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    auth = SigV4Auth(Credentials(AKID if not token else "ASIATEMP000000000001", SECRET if not token else "temp",
                                 token), service, region)
    auth.add_auth(req)
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    headers = {"Host": parts.netloc, **dict(prepared.headers)}  # the HTTP client adds Host
    return parts.path, parts.query, headers, prepared.body or b""


@pytest.mark.parametrize("method,url,body,ctype", [
    ("GET", "http://127.0.0.1:4566/clusters/demo", b"", None),
    ("POST", "http://127.0.0.1:4566/clusters", b'{"name": "demo"}', "application/json"),
    ("GET", "http://127.0.0.1:4566/clusters/demo/access-entries/arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fdev%2Fr",
     b"", None),
    ("DELETE", "http://127.0.0.1:4566/tags/arn%3Aaws%3Aeks%3Aus-east-1%3A000000000000%3Acluster%2Fdemo"
               "?tagKeys=a&tagKeys=b%20c", b"", None),
    ("POST", "http://127.0.0.1:4566/", b"Action=GetCallerIdentity&Version=2011-06-15",
     "application/x-www-form-urlencoded; charset=utf-8"),
], ids=["get", "post-json", "arn-in-path", "repeated-query", "form"])
def test_verifies_what_botocore_signs(method, url, body, ctype):
    path, query, headers, body = botocore_signed(method, url, body, {"Content-Type": ctype} if ctype else None)
    v = sigv4.verify_request(method, path, query, headers, body, secrets, now=now())
    assert v.scope.access_key_id == AKID
    assert (v.scope.region, v.scope.service) == ("us-east-1", "eks")


def test_session_token_is_reported():
    path, query, headers, body = botocore_signed("GET", "http://127.0.0.1:4566/clusters", token="tok")
    v = sigv4.verify_request("GET", path, query, headers, body, secrets, now=now())
    assert v.security_token == "tok"


@pytest.mark.parametrize("change,kind", [
    (lambda h, b, q: (h, b + b"x", q), sigv4.MISMATCH),
    (lambda h, b, q: ({**h, "Host": "127.0.0.1:9999"}, b, q), sigv4.MISMATCH),
    (lambda h, b, q: (h, b, q + "&extra=1"), sigv4.MISMATCH),
    (lambda h, b, q: ({k: v.replace(AKID, "AKIAUNKNOWN000000000") for k, v in h.items()}, b, q),
     sigv4.UNKNOWN_KEY),
    (lambda h, b, q: ({k: v for k, v in h.items() if k != "Authorization"}, b, q), sigv4.MISSING),
    (lambda h, b, q: ({**h, "Authorization": "AWS4-HMAC-SHA256 Credential=x"}, b, q), sigv4.MALFORMED),
], ids=["body", "host", "query", "unknown-key", "missing", "malformed"])
def test_tampering_is_detected(change, kind):
    path, query, headers, body = botocore_signed("POST", "http://127.0.0.1:4566/clusters?x=1", b"{}",
                                                 {"Content-Type": "application/json"})
    headers, body, query = change(headers, body, query)
    with pytest.raises(sigv4.SignatureError) as e:
        sigv4.verify_request("POST", path, query, headers, body, secrets, now=now())
    assert e.value.kind == kind


@pytest.mark.parametrize("offset", [timedelta(minutes=16), timedelta(minutes=-16)], ids=["old", "future"])
def test_skew_beyond_15_minutes_is_expired(offset):
    path, query, headers, body = botocore_signed("GET", "http://127.0.0.1:4566/clusters")
    t = now()
    with pytest.raises(sigv4.SignatureError) as e:
        sigv4.verify_request("GET", path, query, headers, body, secrets, now=t + offset)
    assert e.value.kind == sigv4.EXPIRED
    sigv4.verify_request("GET", path, query, headers, body, secrets, now=t + offset * 14 / 16)


def test_presigned_url_from_botocore():
    req = AWSRequest(method="GET", url="https://sts.us-east-1.amazonaws.com/",
                     params={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
                     headers={"x-k8s-aws-id": "demo"})
    SigV4QueryAuth(Credentials(AKID, SECRET), "sts", "us-east-1", expires=60).add_auth(req)
    t = now()
    parts = urlsplit(req.prepare().url)
    headers = {"host": parts.netloc, "x-k8s-aws-id": "demo"}
    v = sigv4.verify_presigned("GET", "/", parts.query, headers, secrets, now=t + timedelta(seconds=30))
    assert v.scope.service == "sts"
    with pytest.raises(sigv4.SignatureError) as e:
        sigv4.verify_presigned("GET", "/", parts.query, {**headers, "x-k8s-aws-id": "other"}, secrets, now=now())
    assert e.value.kind == sigv4.MISMATCH
    with pytest.raises(sigv4.SignatureError) as e:
        sigv4.verify_presigned("GET", "/", parts.query, headers, secrets, now=t + timedelta(seconds=65))
    assert e.value.kind == sigv4.EXPIRED


def test_our_signer_round_trips():
    h = sigv4.sign_request("POST", "/clusters", "", {"Host": "127.0.0.1:4566", "Content-Type": "application/json"},
                           b"{}", access_key_id=AKID, secret=SECRET, region="eu-west-1", service="eks", now=now())
    headers = {"Host": "127.0.0.1:4566", "Content-Type": "application/json", **h}
    v = sigv4.verify_request("POST", "/clusters", "", headers, b"{}", secrets, now=now())
    assert v.scope.region == "eu-west-1"


def test_canonical_uri_double_encodes():
    assert sigv4.canonical_uri("/tags/arn%3Aaws%3Aeks") == "/tags/arn%253Aaws%253Aeks"
    assert sigv4.decoded_path_segments("/c/a/arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fdev%2Fr") == \
        ["c", "a", "arn:aws:iam::1:role/dev/r"]
