"""Admission: policy applied to writes after authorization, before and after validation.

The chain runs every plugin's `admit` (may mutate) in order, then every `validate` (may only
refuse). Plugins, in Kubernetes' order: NamespaceLifecycle (here), LimitRanger, ServiceAccount,
NodeRestriction, PodSecurity, Priority, DefaultTolerationSeconds, RBAC escalation checks,
ResourceQuota — one module each in this package.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Protocol

from kubelite.machinery import errors
from kubelite.registry.generic.store import AdmissionAttributes

IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


class Plugin(Protocol):
    async def admit(self, a: AdmissionAttributes) -> None: ...

    async def validate(self, a: AdmissionAttributes) -> None: ...


class Chain:
    def __init__(self, plugins: list[Plugin] | None = None):
        self.plugins: list[Plugin] = plugins or []

    async def admit(self, a: AdmissionAttributes) -> None:
        for p in self.plugins:
            await p.admit(a)

    async def validate(self, a: AdmissionAttributes) -> None:
        for p in self.plugins:
            await p.validate(a)


class NamespaceLifecycle:
    """Refuses creates in namespaces that do not exist or are being deleted (Kubernetes' wording)."""

    def __init__(self, get_namespace: Callable[[str], Awaitable[dict | None]]):
        self.get_namespace = get_namespace

    async def admit(self, a: AdmissionAttributes) -> None:
        return None

    async def validate(self, a: AdmissionAttributes) -> None:
        r = a.resource
        if a.operation == "DELETE" and r.kind == "Namespace" and not r.group and a.name in IMMORTAL_NAMESPACES:
            raise errors.new_forbidden("", "namespaces", a.name, "this namespace may not be deleted")
        if a.operation != "CREATE" or not r.namespaced:
            return
        ns = await self.get_namespace(a.namespace)
        if ns is None:
            raise errors.new_not_found("", "namespaces", a.namespace)
        if (ns.get("status") or {}).get("phase") == "Terminating" or ns["metadata"].get("deletionTimestamp"):
            if r.kind in ("Event",) and not r.group:
                return
            msg = f"unable to create new content in namespace {a.namespace} because it is being terminated"
            e = errors.new_forbidden(r.group, r.plural, a.name, msg)
            e.details = dict(e.details or {}, causes=[{"reason": "NamespaceTerminating", "message": msg,
                                                       "field": "metadata.namespace"}])
            raise e
