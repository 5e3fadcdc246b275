import base64
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization

from kubelite.client import pki
from kubelite.bootstrap import tokens
from kubelite.bootstrap.tokens import BootstrapToken, InvalidToken, Token

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_generate_and_parse():
    t = Token.generate()
    assert tokens.TOKEN_RE.match(str(t))
    assert Token.parse(str(t)) == t
    assert t.secret_name == f"bootstrap-token-{t.id}" and t.username == f"system:bootstrap:{t.id}"
    assert "secret" not in repr(t) or t.secret not in repr(t)


@pytest.mark.parametrize("bad", ["", "abcdef", "abcdef.0123456789abcde", "ABCDEF.0123456789abcdef",
                                 "abcdef.0123456789abcdef0", "abcde.0123456789abcdefg", "abc_ef.0123456789abcdef"])
def test_malformed_tokens_are_refused_without_echoing_the_secret(bad):
    with pytest.raises(InvalidToken) as e:
        Token.parse(bad)
    assert "0123456789" not in str(e.value)


@pytest.mark.parametrize("text,want", [
    ("24h", timedelta(hours=24)), ("90m", timedelta(minutes=90)), ("1h30m", timedelta(minutes=90)),
    ("3600s", timedelta(hours=1)), ("1.5h", timedelta(minutes=90)), ("0", None), ("0s", None),
], ids=lambda v: str(v))
def test_parse_ttl(text, want):
    assert tokens.parse_ttl(text) == want


@pytest.mark.parametrize("bad", ["", "h", "24", "1d", "-1h", "1h x"])
def test_parse_ttl_refuses(bad):
    with pytest.raises(InvalidToken):
        tokens.parse_ttl(bad)


@pytest.mark.parametrize("secs,want", [(0, "<invalid>"), (-5, "<invalid>"), (30, "30s"), (90, "1m"),
                                       (3 * 3600 + 5, "3h"), (86400 * 3, "3d")])
def test_format_ttl(secs, want):
    assert tokens.format_ttl(timedelta(seconds=secs)) == want


def test_secret_round_trip():
    bt = tokens.new_token(ttl=timedelta(hours=2), description="rack 3", now=NOW)
    s = bt.to_secret()
    assert s["type"] == "bootstrap.kubernetes.io/token"
    assert s["metadata"] == {"name": f"bootstrap-token-{bt.token.id}", "namespace": "kube-system"}
    data = tokens.secret_data(s)
    assert data["expiration"] == "2026-01-02T05:04:05Z"
    assert data["usage-bootstrap-authentication"] == data["usage-bootstrap-signing"] == "true"
    assert data["auth-extra-groups"] == tokens.DEFAULT_EXTRA_GROUP
    back = BootstrapToken.from_secret(s)
    assert back.token == bt.token and back.expiration == bt.expiration and back.description == "rack 3"
    assert not back.expired(NOW) and back.expired(NOW + timedelta(hours=2))
    never = tokens.new_token(ttl=None, now=NOW)
    assert "expiration" not in tokens.secret_data(never.to_secret())
    assert not BootstrapToken.from_secret(never.to_secret()).expired(NOW + timedelta(days=3650))


def test_string_data_is_read_too():
    t = Token.generate()
    s = {"type": tokens.SECRET_TYPE, "metadata": {"name": t.secret_name},
         "stringData": {"token-id": t.id, "token-secret": t.secret}}
    assert BootstrapToken.from_secret(s).token == t


@pytest.mark.parametrize("mutate,msg", [
    (lambda s: s.update(type="Opaque"), "not of type"),
    (lambda s: s["metadata"].update(name="bootstrap-token-zzzzzz"), "does not match"),
    (lambda s: s["data"].update({"auth-extra-groups": base64.b64encode(b"system:masters").decode()}),
     "must start with system:bootstrappers:"),
    (lambda s: s["data"].update(expiration=base64.b64encode(b"tomorrow").decode()), "unparseable"),
])
def test_bad_secrets(mutate, msg):
    s = tokens.new_token(now=NOW).to_secret()
    mutate(s)
    with pytest.raises(InvalidToken, match=msg):
        BootstrapToken.from_secret(s)


def test_extra_groups_must_be_bootstrappers_subgroups():
    with pytest.raises(InvalidToken):
        tokens.new_token(groups=("system:masters",))


def test_detached_signature():
    t = Token.parse("abcdef.0123456789abcdef")
    content = "apiVersion: v1\nkind: Config\n"
    sig = tokens.sign_detached(content, t)
    header, empty, mac = sig.split(".")
    assert empty == ""
    assert base64.urlsafe_b64decode(header + "==") == b'{"alg":"HS256","kid":"abcdef"}'
    assert tokens.verify_detached(sig, content, t)
    assert not tokens.verify_detached(sig, content + " ", t)
    assert not tokens.verify_detached(sig, content, Token("abcdef", "0" * 16))
    assert not tokens.verify_detached(sig, content, Token("zzzzzz", t.secret))  # kid mismatch
    assert not tokens.verify_detached("garbage", content, t)
    none_alg = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    assert not tokens.verify_detached(f"{none_alg}..", content, t)


def test_ca_cert_hash_is_the_spki_sha256():
    ca = pki.new_ca("test-ca")
    spki = ca.cert.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    want = "sha256:" + hashlib.sha256(spki).hexdigest()
    assert tokens.ca_cert_hash(ca.cert) == want == tokens.ca_cert_hash(ca.cert_pem)
    assert tokens.normalize_ca_hash(want.upper().replace("SHA256:", "sha256:")) == want
    assert tokens.normalize_ca_hash(want[7:]) == want
    with pytest.raises(InvalidToken):
        tokens.normalize_ca_hash("sha1:abc")


def test_full_token():
    t = Token.generate()
    h = "sha256:" + "ab" * 32
    full = tokens.full_token(t, h)
    assert full.startswith("K10") and full.endswith(f"::{t}")
    assert tokens.parse_join_token(full) == (t, [h])
    assert tokens.parse_join_token(str(t)) == (t, [])
