"""Impersonation (`kubectl --as`, `--as-group`): act as another user when allowed to.

The caller must be authorized for the `impersonate` verb on each thing asked for: `users` (or
`serviceaccounts` for `system:serviceaccount:<ns>:<name>`), `groups`, `uids` and `userextras/<key>`
(the last two in `authentication.k8s.io`), exactly as Kubernetes checks them.
"""

from __future__ import annotations

from aiohttp import web

from kubelite.machinery import errors
from kubelite.registry.generic.store import UserInfo

from .authz import ALLOW, Attributes, RBACAuthorizer, forbidden_message

EXTRA_PREFIX = "impersonate-extra-"


def impersonate(request: web.Request, user: UserInfo, authorizer: RBACAuthorizer) -> UserInfo:
    h = request.headers
    target = h.get("Impersonate-User")
    groups = h.getall("Impersonate-Group", [])
    uid = h.get("Impersonate-Uid")
    extra: dict[str, list[str]] = {}
    for k in h.keys():
        if k.lower().startswith(EXTRA_PREFIX):
            extra.setdefault(k[len(EXTRA_PREFIX):].lower(), []).extend(h.getall(k))
    if target is None:
        if groups or extra or uid:
            raise errors.new_bad_request("requested impersonation of groups, uid or extra fields without "
                                         "impersonating a user")
        return user

    def check(resource: str, name: str, group: str = "", namespace: str = "", sub: str = "") -> None:
        a = Attributes(user, "impersonate", namespace, group, resource, sub, name, True)
        decision, _ = authorizer.authorize(a)
        if decision != ALLOW:
            raise errors.new_forbidden(group, resource, name, forbidden_message(a))

    out_groups: list[str] = []
    if target.startswith("system:serviceaccount:") and target.count(":") == 3:
        _, _, ns, sa = target.split(":")
        check("serviceaccounts", sa, namespace=ns)
        out_groups = ["system:serviceaccounts", f"system:serviceaccounts:{ns}"]
    else:
        check("users", target)
    for g in groups:
        check("groups", g)
        out_groups.append(g)
    if uid:
        check("uids", uid, group="authentication.k8s.io")
    for key, values in extra.items():
        for v in values:
            check("userextras", v, group="authentication.k8s.io", sub=key)
    if target != "system:anonymous" and "system:authenticated" not in out_groups:
        out_groups.append("system:authenticated")
    return UserInfo(target, uid or "", out_groups, extra)
