"""The API server's side of CertificateSigningRequests (Kubernetes' CSR registry strategy).

- `CSRIdentity` (admission): on create the requester's identity (`spec.username`, `uid`,
  `groups`, `extra`) is stamped from the authenticated user, whatever the client sent, so the
  approver can trust it; a plain update cannot change spec or status; a `/status` write may set
  the certificate and Failed conditions but cannot approve or deny.
- `approval_handler`: the `approval` subresource (`kubectl certificate approve|deny`): only the
  Approved and Denied conditions change, and the caller needs the `approve` verb on the signer
  (`certificates.k8s.io/signers`, resourceName = the signer name or `<domain>/*`).
  Approved and Denied exclude each other and, once set, stay.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from kubelite.apiserver.authz import ALLOW, Attributes
from kubelite.machinery import errors, timeutil
from kubelite.registry.generic.store import AdmissionAttributes
from kubelite.registry.generic.strategy import StatusStrategy

GROUP = "certificates.k8s.io"
PLURAL = "certificatesigningrequests"
APPROVAL_TYPES = ("Approved", "Denied")


def _is_csr(a: AdmissionAttributes) -> bool:
    return a.resource.group == GROUP and a.resource.kind == "CertificateSigningRequest"


def _conditions(obj: dict | None) -> list[dict]:
    return list(((obj or {}).get("status") or {}).get("conditions") or [])


class CSRIdentity:
    async def admit(self, a: AdmissionAttributes) -> None:
        if not _is_csr(a) or a.obj is None:
            return
        if a.operation == "CREATE":
            spec = a.obj.setdefault("spec", {})
            user = a.user
            spec["username"] = user.username if user else ""
            spec["uid"] = user.uid if user else ""
            spec["groups"] = list(user.groups) if user else []
            if user and user.extra:
                spec["extra"] = {k: list(v) for k, v in user.extra.items()}
            else:
                spec.pop("extra", None)
            if not spec["uid"]:
                spec.pop("uid")
            return
        if a.operation != "UPDATE" or a.old_obj is None:
            return
        if a.subresource == "":
            a.obj["spec"] = copy.deepcopy(a.old_obj.get("spec") or {})
            if "status" in a.old_obj:
                a.obj["status"] = copy.deepcopy(a.old_obj["status"])
            else:
                a.obj.pop("status", None)
        elif a.subresource == "status":
            keep = [c for c in _conditions(a.old_obj) if c.get("type") in APPROVAL_TYPES]
            rest = [c for c in _conditions(a.obj) if c.get("type") not in APPROVAL_TYPES]
            a.obj.setdefault("status", {})["conditions"] = keep + rest
            if not a.obj["status"]["conditions"]:
                a.obj["status"].pop("conditions")

    async def validate(self, a: AdmissionAttributes) -> None:
        return None


class ApprovalStrategy(StatusStrategy):
    """Writes through `/approval`: only the Approved/Denied conditions of the new object count."""

    def prepare_for_update(self, new: dict, old: dict) -> None:
        wanted = [c for c in _conditions(new) if c.get("type") in APPROVAL_TYPES]
        rv = new.get("metadata", {}).get("resourceVersion")
        new.clear()
        new.update(copy.deepcopy(old))
        if rv is not None:
            new["metadata"]["resourceVersion"] = rv
        old_approval = {c.get("type"): c for c in _conditions(old) if c.get("type") in APPROVAL_TYPES}
        now = timeutil.rfc3339()
        merged = []
        for c in wanted:
            c = dict(c)
            prev = old_approval.get(c.get("type"))
            c.setdefault("lastUpdateTime", now)
            if prev is not None and prev.get("status") == c.get("status"):
                c["lastTransitionTime"] = prev.get("lastTransitionTime") or now
            else:
                c.setdefault("lastTransitionTime", now)
            merged.append(c)
        rest = [c for c in _conditions(old) if c.get("type") not in APPROVAL_TYPES]
        new.setdefault("status", {})["conditions"] = merged + rest

    def validate_update(self, new: dict, old: dict) -> list:
        errs = super().validate_update(new, old)
        types = {c.get("type") for c in _conditions(new) if c.get("status") == "True"}
        if {"Approved", "Denied"} <= types:
            errs.append(errors.invalid("status.conditions", "Approved", "Approved and Denied conditions are "
                                                                        "mutually exclusive"))
        for c in _conditions(old):
            if c.get("type") in APPROVAL_TYPES and c.get("status") == "True":
                still = [n for n in _conditions(new) if n.get("type") == c["type"] and n.get("status") == "True"]
                if not still:
                    errs.append(errors.invalid("status.conditions", c["type"],
                                               f"updates may not remove a condition of type {c['type']!r}"))
        return errs


def signer_allows(authorizer: Any, user: Any, verb: str, signer: str) -> bool:
    """Kubernetes' signer permission check: `verb` on `signers/<signer>` or `signers/<domain>/*`."""
    domain = signer.split("/", 1)[0]
    for name in (signer, f"{domain}/*"):
        a = Attributes(user, verb, "", GROUP, "signers", "", name, True, "")
        if authorizer.authorize(a)[0] == ALLOW:
            return True
    return False


async def approval_handler(server: Any, ctx: Any, store: Any) -> web.StreamResponse:
    """`certificatesigningrequests/<name>/approval`: get, update (kubectl) and patch."""
    res = server.endpoints
    verb = ctx.info.verb
    if verb == "get":
        return await res.get(ctx, store)
    if verb not in ("update", "patch"):
        raise errors.new_method_not_supported(GROUP, PLURAL + "/approval", verb)
    current = await store.get("", ctx.info.name)
    signer = (current.get("spec") or {}).get("signerName", "")
    if not signer_allows(server.authorizer, ctx.user, "approve", signer):
        raise errors.new_forbidden(GROUP, PLURAL + "/approval", ctx.info.name,
                                   f'user not permitted to approve requests with signerName "{signer}"')
    strategy = ApprovalStrategy(store.strategy)
    if verb == "patch":
        return await res.patch(ctx, store, subresource="approval", strategy=strategy)
    obj = await res.read_object(ctx)
    new, _ = await store.update("", ctx.info.name, obj, ctx.write_options("approval"), strategy=strategy)
    return res.respond_object(ctx, store, new)
