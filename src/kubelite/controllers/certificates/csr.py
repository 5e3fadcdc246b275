"""Pure helpers on CertificateSigningRequest objects (Kubernetes' `certificates` helpers)."""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.x509.oid import NameOID

KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
NODE_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
# Usages a kubelet client certificate may ask for (key encipherment is optional, RSA only).
KUBELET_CLIENT_USAGES = {"digital signature", "key encipherment", "client auth"}


class BadRequest(ValueError):
    """The request cannot be parsed or does not fit its signer."""


def parse_request(csr: dict) -> x509.CertificateSigningRequest:
    raw = (csr.get("spec") or {}).get("request") or ""
    try:
        pem = base64.b64decode(raw)
        req = x509.load_pem_x509_csr(pem)
    except ValueError as e:
        raise BadRequest(f"unable to parse the certificate request: {e}") from None
    return req


def condition(csr: dict, type_: str) -> dict | None:
    for c in (csr.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_ and c.get("status", "True") == "True":
            return c
    return None


def is_approved(csr: dict) -> bool:
    return condition(csr, "Approved") is not None


def is_denied(csr: dict) -> bool:
    return condition(csr, "Denied") is not None


def is_failed(csr: dict) -> bool:
    return condition(csr, "Failed") is not None


def has_certificate(csr: dict) -> bool:
    return bool((csr.get("status") or {}).get("certificate"))


def subject(req: x509.CertificateSigningRequest) -> tuple[str, list[str]]:
    cn = req.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    orgs = req.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return (str(cn[0].value) if cn else ""), [str(o.value) for o in orgs]


def kubelet_client_problem(req: x509.CertificateSigningRequest, usages: list[str]) -> str:
    """Why this request is not a valid kubelet client request ("" when it is)."""
    cn, orgs = subject(req)
    if orgs != [NODES_GROUP]:
        return f'subject organization is not "{NODES_GROUP}"'
    if not cn.startswith(NODE_PREFIX) or len(cn) == len(NODE_PREFIX):
        return f'subject common name does not begin with "{NODE_PREFIX}"'
    try:
        san = req.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        if len(list(san)):
            return "subject alternative names are not allowed"
    except x509.ExtensionNotFound:
        pass
    u = set(usages)
    if "client auth" not in u:
        return 'usages do not include "client auth"'
    extra = sorted(u - KUBELET_CLIENT_USAGES)
    if extra:
        return f"usages not allowed for a kubelet client certificate: {', '.join(extra)}"
    if not req.is_signature_valid:
        return "the request's signature is invalid"
    return ""


def node_name(req: x509.CertificateSigningRequest) -> str:
    cn, _ = subject(req)
    return cn[len(NODE_PREFIX):] if cn.startswith(NODE_PREFIX) else ""
