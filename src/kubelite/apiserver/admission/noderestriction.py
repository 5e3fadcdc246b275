"""NodeRestriction admission: a node agent (`system:node:<name>` in `system:nodes`) may write only its
own Node and Lease, the status of pods bound to it, evict or delete only pods bound to it, and
may not create ordinary pods or give itself restricted labels.
"""

from __future__ import annotations

from kubelite.machinery import errors
from kubelite.registry.generic.store import AdmissionAttributes, UserInfo

RESTRICTED_LABEL_PREFIX = "node-restriction.kubernetes.io/"


def node_name(user: UserInfo | None) -> str | None:
    if user is None or "system:nodes" not in user.groups or not user.username.startswith("system:node:"):
        return None
    return user.username[len("system:node:"):]


class NodeRestriction:
    async def admit(self, a: AdmissionAttributes) -> None:
        return None

    async def validate(self, a: AdmissionAttributes) -> None:
        me = node_name(a.user)
        if me is None:
            return
        r = a.resource
        kind = (r.group, r.kind)
        if kind == ("", "Node"):
            if a.name and a.name != me:
                raise errors.new_forbidden("", "nodes", a.name, f'node "{me}" is not allowed to modify node "{a.name}"')
            if a.operation in ("CREATE", "UPDATE") and a.obj is not None:
                new = set(((a.obj.get("metadata") or {}).get("labels") or {}))
                old = set((((a.old_obj or {}).get("metadata") or {}).get("labels") or {}))
                bad = sorted(k for k in new - old if k.startswith(RESTRICTED_LABEL_PREFIX))
                if bad:
                    raise errors.new_forbidden("", "nodes", a.name,
                                               f'is not allowed to modify labels: {", ".join(bad)}')
            return
        if kind == ("", "Pod"):
            pod = a.old_obj if a.operation in ("UPDATE", "DELETE") else a.obj
            bound = ((pod or {}).get("spec") or {}).get("nodeName")
            if a.operation == "CREATE" and not a.subresource:
                annotations = ((a.obj or {}).get("metadata") or {}).get("annotations") or {}
                if "kubernetes.io/config.mirror" not in annotations:
                    raise errors.new_forbidden("", "pods", a.name,
                                               f'pod does not have "kubernetes.io/config.mirror" annotation, node '
                                               f'"{me}" can only create mirror pods')
                if ((a.obj or {}).get("spec") or {}).get("nodeName") != me:
                    raise errors.new_forbidden("", "pods", a.name, f'node "{me}" can only create pods with spec.'
                                                                   f'nodeName set to itself')
                return
            if bound != me:
                what = "update pod status" if a.subresource == "status" else f"{a.operation.lower()} pods"
                raise errors.new_forbidden("", "pods", a.name,
                                           f'node "{me}" can only {what} for pods with spec.nodeName set to itself')
            return
        if kind == ("coordination.k8s.io", "Lease") and a.namespace == "kube-node-lease" and a.name != me:
            raise errors.new_forbidden("coordination.k8s.io", "leases", a.name,
                                       f'can only access node lease with the same name as the requesting node')
