"""The pure parts of the certificate controllers: what a kubelet client request is, who is alive,
what gets signed, and how cluster-info is signed."""

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubelite.client import pki
from kubelite.bootstrap import tokens
from kubelite.controllers.certificates import csr as csrutil
from kubelite.controllers.certificates.approver import node_alive
from kubelite.controllers.certificates.bootstrapsigner import signed_data, signing_tokens
from kubelite.controllers.certificates.signer import certificate_duration, issue
from kubelite.machinery.timeutil import rfc3339, rfc3339_micro

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
KEY = ec.generate_private_key(ec.SECP256R1())


def request(cn="system:node:n1", orgs=("system:nodes",), sans=None) -> x509.CertificateSigningRequest:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    return b.sign(KEY, hashes.SHA256())


def csr_obj(req, usages=("digital signature", "client auth"), **spec):
    from cryptography.hazmat.primitives import serialization

    pem = req.public_bytes(serialization.Encoding.PEM)
    return {"metadata": {"name": "c"}, "spec": {"request": base64.b64encode(pem).decode(), "usages": list(usages),
                                                "signerName": csrutil.KUBELET_CLIENT_SIGNER, **spec}}


@pytest.mark.parametrize("kw,usages,problem", [
    ({}, ("digital signature", "client auth"), ""),
    ({}, ("digital signature", "key encipherment", "client auth"), ""),
    ({"orgs": ("system:masters",)}, ("client auth",), "organization"),
    ({"orgs": ("system:nodes", "system:masters")}, ("client auth",), "organization"),
    ({"cn": "admin"}, ("client auth",), "common name"),
    ({"cn": "system:node:"}, ("client auth",), "common name"),
    ({"sans": ["n1.example"]}, ("client auth",), "alternative names"),
    ({}, ("digital signature",), "client auth"),
    ({}, ("client auth", "server auth"), "server auth"),
], ids=["ok", "ok-rsa-usages", "masters", "extra-org", "cn", "empty-node", "sans", "no-client-auth",
        "server-auth"])
def test_kubelet_client_problem(kw, usages, problem):
    got = csrutil.kubelet_client_problem(request(**kw), list(usages))
    assert (problem in got and got) if problem else got == ""


def test_parse_request_rejects_garbage():
    with pytest.raises(csrutil.BadRequest):
        csrutil.parse_request({"spec": {"request": base64.b64encode(b"nope").decode()}})


def lease(renew: dt.datetime, duration=40):
    return {"spec": {"renewTime": rfc3339_micro(renew), "leaseDurationSeconds": duration}}


def node(ready: str, beat: dt.datetime):
    return {"status": {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": rfc3339(beat)}]}}


@pytest.mark.parametrize("n,lz,alive", [
    (None, None, False),
    (None, lease(NOW - dt.timedelta(seconds=5)), True),
    (None, lease(NOW - dt.timedelta(seconds=50)), False),
    (None, lease(NOW - dt.timedelta(seconds=5), duration=4), False),
    (node("True", NOW - dt.timedelta(seconds=10)), None, True),
    (node("True", NOW - dt.timedelta(seconds=100)), None, False),
    (node("Unknown", NOW - dt.timedelta(seconds=1)), None, False),
    (node("True", NOW - dt.timedelta(seconds=100)), lease(NOW - dt.timedelta(seconds=100)), False),
], ids=["nothing", "fresh-lease", "stale-lease", "short-lease", "ready", "old-heartbeat", "unknown", "both-old"])
def test_node_alive(n, lz, alive):
    got, why = node_alive(n, lz, NOW, 40.0)
    assert got is alive and (bool(why) is alive)


def test_issue_signs_with_the_cluster_ca():
    ca = pki.new_ca("ca")
    pem = issue(ca, csr_obj(request()), 3600 * 24)
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"
    assert cert.issuer == ca.cert.subject
    assert cert.public_key().public_numbers() == KEY.public_key().public_numbers()
    ca.cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(csrutil.BadRequest):
        issue(ca, csr_obj(request(orgs=("system:masters",))), 3600)


@pytest.mark.parametrize("configured,requested,want", [(3600, None, 3600), (3600, 1200, 1200), (3600, 7200, 3600),
                                                       (3600, 60, 600)])
def test_certificate_duration(configured, requested, want):
    assert certificate_duration(configured, requested) == dt.timedelta(seconds=want)


def test_cluster_info_signatures():
    good = tokens.new_token(ttl=dt.timedelta(hours=1), now=NOW)
    expired = tokens.new_token(ttl=dt.timedelta(minutes=1), now=NOW - dt.timedelta(hours=1))
    auth_only = tokens.new_token(ttl=None, usages=("authentication",))
    secrets = [good.to_secret(), expired.to_secret(), auth_only.to_secret(),
               {"type": "Opaque", "metadata": {"name": "bootstrap-token-aaaaaa"}}]
    valid = signing_tokens(secrets, NOW)
    assert [t.token for t in valid] == [good.token]
    data = signed_data({"kubeconfig": "k", "jws-kubeconfig-gone00": "old"}, valid)
    assert set(data) == {"kubeconfig", f"jws-kubeconfig-{good.token.id}"}
    assert tokens.verify_detached(data[f"jws-kubeconfig-{good.token.id}"], "k", good.token)
    assert signed_data({}, valid) == {}
