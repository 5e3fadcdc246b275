"""Service account tokens: signed JWTs (ES256) issued through the TokenRequest API
(`serviceaccounts/<name>/token`, `kubectl create token`), and their authenticator.

A token names its service account (and, when bound, the pod or secret it belongs to) by name and
UID. It is valid only while its signature verifies with this cluster's key, its issuer and
audience match, it has not expired, and the objects it names still exist with the same UIDs:
deleting a pod revokes the tokens bound to it. `alg: none` and any other algorithm are refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Awaitable, Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from kubelite.machinery import errors, timeutil
from kubelite.registry.generic.store import UserInfo

log = logging.getLogger(__name__)

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_AUDIENCES = [DEFAULT_ISSUER]
MIN_EXPIRATION = 600
DEFAULT_EXPIRATION = 3600
MAX_EXPIRATION = 48 * 3600


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@dataclass
class Claims:
    namespace: str
    service_account: str
    service_account_uid: str
    audiences: list[str]
    expires: int
    bound_kind: str = ""
    bound_name: str = ""
    bound_uid: str = ""
    node_name: str = ""
    node_uid: str = ""
    jti: str = ""


class TokenIssuer:
    def __init__(self, key: ec.EllipticCurvePrivateKey, issuer: str = DEFAULT_ISSUER,
                 audiences: list[str] | None = None):
        self.key = key
        self.issuer = issuer
        self.audiences = audiences or list(DEFAULT_AUDIENCES)
        pub = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = _b64(hashlib.sha256(pub).digest())

    @classmethod
    def generate(cls) -> "TokenIssuer":
        return cls(ec.generate_private_key(ec.SECP256R1()))

    def sign(self, payload: dict) -> str:
        header = {"alg": "ES256", "kid": self.kid}
        signing_input = f"{_b64(json.dumps(header, separators=(',', ':')).encode())}." \
                        f"{_b64(json.dumps(payload, separators=(',', ':')).encode())}"
        der = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def issue(self, c: Claims) -> str:
        now = int(time.time())
        k8s: dict = {"namespace": c.namespace,
                     "serviceaccount": {"name": c.service_account, "uid": c.service_account_uid}}
        if c.bound_kind == "Pod":
            k8s["pod"] = {"name": c.bound_name, "uid": c.bound_uid}
        elif c.bound_kind == "Secret":
            k8s["secret"] = {"name": c.bound_name, "uid": c.bound_uid}
        if c.node_name:
            k8s["node"] = {"name": c.node_name, "uid": c.node_uid}
        payload = {"aud": c.audiences, "exp": c.expires, "iat": now, "iss": self.issuer,
                   "jti": c.jti or str(uuid.uuid4()), "kubernetes.io": k8s, "nbf": now,
                   "sub": f"system:serviceaccount:{c.namespace}:{c.service_account}"}
        return self.sign(payload)

    def verify(self, token: str) -> dict | None:
        """The payload if the signature is ours and the header sane; None otherwise."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            payload = json.loads(_unb64(parts[1]))
            sig = _unb64(parts[2])
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(header, dict) or header.get("alg") != "ES256" or len(sig) != 64:
            return None
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        try:
            self.key.public_key().verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return None
        return payload if isinstance(payload, dict) else None


GetObject = Callable[[str, str, str], Awaitable[dict | None]]  # (plural, namespace, name)


class ServiceAccountAuthenticator:
    def __init__(self, issuer: TokenIssuer, get: GetObject, api_audiences: list[str] | None = None):
        self.issuer = issuer
        self.get = get
        self.api_audiences = api_audiences or issuer.audiences

    async def authenticate_token(self, token: str) -> UserInfo | None:
        if token.count(".") != 2:
            return None
        payload = self.issuer.verify(token)
        if payload is None:
            return None
        if payload.get("iss") != self.issuer.issuer:
            return None
        aud = payload.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if not any(a in self.api_audiences for a in auds):
            raise errors.new_unauthorized("token audience is not valid for this API server")
        now = time.time()
        exp = payload.get("exp")
        if not isinstance(exp, (int, float)) or exp < now or payload.get("nbf", 0) > now + 60:
            raise errors.new_unauthorized("service account token has expired")
        k8s = payload.get("kubernetes.io") or {}
        ns = k8s.get("namespace", "")
        sa = k8s.get("serviceaccount") or {}
        obj = await self.get("serviceaccounts", ns, sa.get("name", ""))
        if obj is None or obj["metadata"].get("uid") != sa.get("uid") or obj["metadata"].get("deletionTimestamp"):
            raise errors.new_unauthorized("service account token is no longer valid: its ServiceAccount is gone")
        extra: dict[str, list[str]] = {"authentication.kubernetes.io/credential-id": [f"JTI={payload.get('jti')}"]}
        for kind, plural in (("pod", "pods"), ("secret", "secrets")):
            ref = k8s.get(kind)
            if ref:
                bound = await self.get(plural, ns, ref.get("name", ""))
                if bound is None or bound["metadata"].get("uid") != ref.get("uid") or \
                        bound["metadata"].get("deletionTimestamp"):
                    raise errors.new_unauthorized(f"service account token is no longer valid: its {kind} is gone")
                if kind == "pod":
                    extra["authentication.kubernetes.io/pod-name"] = [ref.get("name", "")]
                    extra["authentication.kubernetes.io/pod-uid"] = [ref.get("uid", "")]
        if k8s.get("node"):
            extra["authentication.kubernetes.io/node-name"] = [k8s["node"].get("name", "")]
            extra["authentication.kubernetes.io/node-uid"] = [k8s["node"].get("uid", "")]
        name = sa.get("name", "")
        return UserInfo(f"system:serviceaccount:{ns}:{name}", sa.get("uid", ""),
                        ["system:serviceaccounts", f"system:serviceaccounts:{ns}"], extra)


def token_request(issuer: TokenIssuer, sa: dict, request: dict, bound: dict | None) -> dict:
    """Fill a TokenRequest's status (the API validates and looks the objects up)."""
    spec = request.setdefault("spec", {})
    exp = spec.get("expirationSeconds") or DEFAULT_EXPIRATION
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise errors.new_bad_request("spec.expirationSeconds must be an integer")
    if exp < MIN_EXPIRATION:
        raise errors.new_invalid("authentication.k8s.io", "TokenRequest", sa["metadata"]["name"], [
            errors.invalid("spec.expirationSeconds", exp, "may not specify a duration less than 10 minutes")])
    if exp > MAX_EXPIRATION:
        raise errors.new_invalid("authentication.k8s.io", "TokenRequest", sa["metadata"]["name"], [
            errors.invalid("spec.expirationSeconds", exp, "may not specify a duration larger than 2^32 seconds")])
    auds = spec.get("audiences") or list(issuer.audiences)
    spec["audiences"] = auds
    spec["expirationSeconds"] = exp
    expires = int(time.time()) + exp
    ref = spec.get("boundObjectRef") or {}
    c = Claims(sa["metadata"].get("namespace", ""), sa["metadata"]["name"], sa["metadata"]["uid"], auds, expires)
    if bound is not None:
        c.bound_kind = ref.get("kind", "")
        c.bound_name = bound["metadata"]["name"]
        c.bound_uid = bound["metadata"]["uid"]
        node = (bound.get("spec") or {}).get("nodeName") if c.bound_kind == "Pod" else None
        if node:
            c.node_name = node
    request["status"] = {"token": issuer.issue(c),
                         "expirationTimestamp": timeutil.rfc3339(timeutil.now().fromtimestamp(expires,
                                                                                                timeutil.now().tzinfo))}
    return request


def load_or_create_key(path) -> ec.EllipticCurvePrivateKey:
    from pathlib import Path

    from kubelite.client.pki import write_private

    p = Path(path)
    if p.exists():
        key = serialization.load_pem_private_key(p.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    write_private(p, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    return key
