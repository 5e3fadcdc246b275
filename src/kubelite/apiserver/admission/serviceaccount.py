"""ServiceAccount admission: pods get `serviceAccountName: default`, a pod naming a missing service
account is refused, and (unless `automountServiceAccountToken: false`) a projected
`kube-api-access-<5>` volume with a bound token, `ca.crt` and the namespace is mounted at
/var/run/secrets/kubernetes.io/serviceaccount in every container, as Kubernetes does.
"""

from __future__ import annotations

import secrets
import string
from typing import Awaitable, Callable

from kubelite.machinery import errors
from kubelite.registry.generic.store import AdmissionAttributes

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
_ALPHABET = string.ascii_lowercase + string.digits

GetSA = Callable[[str, str], Awaitable[dict | None]]


def api_access_volume(name: str) -> dict:
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}


class ServiceAccountAdmission:
    def __init__(self, get_service_account: GetSA):
        self.get_sa = get_service_account

    async def admit(self, a: AdmissionAttributes) -> None:
        if a.operation != "CREATE" or a.resource.kind != "Pod" or a.resource.group or a.subresource:
            return
        pod = a.obj or {}
        spec = pod.setdefault("spec", {})
        if (pod.get("metadata") or {}).get("annotations", {}).get("kubernetes.io/config.mirror"):
            return
        sa_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        spec["serviceAccountName"] = sa_name
        spec["serviceAccount"] = sa_name
        sa = await self.get_sa(a.namespace, sa_name)
        if sa is None:
            raise errors.new_forbidden("", "pods", (pod.get("metadata") or {}).get("name", ""),
                                       f"error looking up service account {a.namespace}/{sa_name}: "
                                       f'serviceaccount "{sa_name}" not found')
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = sa.get("automountServiceAccountToken")
        if automount is False:
            return
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        if any(m.get("mountPath") == MOUNT_PATH for c in containers for m in c.get("volumeMounts") or []):
            return
        vol_name = "kube-api-access-" + "".join(secrets.choice(_ALPHABET) for _ in range(5))
        spec.setdefault("volumes", []).append(api_access_volume(vol_name))
        for c in containers:
            c.setdefault("volumeMounts", []).append({"name": vol_name, "readOnly": True, "mountPath": MOUNT_PATH})

    async def validate(self, a: AdmissionAttributes) -> None:
        return None
