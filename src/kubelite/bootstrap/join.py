"""The agent side of joining: from a URL and a token to the node's own kubeconfig.

    path = await join(JoinConfig(server="https://198.18.0.1:6443", token="abcdef.0123456789abcdef",
                                 node_name="node1", kubeconfig=Path(".../kubelet.kubeconfig")))

1. Discovery: read `kube-public/cluster-info` without credentials and without trusting the
   server yet. Its CA is accepted when it matches a pinned hash (`sha256:<spki hex>`, from
   `ca_cert_hashes` or a `K10<hex>::` token), or when the `jws-kubeconfig-<token id>` signature
   verifies with the token (the server knows the token secret). With neither pin nor signature
   the CA is trusted on first use, with a warning. A server that refuses anonymous discovery is
   asked again with the token (then the token crosses an unverified connection: logged).
2. TLS bootstrap: with the now trusted CA and the token, create a CertificateSigningRequest for
   `system:node:<name>` in `system:nodes` (signer `kubernetes.io/kube-apiserver-client-kubelet`,
   a fresh P-256 key that never leaves this machine), and wait until it is issued, denied or
   failed.
3. Write the kubeconfig (0600): server, CA, the certificate and key.

An existing kubeconfig for the same node whose certificate is valid for at least
`min_remaining` is reused as is: a restarted agent keeps its identity and needs no token.
Failures raise `JoinError` with a message meant for the person running the agent.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubelite.client import Client, ClientConfig, TransportError
from kubelite.machinery import errors

from .policy import KUBELET_CLIENT_SIGNER
from .server import kubeconfig_ca
from .tokens import (
    CLUSTER_INFO_KEY,
    CLUSTER_INFO_NAME,
    CLUSTER_INFO_NAMESPACE,
    JWS_PREFIX,
    InvalidToken,
    Token,
    ca_cert_hash,
    normalize_ca_hash,
    parse_join_token,
    verify_detached,
)

log = logging.getLogger(__name__)

NODE_USAGES = ["digital signature", "client auth"]


class JoinError(Exception):
    """Joining failed; the message says why and what to do."""


@dataclass
class JoinConfig:
    server: str
    token: str
    node_name: str
    kubeconfig: Path
    ca_cert_hashes: list[str] = field(default_factory=list)
    timeout: float = 120.0          # for the whole join (server unreachable, approval pending)
    poll_interval: float = 0.25
    min_remaining: dt.timedelta = dt.timedelta(hours=1)


@dataclass
class Discovery:
    ca_pem: bytes
    verified_by: str  # "hash", "signature" or "tofu"


def node_user(node_name: str) -> str:
    return f"system:node:{node_name}"


# ----- pure helpers ---------------------------------------------------------------------------


def build_csr(key: ec.EllipticCurvePrivateKey, node_name: str) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                         x509.NameAttribute(NameOID.COMMON_NAME, node_user(node_name))])
    req = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return req.public_bytes(serialization.Encoding.PEM)


def csr_object(csr_pem: bytes, expiration_seconds: int | None = None) -> dict:
    spec: dict = {"request": base64.b64encode(csr_pem).decode(), "signerName": KUBELET_CLIENT_SIGNER,
                  "usages": list(NODE_USAGES)}
    if expiration_seconds:
        spec["expirationSeconds"] = expiration_seconds
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"generateName": "node-csr-"}, "spec": spec}


def node_kubeconfig(server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes, node_name: str) -> dict:
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    user = node_user(node_name)
    return {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "kubelite", "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}],
            "users": [{"name": user, "user": {"client-certificate-data": b64(cert_pem),
                                              "client-key-data": b64(key_pem)}}],
            "contexts": [{"name": "kubelite", "context": {"cluster": "kubelite", "user": user}}],
            "current-context": "kubelite"}


def write_private(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def reusable(path: Path, node_name: str, ca_hashes: list[str], min_remaining: dt.timedelta) -> bool:
    """An existing kubeconfig for this node with a certificate that is still good."""
    try:
        doc = yaml.safe_load(path.read_text()) or {}
        cluster = doc["clusters"][0]["cluster"]
        userd = doc["users"][0]["user"]
        ca = x509.load_pem_x509_certificate(base64.b64decode(cluster["certificate-authority-data"]))
        cert = x509.load_pem_x509_certificate(base64.b64decode(userd["client-certificate-data"]))
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError, ValueError):
        return False
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not cn or cn[0].value != node_user(node_name):
        return False
    if cert.issuer != ca.subject:
        return False
    if ca_hashes and ca_cert_hash(ca) not in ca_hashes:
        return False
    now = dt.datetime.now(dt.timezone.utc)
    return cert.not_valid_after_utc - now > min_remaining


def check_discovery(cluster_info: dict, token: Token, ca_hashes: list[str]) -> Discovery:
    """Decide whether the CA in a `cluster-info` ConfigMap can be trusted (pure)."""
    data = cluster_info.get("data") or {}
    content = data.get(CLUSTER_INFO_KEY)
    if not content:
        raise JoinError(f"the {CLUSTER_INFO_NAMESPACE}/{CLUSTER_INFO_NAME} ConfigMap has no {CLUSTER_INFO_KEY!r}: "
                        f"is this a kubelite API server?")
    ca_pem = kubeconfig_ca(content)
    if not ca_pem:
        raise JoinError(f"the {CLUSTER_INFO_NAMESPACE}/{CLUSTER_INFO_NAME} kubeconfig carries no CA certificate")
    try:
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as e:
        raise JoinError(f"the cluster CA certificate in cluster-info cannot be parsed: {e}") from None
    actual = ca_cert_hash(ca)
    if ca_hashes and actual not in ca_hashes:
        raise JoinError(f"the cluster CA's public key hash {actual} does not match the pinned "
                        f"{', '.join(ca_hashes)}: refusing to trust this server")
    sigs = {k[len(JWS_PREFIX):]: v for k, v in data.items() if k.startswith(JWS_PREFIX)}
    sig = sigs.get(token.id)
    if sig is not None:
        if not verify_detached(sig, content, token):
            raise JoinError(f'the join token is wrong: the cluster-info signature for token id "{token.id}" does not '
                            f"verify with its secret")
        return Discovery(ca_pem, "hash" if ca_hashes else "signature")
    if ca_hashes:
        return Discovery(ca_pem, "hash")
    if sigs:
        raise JoinError(f'the join token is refused: token id "{token.id}" is not valid for this cluster (unknown, '
                        f"expired or deleted; see `kubelite token list`)")
    log.warning("cluster-info is not signed (no BootstrapSigner?) and no CA hash was given: trusting the CA %s on "
                "first use", actual)
    return Discovery(ca_pem, "tofu")


# ----- I/O ------------------------------------------------------------------------------------


async def _retrying(what: str, server: str, deadline: float, fn):
    """Call `fn` until it does not fail with a connection error or a 5xx, or the deadline passes."""
    delay = 0.2
    while True:
        try:
            return await fn()
        except (TransportError, OSError, asyncio.TimeoutError) as e:
            last = f"{type(e).__name__}: {e}"
        except errors.StatusError as e:
            if e.code < 500 and e.code != 429:
                raise
            last = f"{e.code} {e}"
        if time.monotonic() + delay > deadline:
            raise JoinError(f"cannot {what}: the API server at {server} did not answer in time ({last})")
        log.info("%s: %s; retrying in %.1fs", what, last, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 3.0)


def _refused(e: errors.StatusError) -> JoinError:
    detail = e.status().get("message", "") if hasattr(e, "status") else str(e)
    extra = f" ({detail})" if detail and detail != "Unauthorized" else ""
    return JoinError(f"the API server refused the join token{extra}: it is unknown, expired or revoked; create one "
                     f"with `kubelite token create` on the server")


async def discover(server: str, token: Token, ca_hashes: list[str], deadline: float) -> Discovery:
    anon = Client.from_config(ClientConfig(server=server, insecure=True, timeout=10.0))
    try:
        cm = await _retrying("read cluster-info", server, deadline,
                             lambda: anon.get("configmaps", CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE))
    except errors.StatusError as e:
        if e.code not in (401, 403):
            if e.code == 404:
                raise JoinError(f"the API server at {server} publishes no {CLUSTER_INFO_NAMESPACE}/"
                                f"{CLUSTER_INFO_NAME}: it cannot be joined with a token") from None
            raise
        log.warning("the API server refuses anonymous discovery; asking with the token over a not yet verified "
                    "connection")
        bearer = Client.from_config(ClientConfig(server=server, insecure=True, token=str(token), timeout=10.0))
        try:
            cm = await _retrying("read cluster-info", server, deadline,
                                 lambda: bearer.get("configmaps", CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE))
        except errors.StatusError as e2:
            if e2.code == 401:
                raise _refused(e2) from None
            raise JoinError(f"cannot read cluster-info: {e2}") from None
        finally:
            await bearer.close()
    finally:
        await anon.close()
    return check_discovery(cm, token, ca_hashes)


async def request_certificate(client: Client, server: str, node_name: str, deadline: float,
                              poll: float) -> tuple[bytes, bytes]:
    """Create the CSR and wait for the certificate; returns (certificate PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    body = csr_object(build_csr(key, node_name))
    while True:
        try:
            created = await _retrying("create the certificate request", server, deadline,
                                      lambda: client.create("certificatesigningrequests", body))
            break
        except errors.StatusError as e:
            if e.code == 401:
                raise _refused(e) from None
            if e.code == 403 and time.monotonic() + 1 < deadline:
                # a control plane that is still starting may not have its bootstrap RBAC yet
                log.info("creating the certificate request is forbidden (%s); retrying", e)
                await asyncio.sleep(1)
                continue
            raise JoinError(f"cannot create the certificate request: {e}") from None
    name = created["metadata"]["name"]
    log.info("node %s: certificate request %s created, waiting for approval", node_name, name)
    while True:
        try:
            csr = await _retrying("read the certificate request", server, deadline,
                                  lambda: client.get("certificatesigningrequests", name))
        except errors.StatusError as e:
            if e.code == 401:
                raise _refused(e) from None
            raise JoinError(f"cannot read certificate request {name}: {e}") from None
        status = csr.get("status") or {}
        for c in status.get("conditions") or []:
            if c.get("type") in ("Denied", "Failed") and c.get("status") == "True":
                verb = "denied" if c["type"] == "Denied" else "failed"
                raise JoinError(f"certificate request {name} for node {node_name!r} was {verb}: "
                                f"{c.get('reason', '')}: {c.get('message', '')}".rstrip(": "))
        if status.get("certificate"):
            return base64.b64decode(status["certificate"]), key_pem
        if time.monotonic() > deadline:
            approved = any(c.get("type") == "Approved" for c in status.get("conditions") or [])
            hint = "no certificate was issued (is the CSR signing controller running with the cluster CA?)" \
                if approved else "it was not approved (is the CSR approving controller running?)"
            raise JoinError(f"certificate request {name} for node {node_name!r}: {hint}")
        await asyncio.sleep(poll)


async def join(cfg: JoinConfig) -> Path:
    """Obtain this node's credentials (see the module docstring); returns the kubeconfig path."""
    try:
        token, pinned = parse_join_token(cfg.token)
        hashes = sorted({normalize_ca_hash(h) for h in [*pinned, *cfg.ca_cert_hashes]})
    except InvalidToken as e:
        raise JoinError(f"invalid join token: {e}") from None
    if await asyncio.to_thread(reusable, cfg.kubeconfig, cfg.node_name, hashes, cfg.min_remaining):
        log.info("node %s: reusing the credentials in %s", cfg.node_name, cfg.kubeconfig)
        return cfg.kubeconfig
    deadline = time.monotonic() + cfg.timeout
    server = cfg.server.rstrip("/")
    found = await discover(server, token, hashes, deadline)
    log.info("node %s: cluster CA %s verified by %s", cfg.node_name, ca_cert_hash(found.ca_pem), found.verified_by)
    client = Client.from_config(ClientConfig(server=server, ca_data=found.ca_pem, token=str(token), timeout=10.0,
                                             user_agent=f"kubelite-join/{cfg.node_name}"))
    try:
        cert_pem, key_pem = await request_certificate(client, server, cfg.node_name, deadline, cfg.poll_interval)
    finally:
        await client.close()
    await asyncio.to_thread(write_private, cfg.kubeconfig,
                            node_kubeconfig(server, found.ca_pem, cert_pem, key_pem, cfg.node_name))
    log.info("node %s: joined; credentials in %s", cfg.node_name, cfg.kubeconfig)
    return cfg.kubeconfig
