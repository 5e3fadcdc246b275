"""The IAM service (query protocol, API 2010-05-08): users, access keys, roles, inline and managed
policies. Every operation is authorised against the caller's identity policies (`iam:<Op>` on the
entity's ARN) and answers `AccessDenied` otherwise."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from kubelite.cloud import arn as arns
from kubelite.cloud.api import errors
from kubelite.cloud.api.errors import QUERY
from kubelite.cloud.api.gateway import Call
from kubelite.cloud.api.protocols import FormParams, Response, render_query

from . import managed
from .store import IAMStore, Principal, url_encoded

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
VERSION = "2010-05-08"


def _user_view(u: dict) -> dict:
    v = {k: u[k] for k in ("Path", "UserName", "UserId", "Arn", "CreateDate")}
    if u.get("Tags"):
        v["Tags"] = u["Tags"]
    return v


def _role_view(r: dict) -> dict:
    v = {k: r[k] for k in ("Path", "RoleName", "RoleId", "Arn", "CreateDate")}
    v["AssumeRolePolicyDocument"] = url_encoded(r["AssumeRolePolicyDocument"])
    if r.get("Description"):
        v["Description"] = r["Description"]
    v["MaxSessionDuration"] = r["MaxSessionDuration"]
    if r.get("Tags"):
        v["Tags"] = r["Tags"]
    return v


def _policy_view(p: dict) -> dict:
    keys = ("PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "AttachmentCount", "IsAttachable",
            "Description", "CreateDate", "UpdateDate")
    return {k: p[k] for k in keys if p.get(k) not in (None, "")}


def _page(items: list, params: FormParams, key: str) -> dict[str, Any]:
    start = int(params.get("Marker") or 0) if (params.get("Marker") or "0").isdigit() else 0
    limit = params.int("MaxItems") or 100
    page = items[start:start + limit]
    out: dict[str, Any] = {key: page, "IsTruncated": start + limit < len(items)}
    if out["IsTruncated"]:
        out["Marker"] = str(start + limit)
    return out


class IAMService:
    name = "iam"
    protocol = QUERY

    def __init__(self, iam: IAMStore):
        self.iam = iam
        self.ops: dict[str, Callable[[Call, FormParams], Awaitable[dict | None]]] = {
            name[3:]: getattr(self, name) for name in dir(self) if name.startswith("op_")}

    async def handle(self, call: Call) -> Response:
        params = call.form
        if (params.get("Version") or VERSION) != VERSION:
            raise errors.invalid_action(call.action, params.get("Version") or "")
        op = self.ops.get(call.action)
        if op is None:
            raise errors.invalid_action(call.action, VERSION)
        return render_query(call.action, NAMESPACE, await op(call, params), call.request_id)

    def authorize(self, call: Call, resource: str) -> None:
        p: Principal = call.principal
        action = f"iam:{call.action}"
        if not self.iam.is_allowed(p, action, resource, call.region):
            raise errors.query_access_denied(f"User: {p.arn} is not authorized to perform: {action} on resource: "
                                             f"{resource} because no identity-based policy allows the {action} "
                                             f"action")

    def _user_name(self, call: Call, params: FormParams) -> str:
        name = params.get("UserName")
        if name:
            return name
        if call.principal.kind != "user":
            raise errors.validation_error("Must specify userName when calling with non-User credentials")
        return call.principal.name

    def _user_arn(self, account: str, name: str) -> str:
        u = self.iam.get_user(account, name)
        return u["Arn"] if u else arns.iam(account, f"user/{name}")

    def _role_arn(self, account: str, name: str) -> str:
        r = self.iam.get_role(account, name)
        return r["Arn"] if r else arns.iam(account, f"role/{name}")

    # -- users -----------------------------------------------------------------------------------
    async def op_CreateUser(self, call: Call, params: FormParams) -> dict:
        name = params.require("UserName")
        path = params.get("Path") or "/"
        self.authorize(call, arns.iam(call.principal.account, f"user{path}{name}"))
        return {"User": _user_view(await self.iam.create_user(call.principal.account, name, path,
                                                              params.tags()))}

    async def op_GetUser(self, call: Call, params: FormParams) -> dict:
        name = self._user_name(call, params)
        self.authorize(call, self._user_arn(call.principal.account, name))
        return {"User": _user_view(self.iam.require_user(call.principal.account, name))}

    async def op_ListUsers(self, call: Call, params: FormParams) -> dict:
        self.authorize(call, arns.iam(call.principal.account, "user/"))
        prefix = params.get("PathPrefix") or "/"
        users = [_user_view(u) for u in self.iam.users(call.principal.account) if u["Path"].startswith(prefix)]
        return _page(users, params, "Users")

    async def op_DeleteUser(self, call: Call, params: FormParams) -> None:
        name = params.require("UserName")
        self.authorize(call, self._user_arn(call.principal.account, name))
        await self.iam.delete_user(call.principal.account, name)

    async def op_TagUser(self, call: Call, params: FormParams) -> None:
        name = params.require("UserName")
        self.authorize(call, self._user_arn(call.principal.account, name))
        u = self.iam.require_user(call.principal.account, name)
        tags = {t["Key"]: t["Value"] for t in u.get("Tags") or []}
        tags.update({t["Key"]: t["Value"] for t in params.tags()})
        u["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        await self.iam.state.put("iam-users", f"{call.principal.account}/{name.lower()}", u)

    # -- access keys -------------------------------------------------------------------------------
    async def op_CreateAccessKey(self, call: Call, params: FormParams) -> dict:
        name = self._user_name(call, params)
        self.authorize(call, self._user_arn(call.principal.account, name))
        k = await self.iam.create_access_key(call.principal.account, name)
        return {"AccessKey": {x: k[x] for x in ("UserName", "AccessKeyId", "Status", "SecretAccessKey",
                                                 "CreateDate")}}

    async def op_ListAccessKeys(self, call: Call, params: FormParams) -> dict:
        name = self._user_name(call, params)
        self.authorize(call, self._user_arn(call.principal.account, name))
        self.iam.require_user(call.principal.account, name)
        keys = [{x: k[x] for x in ("UserName", "AccessKeyId", "Status", "CreateDate")}
                for k in self.iam.access_keys(call.principal.account, name)]
        return _page(keys, params, "AccessKeyMetadata")

    async def op_DeleteAccessKey(self, call: Call, params: FormParams) -> None:
        name = self._user_name(call, params)
        self.authorize(call, self._user_arn(call.principal.account, name))
        await self.iam.delete_access_key(call.principal.account, name, params.require("AccessKeyId"))

    async def op_UpdateAccessKey(self, call: Call, params: FormParams) -> None:
        name = self._user_name(call, params)
        self.authorize(call, self._user_arn(call.principal.account, name))
        await self.iam.update_access_key(call.principal.account, name, params.require("AccessKeyId"),
                                         params.require("Status"))

    # -- roles -------------------------------------------------------------------------------------
    async def op_CreateRole(self, call: Call, params: FormParams) -> dict:
        name = params.require("RoleName")
        path = params.get("Path") or "/"
        self.authorize(call, arns.iam(call.principal.account, f"role{path}{name}"))
        r = await self.iam.create_role(call.principal.account, name,
                                       trust_document=params.require("AssumeRolePolicyDocument"), path=path,
                                       description=params.get("Description") or "",
                                       max_session_duration=params.int("MaxSessionDuration"), tags=params.tags())
        return {"Role": _role_view(r)}

    async def op_GetRole(self, call: Call, params: FormParams) -> dict:
        name = params.require("RoleName")
        self.authorize(call, self._role_arn(call.principal.account, name))
        return {"Role": _role_view(self.iam.require_role(call.principal.account, name))}

    async def op_ListRoles(self, call: Call, params: FormParams) -> dict:
        self.authorize(call, arns.iam(call.principal.account, "role/"))
        prefix = params.get("PathPrefix") or "/"
        roles = [_role_view(r) for r in self.iam.roles(call.principal.account) if r["Path"].startswith(prefix)]
        return _page(roles, params, "Roles")

    async def op_DeleteRole(self, call: Call, params: FormParams) -> None:
        name = params.require("RoleName")
        self.authorize(call, self._role_arn(call.principal.account, name))
        await self.iam.delete_role(call.principal.account, name)

    async def op_UpdateAssumeRolePolicy(self, call: Call, params: FormParams) -> None:
        name = params.require("RoleName")
        self.authorize(call, self._role_arn(call.principal.account, name))
        await self.iam.update_trust(call.principal.account, name, params.require("PolicyDocument"))

    # -- inline policies ---------------------------------------------------------------------------
    async def _put_inline(self, kind: str, call: Call, params: FormParams) -> None:
        name = params.require("UserName" if kind == "user" else "RoleName")
        arn = self._user_arn if kind == "user" else self._role_arn
        self.authorize(call, arn(call.principal.account, name))
        await self.iam.put_inline_policy(kind, call.principal.account, name, params.require("PolicyName"),
                                         params.require("PolicyDocument"))

    async def _get_inline(self, kind: str, call: Call, params: FormParams) -> dict:
        key = "UserName" if kind == "user" else "RoleName"
        name = params.require(key)
        arn = self._user_arn if kind == "user" else self._role_arn
        self.authorize(call, arn(call.principal.account, name))
        policy_name = params.require("PolicyName")
        doc = self.iam.get_inline_policy(kind, call.principal.account, name, policy_name)
        return {key: name, "PolicyName": policy_name, "PolicyDocument": url_encoded(doc)}

    async def _delete_inline(self, kind: str, call: Call, params: FormParams) -> None:
        name = params.require("UserName" if kind == "user" else "RoleName")
        arn = self._user_arn if kind == "user" else self._role_arn
        self.authorize(call, arn(call.principal.account, name))
        await self.iam.delete_inline_policy(kind, call.principal.account, name, params.require("PolicyName"))

    async def _list_inline(self, kind: str, call: Call, params: FormParams) -> dict:
        name = params.require("UserName" if kind == "user" else "RoleName")
        arn = self._user_arn if kind == "user" else self._role_arn
        self.authorize(call, arn(call.principal.account, name))
        return _page(self.iam.inline_policy_names(kind, call.principal.account, name), params, "PolicyNames")

    async def op_PutUserPolicy(self, call: Call, params: FormParams) -> None:
        await self._put_inline("user", call, params)

    async def op_GetUserPolicy(self, call: Call, params: FormParams) -> dict:
        return await self._get_inline("user", call, params)

    async def op_DeleteUserPolicy(self, call: Call, params: FormParams) -> None:
        await self._delete_inline("user", call, params)

    async def op_ListUserPolicies(self, call: Call, params: FormParams) -> dict:
        return await self._list_inline("user", call, params)

    async def op_PutRolePolicy(self, call: Call, params: FormParams) -> None:
        await self._put_inline("role", call, params)

    async def op_GetRolePolicy(self, call: Call, params: FormParams) -> dict:
        return await self._get_inline("role", call, params)

    async def op_DeleteRolePolicy(self, call: Call, params: FormParams) -> None:
        await self._delete_inline("role", call, params)

    async def op_ListRolePolicies(self, call: Call, params: FormParams) -> dict:
        return await self._list_inline("role", call, params)

    # -- managed policies --------------------------------------------------------------------------
    async def op_CreatePolicy(self, call: Call, params: FormParams) -> dict:
        name = params.require("PolicyName")
        path = params.get("Path") or "/"
        self.authorize(call, arns.iam(call.principal.account, f"policy{path}{name}"))
        p = await self.iam.create_policy(call.principal.account, name, params.require("PolicyDocument"),
                                         path=path, description=params.get("Description") or "")
        return {"Policy": _policy_view(p)}

    def _policy(self, call: Call, params: FormParams) -> dict:
        policy_arn = params.require("PolicyArn")
        self.authorize(call, policy_arn)
        p = self.iam.managed_policy(policy_arn)
        if p is None or (not policy_arn.startswith(managed.AWS_POLICY_PREFIX)
                         and policy_arn.split(":")[4] != call.principal.account):
            raise errors.no_such_entity(f"Policy {policy_arn} was not found.")
        return p

    async def op_GetPolicy(self, call: Call, params: FormParams) -> dict:
        return {"Policy": _policy_view(self._policy(call, params))}

    async def op_GetPolicyVersion(self, call: Call, params: FormParams) -> dict:
        p = self._policy(call, params)
        version = params.require("VersionId")
        if version != p["DefaultVersionId"]:
            raise errors.no_such_entity(f"Policy {p['Arn']} version {version} does not exist or is not "
                                        f"attachable.")
        return {"PolicyVersion": {"Document": url_encoded(p["Document"]), "VersionId": version,
                                  "IsDefaultVersion": True, "CreateDate": p["CreateDate"]}}

    async def op_DeletePolicy(self, call: Call, params: FormParams) -> None:
        p = self._policy(call, params)
        if p["Arn"].startswith(managed.AWS_POLICY_PREFIX):
            raise errors.ServiceError("UnmodifiableEntity", "Cannot delete an AWS managed policy.", 400)
        await self.iam.delete_policy(p["Arn"])

    async def op_ListPolicies(self, call: Call, params: FormParams) -> dict:
        self.authorize(call, arns.iam(call.principal.account, "policy/"))
        scope = params.get("Scope") or "All"
        out = []
        if scope in ("All", "AWS"):
            out += [_policy_view(self.iam.managed_policy(managed.arn_of(n)) or {})
                    for n in sorted(managed.MANAGED_POLICIES)]
        if scope in ("All", "Local"):
            out += [_policy_view(p) for p in self.iam.customer_policies(call.principal.account)]
        if params.bool("OnlyAttached"):
            out = [p for p in out if p.get("AttachmentCount")]
        return _page(out, params, "Policies")

    async def _attach(self, kind: str, call: Call, params: FormParams, detach: bool = False) -> None:
        name = params.require("UserName" if kind == "user" else "RoleName")
        arn = self._user_arn if kind == "user" else self._role_arn
        self.authorize(call, arn(call.principal.account, name))
        policy_arn = params.require("PolicyArn")
        if detach:
            await self.iam.detach_policy(kind, call.principal.account, name, policy_arn)
        else:
            await self.iam.attach_policy(kind, call.principal.account, name, policy_arn)

    async def _list_attached(self, kind: str, call: Call, params: FormParams) -> dict:
        name = params.require("UserName" if kind == "user" else "RoleName")
        arn = self._user_arn if kind == "user" else self._role_arn
        self.authorize(call, arn(call.principal.account, name))
        _, _, e = self.iam.entity(kind, call.principal.account, name)
        attached = [{"PolicyName": a.rsplit("/", 1)[1], "PolicyArn": a} for a in e["AttachedPolicies"]]
        return _page(attached, params, "AttachedPolicies")

    async def op_AttachUserPolicy(self, call: Call, params: FormParams) -> None:
        await self._attach("user", call, params)

    async def op_DetachUserPolicy(self, call: Call, params: FormParams) -> None:
        await self._attach("user", call, params, detach=True)

    async def op_AttachRolePolicy(self, call: Call, params: FormParams) -> None:
        await self._attach("role", call, params)

    async def op_DetachRolePolicy(self, call: Call, params: FormParams) -> None:
        await self._attach("role", call, params, detach=True)

    async def op_ListAttachedUserPolicies(self, call: Call, params: FormParams) -> dict:
        return await self._list_attached("user", call, params)

    async def op_ListAttachedRolePolicies(self, call: Call, params: FormParams) -> dict:
        return await self._list_attached("role", call, params)
