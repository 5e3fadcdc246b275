"""Wire node joining into an API server.

    install(server)                 # before serving: authenticator, CSR admission, /approval
    await ensure(server, server_url=..., ca_pem=...)   # after the caches are ready

`install` adds the bootstrap token authenticator, the CSR identity admission plugin and the
`approval` subresource handler, and lets anonymous callers reach `kube-public/cluster-info`
(RBAC still decides: `policy` grants `system:anonymous` get on that one ConfigMap).
`ensure` creates the RBAC objects of `policy` and, when missing or naming another CA, the
`cluster-info` ConfigMap (the BootstrapSigner controller adds the token signatures).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import yaml

from kubelite.apiserver import authn
from kubelite.machinery import errors
from kubelite.registry.generic.store import WriteOptions

from . import policy
from .authenticator import BootstrapTokenAuthenticator
from .csr import GROUP, PLURAL, CSRIdentity, approval_handler
from .tokens import CLUSTER_INFO_KEY, CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE

log = logging.getLogger(__name__)

CLUSTER_INFO_PATH = f"/api/v1/namespaces/{CLUSTER_INFO_NAMESPACE}/configmaps/{CLUSTER_INFO_NAME}"
MANAGER = "kubelite-bootstrap"


def install(server: Any) -> None:
    if not any(isinstance(a, BootstrapTokenAuthenticator) for a in server.authenticator.token_authenticators):
        server.authenticator.token_authenticators.append(BootstrapTokenAuthenticator(server._get_object))
    if not any(isinstance(p, CSRIdentity) for p in server.admission.plugins):
        server.admission.plugins.append(CSRIdentity())
    server.options.extra_handlers[(GROUP, PLURAL, "approval")] = approval_handler
    authn.ANONYMOUS_PATHS.add(CLUSTER_INFO_PATH)


def cluster_info_kubeconfig(server_url: str, ca_pem: bytes) -> str:
    """The kubeconfig `cluster-info` publishes: one nameless cluster, no users (kubeadm's shape)."""
    doc = {"apiVersion": "v1", "kind": "Config", "preferences": {},
           "clusters": [{"name": "", "cluster": {"server": server_url,
                                                 "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
           "contexts": None, "current-context": "", "users": None}
    return yaml.safe_dump(doc, sort_keys=True)


def kubeconfig_ca(kubeconfig: str) -> bytes | None:
    try:
        doc = yaml.safe_load(kubeconfig) or {}
        data = doc["clusters"][0]["cluster"]["certificate-authority-data"]
        return base64.b64decode(data)
    except (yaml.YAMLError, KeyError, IndexError, TypeError, ValueError):
        return None


async def _ensure(server: Any, plural: str, group: str, namespace: str, obj: dict) -> None:
    store = server.store(plural, group)
    if await store.get_or_none(namespace, obj["metadata"]["name"]) is not None:
        return
    try:
        await store.create(namespace, obj, WriteOptions(field_manager=MANAGER))
    except errors.StatusError as e:
        if not errors.is_already_exists(e):
            raise


async def ensure(server: Any, *, server_url: str, ca_pem: bytes) -> None:
    rbac = "rbac.authorization.k8s.io"
    for obj in policy.cluster_roles():
        await _ensure(server, "clusterroles", rbac, "", obj)
    for obj in policy.cluster_role_bindings():
        await _ensure(server, "clusterrolebindings", rbac, "", obj)
    for obj in policy.roles():
        await _ensure(server, "roles", rbac, obj["metadata"]["namespace"], obj)
    for obj in policy.role_bindings():
        await _ensure(server, "rolebindings", rbac, obj["metadata"]["namespace"], obj)
    await ensure_cluster_info(server, server_url=server_url, ca_pem=ca_pem)


async def ensure_cluster_info(server: Any, *, server_url: str, ca_pem: bytes) -> None:
    store = server.store("configmaps")
    content = cluster_info_kubeconfig(server_url, ca_pem)
    for _ in range(5):
        cur = await store.get_or_none(CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_NAME)
        if cur is None:
            obj = {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": CLUSTER_INFO_NAME, "namespace": CLUSTER_INFO_NAMESPACE},
                   "data": {CLUSTER_INFO_KEY: content}}
            try:
                await store.create(CLUSTER_INFO_NAMESPACE, obj, WriteOptions(field_manager=MANAGER))
                return
            except errors.StatusError as e:
                if errors.is_already_exists(e):
                    continue
                raise
        published = (cur.get("data") or {}).get(CLUSTER_INFO_KEY, "")
        if kubeconfig_ca(published) == ca_pem:
            return  # another API server of this cluster published it (perhaps with its own URL)
        cur["data"] = {CLUSTER_INFO_KEY: content}  # a new CA: the old signatures are void
        try:
            await store.update(CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_NAME, cur, WriteOptions(field_manager=MANAGER))
            return
        except errors.StatusError as e:
            if not errors.is_conflict(e):
                raise
