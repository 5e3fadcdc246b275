"""TLS termination: certificates from PEM, SNI selection, server contexts.

- `parse_certificate(cert_pem, key_pem)` checks a certificate and its key (both parse, the key
  belongs to the leaf) and reads the names it is valid for; `CertificateError` says what is
  wrong, in words a user can act on.
- `CertificateSelector` (pure) picks what to serve for an SNI name: an exact name first, then a
  one-label wildcard (`*.example.com`), else the default (the listener's first certificate), as
  ELB does.
- `TLSContexts` holds one `ssl.SSLContext` per certificate and switches the handshake to the
  right one from the SNI callback of the listener's `SNIFront`. Building contexts reads files
  (the ssl module only loads keys from paths), so `build_contexts` and `SNIFront(...)` are meant
  for `asyncio.to_thread`.
- `self_signed(name)` makes a throwaway certificate (the default one an Ingress controller
  serves when nothing else matches).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import ssl
import tempfile
from dataclasses import dataclass
from typing import Generic, Iterable, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .model import Certificate

V = TypeVar("V")


class CertificateError(ValueError):
    pass


@dataclass(frozen=True)
class CertificateInfo:
    names: tuple[str, ...]          # DNS names it is valid for (lower case)
    not_before: datetime.datetime
    not_after: datetime.datetime
    subject: str

    def expired(self, now: datetime.datetime | None = None) -> bool:
        now = now or datetime.datetime.now(datetime.timezone.utc)
        return now > self.not_after or now < self.not_before


def parse_certificate(cert_pem: str | bytes, key_pem: str | bytes) -> CertificateInfo:
    cert_b = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    key_b = key_pem.encode() if isinstance(key_pem, str) else key_pem
    if b"-----BEGIN CERTIFICATE-----" not in cert_b:
        raise CertificateError("tls.crt holds no PEM certificate")
    try:
        chain = x509.load_pem_x509_certificates(cert_b)
    except ValueError as e:
        raise CertificateError(f"tls.crt is not a valid PEM certificate: {e}") from None
    try:
        key = serialization.load_pem_private_key(key_b, password=None)
    except (ValueError, TypeError) as e:
        raise CertificateError(f"tls.key is not a valid unencrypted PEM private key: {e}") from None
    leaf = chain[0]
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if key.public_key().public_bytes(enc, pub) != leaf.public_key().public_bytes(enc, pub):
        raise CertificateError("tls.key does not match the certificate in tls.crt")
    names: list[str] = []
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        pass
    if not names:
        names = [str(a.value).lower() for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return CertificateInfo(tuple(names), leaf.not_valid_before_utc, leaf.not_valid_after_utc,
                           leaf.subject.rfc4514_string())


class CertificateSelector(Generic[V]):
    """Exact SNI name, then a wildcard for its parent domain, then the default (pure)."""

    def __init__(self, entries: Iterable[tuple[Iterable[str], V]], default: V) -> None:
        self.default = default
        self.exact: dict[str, V] = {}
        self.wildcard: dict[str, V] = {}
        for names, value in entries:
            for n in names:
                n = n.lower().rstrip(".")
                table = self.wildcard if n.startswith("*.") else self.exact
                key = n[2:] if n.startswith("*.") else n
                table.setdefault(key, value)  # the first certificate naming a host wins

    def select(self, server_name: str | None) -> V:
        if not server_name:
            return self.default
        name = server_name.lower().rstrip(".")
        found = self.exact.get(name)
        if found is not None:
            return found
        _, dot, parent = name.partition(".")
        if dot:
            found = self.wildcard.get(parent)
            if found is not None:
                return found
        return self.default


def _fingerprint(c: Certificate) -> str:
    return hashlib.sha256((c.cert_pem + "\0" + c.key_pem).encode()).hexdigest()


def server_context(cert_pem: str, key_pem: str) -> ssl.SSLContext:
    """A server context for one certificate (blocking: writes and removes a private temp file)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="kubelite-lb-") as d:
        path = os.path.join(d, "pair.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key_pem.rstrip() + "\n" + cert_pem.rstrip() + "\n")
        try:
            ctx.load_cert_chain(path)
        except ssl.SSLError as e:
            raise CertificateError(f"the certificate could not be loaded: {e}") from None
    return ctx


class TLSContexts:
    """The contexts of one listener's certificates and the selector among them."""

    def __init__(self, certificates: tuple[Certificate, ...], contexts: dict[str, ssl.SSLContext]) -> None:
        if not certificates:
            raise CertificateError("a TLS listener needs at least one certificate")
        self.certificates = certificates
        self.by_fingerprint = contexts
        entries = []
        for c in certificates:
            names = c.hosts or parse_certificate(c.cert_pem, c.key_pem).names
            entries.append((names, contexts[_fingerprint(c)]))
        self.selector: CertificateSelector[ssl.SSLContext] = CertificateSelector(
            entries, contexts[_fingerprint(certificates[0])])


class SNIFront:
    """The context a TLS listener is bound with. OpenSSL calls its SNI callback for every
    ClientHello (server_name None without SNI), which moves the handshake to the context of the
    current certificates: swapping certificates is `update`, never a rebind."""

    def __init__(self, contexts: TLSContexts) -> None:
        self.current = contexts
        c = contexts.certificates[0]
        self.context = server_context(c.cert_pem, c.key_pem)
        self.context.sni_callback = self._on_sni

    def update(self, contexts: TLSContexts) -> None:
        self.current = contexts

    def _on_sni(self, sslobj: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
        sslobj.context = self.current.selector.select(server_name)
        return None


def build_contexts(certificates: tuple[Certificate, ...],
                   reuse: dict[str, ssl.SSLContext] | None = None) -> TLSContexts:
    """Contexts for a listener's certificates, reusing the ones already built (blocking)."""
    contexts: dict[str, ssl.SSLContext] = {}
    for c in certificates:
        fp = _fingerprint(c)
        if fp in contexts:
            continue
        parse_certificate(c.cert_pem, c.key_pem)
        contexts[fp] = (reuse or {}).get(fp) or server_context(c.cert_pem, c.key_pem)
    return TLSContexts(certificates, contexts)


def self_signed(common_name: str, *, days: int = 365, hosts: tuple[str, ...] = ()) -> tuple[str, str]:
    """A self-signed P-256 certificate and key, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days)))
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]),
                                        critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())
