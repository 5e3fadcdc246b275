"""Create-only review resources: SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview,
LocalSubjectAccessReview (RBAC decisions), SelfSubjectReview (`kubectl auth whoami`), TokenReview.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kubelite.machinery import errors

from .. import negotiation
from ..authz import ALLOW, Attributes
from kubelite.registry.generic.store import UserInfo
from .context import RequestContext

if TYPE_CHECKING:
    from ..server import APIServer


def _attrs(user: UserInfo, spec: dict) -> Attributes:
    ra = spec.get("resourceAttributes")
    nra = spec.get("nonResourceAttributes")
    if ra:
        return Attributes(user, ra.get("verb", ""), ra.get("namespace", ""), ra.get("group", ""),
                          ra.get("resource", ""), ra.get("subresource", ""), ra.get("name", ""), True)
    if nra:
        return Attributes(user, nra.get("verb", ""), is_resource_request=False, path=nra.get("path", ""))
    raise errors.new_invalid("authorization.k8s.io", "SelfSubjectAccessReview", "", [
        errors.invalid("spec.resourceAttributes", None,
                       "exactly one of nonResourceAttributes or resourceAttributes must be specified")])


class ReviewEndpoints:
    def __init__(self, server: "APIServer"):
        self.server = server

    async def _body(self, ctx: RequestContext) -> dict:
        body = await negotiation.read_body(ctx.request)
        obj = negotiation.decode_object(body, ctx.request.headers.get("Content-Type", ""))
        if not isinstance(obj, dict):
            raise errors.new_bad_request("the body must be a JSON object")
        r = ctx.resource
        assert r is not None
        obj["apiVersion"] = r.api_version
        obj["kind"] = r.kind
        obj.setdefault("metadata", {})
        if obj["metadata"].get("creationTimestamp") is None:
            obj["metadata"].pop("creationTimestamp", None)
        return obj

    async def handle(self, ctx: RequestContext) -> web.StreamResponse:
        r = ctx.resource
        assert r is not None
        if ctx.info.verb != "create":
            raise errors.new_method_not_supported(r.group, r.plural, ctx.info.verb)
        obj = await self._body(ctx)
        spec = obj.get("spec") or {}
        kind = r.kind
        if kind == "SelfSubjectAccessReview":
            obj["status"] = self._decide(_attrs(ctx.user, spec))
        elif kind == "LocalSubjectAccessReview":
            user = UserInfo(spec.get("user", ""), spec.get("uid", ""), list(spec.get("groups") or []),
                            spec.get("extra") or {})
            a = _attrs(user, spec)
            if a.namespace != ctx.info.namespace:
                raise errors.new_bad_request(f"spec.resourceAttributes.namespace must match namespace: "
                                             f"{ctx.info.namespace}")
            obj["status"] = self._decide(a)
        elif kind == "SubjectAccessReview":
            user = UserInfo(spec.get("user", ""), spec.get("uid", ""), list(spec.get("groups") or []),
                            spec.get("extra") or {})
            if not user.username and not user.groups:
                raise errors.new_invalid("authorization.k8s.io", "SubjectAccessReview", "", [
                    errors.invalid("spec.user", "", "at least one of user or group must be specified")])
            obj["status"] = self._decide(_attrs(user, spec))
        elif kind == "SelfSubjectRulesReview":
            ns = spec.get("namespace", "")
            obj["status"] = self._rules(ctx.user, ns)
        elif kind == "SelfSubjectReview":
            obj["status"] = {"userInfo": ctx.user.to_dict()}
        elif kind == "TokenReview":
            obj["status"] = await self._token_review(spec)
        else:
            raise errors.new_not_found(r.group, r.plural, "")
        return ctx.reply(obj, 201)

    def _decide(self, a: Attributes) -> dict:
        decision, reason = self.server.authorizer.authorize(a)
        st: dict = {"allowed": decision == ALLOW}
        if reason:
            st["reason"] = reason
        return st

    def _rules(self, user: UserInfo, namespace: str) -> dict:
        if "system:masters" in user.groups:
            return {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
        res, nonres = [], []
        for rule in self.server.authorizer.rules_for(user, namespace):
            if rule.get("nonResourceURLs"):
                nonres.append({"verbs": rule.get("verbs") or [], "nonResourceURLs": rule["nonResourceURLs"]})
            else:
                e = {"verbs": rule.get("verbs") or [], "apiGroups": rule.get("apiGroups") or [],
                     "resources": rule.get("resources") or []}
                if rule.get("resourceNames"):
                    e["resourceNames"] = rule["resourceNames"]
                res.append(e)
        return {"resourceRules": res, "nonResourceRules": nonres, "incomplete": False}

    async def _token_review(self, spec: dict) -> dict:
        token = spec.get("token", "")
        for a in self.server.authenticator.token_authenticators:
            try:
                u = await a.authenticate_token(token)
            except errors.StatusError:
                u = None
            if u is not None:
                return {"authenticated": True, "user": u.to_dict(), "audiences": spec.get("audiences") or []}
        return {"authenticated": False, "error": "invalid bearer token"}
