"""Service account credentials in pods: the projected `kube-api-access-*` volume (token bound to
the pod, the cluster CA from the `kube-root-ca.crt` ConfigMap, the namespace) mounted at
/var/run/secrets/kubernetes.io/serviceaccount, and the token requests behind it.

Kubernetes' ServiceAccount admission plugin adds that volume when the pod is created; when a
pod arrives without it (and `automountServiceAccountToken` is not false) the kubelet adds it to
its own copy of the pod, so the in-cluster client config works either way.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from kubelite.machinery.timeutil import parse_time

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_NAME = "kube-api-access-kubelite"
TOKEN_EXPIRATION = 3607  # what the admission plugin asks for


def api_access_volume(name: str = VOLUME_NAME) -> dict:
    return {
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace",
                                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    }


def with_service_account_volume(pod: dict) -> dict:
    """The pod with the API access volume added (a copy), or the pod itself when it has one,
    mounts the path itself, or opts out."""
    spec = pod.get("spec") or {}
    if spec.get("automountServiceAccountToken") is False:
        return pod
    volumes = spec.get("volumes") or []
    if any(str(v.get("name", "")).startswith("kube-api-access-") for v in volumes):
        return pod
    groups = ("containers", "initContainers")
    if any(m.get("mountPath") == MOUNT_PATH for g in groups for c in spec.get(g) or []
           for m in c.get("volumeMounts") or []):
        return pod
    out = copy.deepcopy(pod)
    out["spec"].setdefault("volumes", []).append(api_access_volume())
    for g in groups:
        for c in out["spec"].get(g) or []:
            c.setdefault("volumeMounts", []).append({"name": VOLUME_NAME, "mountPath": MOUNT_PATH,
                                                     "readOnly": True})
    return out


class APITokenSource:
    """Requests bound tokens through `serviceaccounts/<name>/token` and reuses each until 80% of
    its lifetime (or 24 h) has passed, as the kubelet's token manager does."""

    def __init__(self, client: Any, now=time.time):
        self.client = client
        self._now = now
        self._cache: dict[tuple, tuple[str, float, float]] = {}

    async def token(self, pod: dict, service_account: str, audience: str, expiration_seconds: int) -> str:
        md = pod.get("metadata") or {}
        key = (md.get("uid"), service_account, audience, expiration_seconds)
        hit = self._cache.get(key)
        now = self._now()
        if hit is not None:
            tok, issued, expires = hit
            if now < issued + 0.8 * (expires - issued) and now < issued + 24 * 3600:
                return tok
        spec: dict[str, Any] = {"expirationSeconds": expiration_seconds,
                                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": md.get("name"),
                                                   "uid": md.get("uid")}}
        if audience:
            spec["audiences"] = [audience]
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        out = await self.client.create_subresource("serviceaccounts", service_account, "token", body,
                                                   md.get("namespace") or "default")
        status = out.get("status") or {}
        exp = parse_time(status.get("expirationTimestamp"))
        expires = exp.timestamp() if exp else now + expiration_seconds
        self._cache[key] = (status.get("token", ""), now, expires)
        return status.get("token", "")

    def forget(self, pod_uid: str) -> None:
        for k in [k for k in self._cache if k[0] == pod_uid]:
            del self._cache[k]
