"""rbac.authorization.k8s.io/v1 defaults (role bindings' API groups)."""

from __future__ import annotations

from .core import dict_items

GROUP = "rbac.authorization.k8s.io"


def binding(obj: dict) -> None:
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = GROUP
    for s in dict_items(obj, "subjects"):
        # ServiceAccount subjects keep the empty (omitted) core group.
        if not s.get("apiGroup") and s.get("kind") in ("User", "Group"):
            s["apiGroup"] = GROUP
