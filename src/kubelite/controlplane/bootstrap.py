"""Prepare the data dir: the cluster CA, the serving certificate (SANs for 127.0.0.1, localhost, the
host name, the advertised address and the in-cluster `kubernetes` Service names), the admin
identity (a client certificate in `system:masters`, and a bearer token as k3s has), and the admin
kubeconfig. Everything is created once and reused on restart.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import yaml

from kubelite.client import pki

from .config import ServerConfig


# Identities of the components that run inside the server process (user name -> file name).
COMPONENT_IDENTITIES = {
    "system:kube-controller-manager": "controller-manager",
    "system:kube-scheduler": "scheduler",
    "system:kube-proxy": "kube-proxy",
    "system:kube-dns": "kube-dns",
}


@dataclass
class Credentials:
    ca: pki.CertKey
    serving: pki.CertKey
    admin: pki.CertKey
    admin_token: str
    components: dict[str, pki.CertKey]
    ca_path: Path
    serving_cert_path: Path
    serving_key_path: Path


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def prepare(cfg: ServerConfig) -> Credentials:
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(cfg.data_dir, 0o700)
    tls = cfg.tls_dir
    tls.mkdir(parents=True, exist_ok=True)
    ca = pki.load_or_create_ca(tls, "ca", "kubelite-ca")
    hostname = socket.gethostname()
    names = {"localhost", hostname, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
             "kubernetes.default.svc.cluster.local"}
    ips = {"127.0.0.1", cfg.plan.kubernetes_service_ip}
    for extra in [cfg.advertise_address, *cfg.extra_sans]:
        (ips if _is_ip(extra) else names).add(extra)
    if cfg.bind_address not in ("0.0.0.0", "::") and _is_ip(cfg.bind_address):
        ips.add(cfg.bind_address)
    serving = pki.load_or_issue(tls, "serving", ca, common_name="kube-apiserver", dns_names=sorted(names),
                                ip_addresses=sorted(ips), server=True)
    admin = pki.load_or_issue(tls, "admin", ca, common_name="system:admin", organizations=["system:masters"],
                              client=True)
    # The API server's identity towards node agents (exec, logs, port-forward, stats).
    pki.load_or_issue(tls, "apiserver-kubelet-client", ca, common_name="kube-apiserver-kubelet-client",
                      organizations=["system:masters"], client=True)
    components = {
        user: pki.load_or_issue(tls, file, ca, common_name=user, client=True)
        for user, file in COMPONENT_IDENTITIES.items()
    }
    node_user = f"system:node:{cfg.node_name}"
    components[node_user] = pki.load_or_issue(tls, "node", ca, common_name=node_user,
                                              organizations=["system:nodes"], client=True)
    token_path = cfg.data_dir / "admin.token"
    if token_path.exists():
        token = token_path.read_text().strip()
    else:
        token = secrets.token_hex(32)
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
    return Credentials(ca, serving, admin, token, components, tls / "ca.crt", tls / "serving.crt",
                       tls / "serving.key")


def ssl_context(creds: Credentials) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(creds.serving_cert_path, creds.serving_key_path)
    ctx.load_verify_locations(creds.ca_path)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def kubeconfig(server_url: str, ca_pem: bytes, *, user: str = "admin", cert_pem: bytes | None = None,
               key_pem: bytes | None = None, token: str | None = None, cluster: str = "kubelite") -> dict:
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    u: dict = {}
    if cert_pem and key_pem:
        u["client-certificate-data"] = b64(cert_pem)
        u["client-key-data"] = b64(key_pem)
    if token:
        u["token"] = token
    return {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": cluster, "cluster": {"server": server_url, "certificate-authority-data": b64(ca_pem)}}],
            "users": [{"name": user, "user": u}],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
            "current-context": cluster}


def write_kubeconfig(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    os.replace(tmp, path)


def admin_kubeconfig(cfg: ServerConfig, creds: Credentials) -> dict:
    return kubeconfig(cfg.server_url, creds.ca.cert_pem, cert_pem=creds.admin.cert_pem, key_pem=creds.admin.key_pem)
