"""Fixtures for the client tests: a throwaway PKI (CA, server and client certificates)."""

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject_cn, key, issuer_cert=None, issuer_key=None, *, ca=False, server=False, org=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    name = x509.Name(attrs)
    b = (x509.CertificateBuilder().subject_name(name)
         .issuer_name(issuer_cert.subject if issuer_cert else name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("kubernetes.default.svc"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture(scope="session")
def pki():
    ca_key = _key()
    ca = _cert("kubelite-test-ca", ca_key, ca=True)
    srv_key = _key()
    srv = _cert("kube-apiserver", srv_key, ca, ca_key, server=True)
    cli_key = _key()
    cli = _cert("admin", cli_key, ca, ca_key, org="system:masters")
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    return {"ca": pem(ca), "server_cert": pem(srv), "server_key": _pem_key(srv_key),
            "client_cert": pem(cli), "client_key": _pem_key(cli_key)}
