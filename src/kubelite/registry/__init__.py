"""Per-resource behaviour for the API server's generic store (Kubernetes' `pkg/registry`).

`strategies_for(resource, ctx)` returns the strategy and status strategy of a resource: the
generic ones unless a module here (`core`, `apps`, ...) refines them.

May import: `kubelite.api`, `kubelite.machinery`, `kubelite.storage`.
"""

from __future__ import annotations

from kubelite.api.scheme import Resource
from kubelite.registry.generic.strategy import StatusStrategy, Strategy

from . import apps, core, misc


def strategies_for(resource: Resource, env: "core.Env") -> tuple[Strategy, Strategy | None]:
    cls = core.STRATEGIES.get((resource.group, resource.kind)) or apps.STRATEGIES.get((resource.group, resource.kind)) \
        or misc.STRATEGIES.get((resource.group, resource.kind)) or Strategy
    s = cls(resource, env) if cls is not Strategy else Strategy(resource)
    status = StatusStrategy(s) if s.has_status else None
    return s, status
