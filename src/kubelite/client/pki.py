"""The cluster's PKI: a CA, serving certificates with the right SANs, and client certificates
(CN = user, O = groups), kept as PEM files under the data dir and reused across restarts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_TEN_YEARS = dt.timedelta(days=3650)
_ONE_YEAR = dt.timedelta(days=365)


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class CertKey:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return _cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.key)

    def save(self, cert_path: Path, key_path: Path) -> None:
        write_private(key_path, self.key_pem)
        write_private(cert_path, self.cert_pem)
        os.chmod(cert_path, 0o644)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> "CertKey":
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cls(cert, key)


def new_ca(common_name: str) -> CertKey:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + _TEN_YEARS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return CertKey(cert, key)


def sign(ca: CertKey, *, common_name: str, organizations: list[str] | None = None, dns_names: list[str] = (),
         ip_addresses: list[str] = (), server: bool = False, client: bool = False,
         public_key=None, validity: dt.timedelta = _ONE_YEAR) -> CertKey:
    """Issue a certificate from `ca`. Without `public_key` a new key pair is made."""
    key = None
    if public_key is None:
        key = ec.generate_private_key(ec.SECP256R1())
        public_key = key.public_key()
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations or []]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    now = dt.datetime.now(dt.timezone.utc)
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    b = (x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(ca.cert.subject)
         .public_key(public_key).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + validity)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                      crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False))
    if usages:
        b = b.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ip_addresses]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = b.sign(ca.key, hashes.SHA256())
    return CertKey(cert, key)  # type: ignore[arg-type]


def cert_sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(ext.get_values_for_type(x509.DNSName)), {str(i) for i in ext.get_values_for_type(x509.IPAddress)}


def load_or_create_ca(dir_: Path, name: str, common_name: str) -> CertKey:
    c, k = dir_ / f"{name}.crt", dir_ / f"{name}.key"
    if c.exists() and k.exists():
        return CertKey.load(c, k)
    ca = new_ca(common_name)
    ca.save(c, k)
    return ca


def load_or_issue(dir_: Path, name: str, ca: CertKey, **kw) -> CertKey:
    """Reuse `<name>.crt` if it exists, was issued by `ca` and (for servers) covers the wanted SANs."""
    c, k = dir_ / f"{name}.crt", dir_ / f"{name}.key"
    if c.exists() and k.exists():
        ck = CertKey.load(c, k)
        dns, ips = cert_sans(ck.cert)
        fresh = ck.cert.not_valid_after_utc > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)
        if (ck.cert.issuer == ca.cert.subject and fresh and set(kw.get("dns_names", ())) <= dns
                and set(kw.get("ip_addresses", ())) <= ips):
            return ck
    ck = sign(ca, **kw)
    ck.save(c, k)
    return ck
