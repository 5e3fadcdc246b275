"""certificates.k8s.io/v1: CertificateSigningRequest (`pkg/apis/certificates/validation/validation.go`)."""

from __future__ import annotations

import base64
import binascii

from kubelite.machinery.errors import FieldError, duplicate, invalid, not_supported, required

from . import gotext, names
from .meta import index, list_of, obj_of, text

USAGES = ("any", "cert sign", "client auth", "code signing", "content commitment", "crl sign", "data encipherment",
          "decipher only", "digital signature", "email protection", "encipher only", "ipsec end system",
          "ipsec tunnel", "ipsec user", "key agreement", "key encipherment", "microsoft sgc", "netscape sgc",
          "ocsp signing", "s/mime", "server auth", "signing", "timestamping")
CONDITION_TYPES = ("Approved", "Denied", "Failed")


def _request_error(req: object) -> str | None:
    if not isinstance(req, str) or not req:
        return "PEM block type must be CERTIFICATE REQUEST"
    try:
        pem = base64.b64decode(req, validate=True).decode("ascii", "replace")
    except (binascii.Error, ValueError):
        return "PEM block type must be CERTIFICATE REQUEST"
    if "-----BEGIN CERTIFICATE REQUEST-----" not in pem and "-----BEGIN NEW CERTIFICATE REQUEST-----" not in pem:
        return "PEM block type must be CERTIFICATE REQUEST"
    return None


def _signer_name(name: str, path: str) -> list[FieldError]:
    if not name:
        return [required(path)]
    domain, sep, rest = name.partition("/")
    if not sep or not rest or names.is_dns1123_subdomain(domain):
        return [invalid(path, name, "must be a fully qualified domain and path of the form "
                                    "'example.com/signer-name'")]
    return []


def validate_csr(csr: dict) -> list[FieldError]:
    spec = obj_of(csr.get("spec"))
    errs: list[FieldError] = []
    err = _request_error(spec.get("request"))
    if err:
        errs.append(invalid("spec.request", gotext.GoValue("[]byte{...}"), err))
    usages = list_of(spec.get("usages"))
    if not usages:
        errs.append(required("spec.usages"))
    seen: set[str] = set()
    for i, u in enumerate(text(u) for u in usages):
        if u not in USAGES:
            errs.append(not_supported(index("spec.usages", i), u, USAGES))
        if u in seen:
            errs.append(duplicate(index("spec.usages", i), u))
        seen.add(u)
    signer = text(spec.get("signerName"))
    if signer == "kubernetes.io/legacy-unknown":
        errs.append(invalid("spec.signerName", signer, "the legacy signerName is not allowed via this API version"))
    else:
        errs += _signer_name(signer, "spec.signerName")
    exp = spec.get("expirationSeconds")
    if isinstance(exp, int) and exp < 600:
        errs.append(invalid("spec.expirationSeconds", exp, "may not specify a duration less than 600 seconds "
                                                           "(10 minutes)"))
    errs += _conditions(csr)
    return errs


def _conditions(csr: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    approved = denied = False
    for i, c in enumerate(list_of(obj_of(csr.get("status")).get("conditions"))):
        c, p = obj_of(c), index("status.conditions", i)
        t = text(c.get("type"))
        if not t:
            errs.append(required(f"{p}.type"))
        if t in CONDITION_TYPES:
            if t in seen:
                errs.append(duplicate(f"{p}.type", t))
            seen.add(t)
            if c.get("status") not in (None, "", "True"):
                errs.append(not_supported(f"{p}.status", c.get("status"), ("True",)))
        approved |= t == "Approved"
        denied |= t == "Denied"
    if approved and denied:
        errs.append(invalid("status.conditions",
                            gotext.GoValue("[]certificates.CertificateSigningRequestCondition{...}"),
                            "Approved and Denied conditions are mutually exclusive"))
    return errs


def validate_csr_status(new: dict, old: dict) -> list[FieldError]:
    return _conditions(new)
