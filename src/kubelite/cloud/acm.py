"""ACM, the part load balancers need (json 1.1, `X-Amz-Target: CertificateManager.<Op>`):
ImportCertificate (PEM certificate, key and chain; re-import onto an existing ARN),
DescribeCertificate, ListCertificates, GetCertificate, DeleteCertificate. The ALB controller
serves an imported certificate where an Ingress names it (`alb.ingress.kubernetes.io/certificate-arn`),
an NLB where a Service does (`service.beta.kubernetes.io/aws-load-balancer-ssl-cert`).

Certificates live in table `acm-certificates`, key `<account>/<region>/<id>`; ARNs are
`arn:aws:acm:<region>:<account>:certificate/<uuid>`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable

from kubelite.lb import Certificate, CertificateError, parse_certificate

from .api import errors
from .api.errors import JSON, ServiceError
from .api.gateway import Call
from .api.protocols import Response, render_json
from .ids import Ids
from .state import State

TABLE = "acm-certificates"
TARGET_PREFIX = "CertificateManager"


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message, 400)


def _not_found(arn: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"Could not find certificate {arn}.", 400)


def _pem(value: Any, field: str) -> str:
    """A blob member: base64 of the PEM bytes (as botocore sends blobs in JSON)."""
    if not isinstance(value, str) or not value:
        raise _invalid(f"The {field} field is required")
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _invalid(f"The {field} field is not valid base64-encoded PEM") from None


class ACMService:
    name = "acm"
    protocol = JSON

    def __init__(self, state: State, iam: Any, ids: Ids, now: Callable[[], float]):
        self.state = state
        self.iam = iam
        self.ids = ids
        self.now = now
        self.ops = {n[3:]: getattr(self, n) for n in dir(self) if n.startswith("op_")}

    # -- lookups used by the load balancer controller ---------------------------------------------
    def certificate(self, arn: str) -> Certificate | None:
        parts = arn.split(":")
        if len(parts) != 6 or parts[2] != "acm":
            return None
        rec = self.state.get(TABLE, f"{parts[4]}/{parts[3]}/{parts[5].rsplit('/', 1)[-1]}")
        if rec is None:
            return None
        i = rec["internal"]
        return Certificate(arn, i["certificate"] + (i.get("chain") or ""), i["privateKey"])

    # -- the API -----------------------------------------------------------------------------------
    async def handle(self, call: Call) -> Response:
        op = self.ops.get(call.action)
        if op is None:
            raise errors.unknown_operation(f"Unknown operation {call.action}")
        if not self.iam.is_allowed(call.principal, f"acm:{call.action}", "*", call.region):
            raise errors.access_denied(f"User: {call.principal.arn} is not authorized to perform: "
                                       f"acm:{call.action}")
        result = await op(call, call.json_body())
        return render_json(result, call.request_id, content_type="application/x-amz-json-1.1")

    def _key(self, call: Call, arn: str) -> str:
        parts = arn.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "acm"] or not parts[5].startswith("certificate/"):
            raise ServiceError("InvalidArnException", f"String '{arn}' is not a valid ARN", 400)
        if parts[4] != call.principal.account or parts[3] != call.region:
            raise _not_found(arn)
        return f"{parts[4]}/{parts[3]}/{parts[5].split('/', 1)[1]}"

    def _get(self, call: Call, arn: Any) -> tuple[str, dict]:
        if not isinstance(arn, str) or not arn:
            raise _invalid("The CertificateArn field is required")
        key = self._key(call, arn)
        rec = self.state.get(TABLE, key)
        if rec is None:
            raise _not_found(arn)
        return key, rec

    async def op_ImportCertificate(self, call: Call, req: dict) -> dict:
        cert = _pem(req.get("Certificate"), "Certificate")
        key = _pem(req.get("PrivateKey"), "PrivateKey")
        chain = _pem(req["CertificateChain"], "CertificateChain") if req.get("CertificateChain") else ""
        try:
            info = parse_certificate(cert, key)
        except CertificateError as e:
            raise _invalid(f"The certificate or private key is not valid: {e}") from None
        if cert.count("-----BEGIN CERTIFICATE-----") > 1:
            raise _invalid("The certificate field contains more than one certificate. You can specify only one "
                           "certificate in this field.")
        arn = req.get("CertificateArn")
        if arn:
            k, rec = self._get(call, arn)
        else:
            cid = self.ids.uuid()
            arn = f"arn:aws:acm:{call.region}:{call.principal.account}:certificate/{cid}"
            k, rec = f"{call.principal.account}/{call.region}/{cid}", {"CertificateArn": arn}
        from cryptography import x509

        leaf = x509.load_pem_x509_certificate(cert.encode())
        now = self.now()
        rec.update({
            "CertificateArn": arn, "DomainName": info.names[0] if info.names else info.subject,
            "SubjectAlternativeNames": list(info.names), "Serial": format(leaf.serial_number, "x"),
            "Subject": info.subject, "Issuer": leaf.issuer.rfc4514_string(), "ImportedAt": now,
            "Status": "ISSUED", "NotBefore": info.not_before.timestamp(), "NotAfter": info.not_after.timestamp(),
            "KeyAlgorithm": _key_algorithm(leaf), "SignatureAlgorithm": (leaf.signature_hash_algorithm.name.upper()
                                                                          if leaf.signature_hash_algorithm else ""),
            "InUseBy": [], "Type": "IMPORTED", "RenewalEligibility": "INELIGIBLE",
            "Tags": [t for t in req.get("Tags") or [] if isinstance(t, dict)],
            "internal": {"certificate": cert if cert.endswith("\n") else cert + "\n", "privateKey": key,
                         "chain": chain}})
        rec.setdefault("CreatedAt", now)
        await self.state.put(TABLE, k, rec)
        return {"CertificateArn": arn}

    async def op_DescribeCertificate(self, call: Call, req: dict) -> dict:
        _, rec = self._get(call, req.get("CertificateArn"))
        return {"Certificate": {k: v for k, v in rec.items() if k not in ("internal", "Tags")}}

    async def op_GetCertificate(self, call: Call, req: dict) -> dict:
        _, rec = self._get(call, req.get("CertificateArn"))
        out = {"Certificate": rec["internal"]["certificate"]}
        if rec["internal"].get("chain"):
            out["CertificateChain"] = rec["internal"]["chain"]
        return out

    async def op_ListCertificates(self, call: Call, req: dict) -> dict:
        recs = self.state.values(TABLE, f"{call.principal.account}/{call.region}/")
        statuses = req.get("CertificateStatuses") or []
        return {"CertificateSummaryList": [
            {"CertificateArn": r["CertificateArn"], "DomainName": r["DomainName"],
             "SubjectAlternativeNameSummaries": r["SubjectAlternativeNames"], "Status": r["Status"],
             "Type": r["Type"], "KeyAlgorithm": r["KeyAlgorithm"], "InUse": bool(r["InUseBy"]),
             "NotBefore": r["NotBefore"], "NotAfter": r["NotAfter"], "ImportedAt": r["ImportedAt"]}
            for r in recs if not statuses or r["Status"] in statuses]}

    async def op_DeleteCertificate(self, call: Call, req: dict) -> dict:
        key, rec = self._get(call, req.get("CertificateArn"))
        if rec.get("InUseBy"):
            raise ServiceError("ResourceInUseException", f"Certificate {rec['CertificateArn']} in use by "
                                                         f"{', '.join(rec['InUseBy'])}", 400)
        await self.state.delete(TABLE, key)
        return {}


def _key_algorithm(cert: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    k = cert.public_key()
    if isinstance(k, rsa.RSAPublicKey):
        return f"RSA_{k.key_size}"
    if isinstance(k, ec.EllipticCurvePublicKey):
        return {"secp256r1": "EC_prime256v1", "secp384r1": "EC_secp384r1"}.get(k.curve.name, k.curve.name)
    return "UNKNOWN"
