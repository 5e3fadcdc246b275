"""EKS tokens as the real `aws eks get-token` makes them (awscli's TokenGenerator), verified
offline: bound to the cluster name, 15 minutes, tampering and unknown keys rejected."""

import base64
from datetime import datetime, timedelta, timezone

import pytest

from kubelite.cloud.api.errors import AuthenticationFailure
from kubelite.cloud.eks import token

pytest.importorskip("awscli")
import botocore.session  # noqa: E402
from awscli.customizations.eks.get_token import STSClientFactory, TokenGenerator  # noqa: E402

AKID, SECRET = "AKIAEXAMPLE000000001", "s3cret"


class FakeIAM:
    def secret_for(self, akid):
        return SECRET if akid == AKID else None

    def principal_for_key(self, akid, security_token=""):
        if security_token not in ("", "good-token"):
            raise AuthenticationFailure("unknown-key", "The security token included in the request is invalid.")
        return ("principal", akid, security_token)


def cli_token(cluster, *, session_token=None, region="us-east-1"):
    s = botocore.session.Session()
    s.set_credentials(AKID, SECRET, session_token)
    sts = STSClientFactory(s).get_sts_client(region_name=region)
    return TokenGenerator(sts).get_token(cluster)


def now():
    return datetime.now(timezone.utc)


def test_cli_token_verifies_for_its_cluster_only():
    t = cli_token("demo")
    assert token.verify(t, "demo", FakeIAM(), now=now(), local_hosts=set()) == ("principal", AKID, "")
    with pytest.raises(token.TokenError, match="wrong cluster"):
        token.verify(t, "other", FakeIAM(), now=now(), local_hosts=set())


def test_token_lives_15_minutes_not_60_seconds():
    t = cli_token("demo")
    token.verify(t, "demo", FakeIAM(), now=now() + timedelta(minutes=14), local_hosts=set())
    with pytest.raises(token.TokenError, match="expired"):
        token.verify(t, "demo", FakeIAM(), now=now() + timedelta(minutes=16), local_hosts=set())


def test_session_token_is_checked():
    t = cli_token("demo", session_token="good-token")
    assert token.verify(t, "demo", FakeIAM(), now=now(), local_hosts=set())[2] == "good-token"
    bad = cli_token("demo", session_token="bad-token")
    with pytest.raises(token.TokenError, match="invalid"):
        token.verify(bad, "demo", FakeIAM(), now=now(), local_hosts=set())


def test_local_endpoint_host_only_when_allowed():
    t = token.mint("demo", access_key_id=AKID, secret=SECRET, region="us-east-1", now=now(),
                   host="127.0.0.1:4566")
    assert token.decode(t).startswith("http://127.0.0.1:4566/?")
    token.verify(t, "demo", FakeIAM(), now=now(), local_hosts={"127.0.0.1:4566"})
    with pytest.raises(token.TokenError, match="hostname"):
        token.verify(t, "demo", FakeIAM(), now=now(), local_hosts=set())


def _reencode(url):
    return token.PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@pytest.mark.parametrize("mutate,match", [
    (lambda u: u.replace("GetCallerIdentity", "AssumeRole"), "action"),
    (lambda u: u + "&Foo=bar", "non-allowlisted"),
    (lambda u: u + "&Action=GetCallerIdentity", "duplicate"),
    (lambda u: u.replace("https://sts.us-east-1.amazonaws.com/", "https://evil.example.com/"), "hostname"),
    (lambda u: u.replace("https://", "http://"), "scheme"),
    (lambda u: u.replace("X-Amz-Expires=60", "X-Amz-Expires=3600"), "out of range"),
    (lambda u: u.replace("x-k8s-aws-id", "x-other"), "did not sign"),
    (lambda u: u[:-4] + "0000", "signature"),
    (lambda u: u.replace(AKID, "AKIAUNKNOWN000000000"), "invalid"),
], ids=["action", "param", "dup", "host", "scheme", "expires", "header", "sig", "key"])
def test_tampered_tokens_are_rejected(mutate, match):
    url = token.decode(cli_token("demo"))
    with pytest.raises(token.TokenError, match=match):
        token.verify(_reencode(mutate(url)), "demo", FakeIAM(), now=now(), local_hosts=set())


@pytest.mark.parametrize("bad", ["", "k8s-aws-v2.abc", "k8s-aws-v1.%%%", "k8s-aws-v1." + "A" * 5000])
def test_garbage(bad):
    with pytest.raises(token.TokenError):
        token.verify(bad, "demo", FakeIAM(), now=now(), local_hosts=set())


def test_minted_token_matches_the_cli_shape():
    t = token.mint("demo", access_key_id=AKID, secret=SECRET, region="us-east-1", now=now())
    assert token.verify(t, "demo", FakeIAM(), now=now(), local_hosts=set())[1] == AKID
