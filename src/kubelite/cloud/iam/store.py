"""The IAM store: accounts, users, access keys, roles, managed and inline policies, and STS
sessions (temporary credentials), kept in the service `State`.

It answers the questions the rest of the service asks: the secret of an access key (SigV4), the
`Principal` a key stands for, and whether that principal may perform an action on a resource
(identity policies; a role's trust policy for AssumeRole).

Tables: `accounts` (id), `iam-users` and `iam-roles` (`<account>/<lower-case name>`: IAM names
are unique ignoring case), `iam-keys` (access key id), `iam-policies` (ARN), `sts-sessions`
(temporary access key id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from kubelite.cloud import arn as arns
from kubelite.cloud.api import errors
from kubelite.cloud.ids import Ids
from kubelite.cloud.state import State

from . import managed, policy

NAME_RE = re.compile(r"^[\w+=,.@-]+$")
PATH_RE = re.compile(r"^(/[\x21-\x7e]*)?/$|^/$")
SESSION_RE = re.compile(r"^[\w+=,.@-]*$")
MAX_KEYS_PER_USER = 2


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Principal:
    """The caller of a request, as STS GetCallerIdentity describes it."""

    account: str
    arn: str              # arn:aws:iam::<acct>:user/<path><name>, arn:aws:sts::<acct>:assumed-role/<role>/<s>, root
    user_id: str          # AIDA… for users, AROA…:<session> for role sessions, the account id for root
    kind: str             # "user", "assumed-role" or "root"
    name: str             # user or role name
    access_key_id: str = ""
    session_name: str = ""
    role_arn: str = ""    # for role sessions: the role's ARN (with its path)

    @property
    def canonical_arn(self) -> str:
        return arns.canonicalize(self.arn)


def validation(field: str, value: str, constraint: str) -> errors.ServiceError:
    return errors.validation_error(f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
                                   f"constraint: {constraint}")


def check_name(field: str, value: str | None, max_len: int = 64) -> str:
    if not value:
        raise validation(field, value or "", "Member must have length greater than or equal to 1")
    if len(value) > max_len:
        raise validation(field, value, f"Member must have length less than or equal to {max_len}")
    if not NAME_RE.match(value):
        raise validation(field, value, "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
    return value


def check_path(value: str | None) -> str:
    p = value or "/"
    if not (p.startswith("/") and p.endswith("/")) or len(p) > 512:
        raise validation("path", p, "Member must satisfy regular expression pattern: "
                                    "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)")
    return p


class IAMStore:
    def __init__(self, state: State, ids: Ids, clock: Any):
        self.state = state
        self.ids = ids
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now()

    # -- accounts ------------------------------------------------------------------------------
    def account(self, account_id: str) -> dict | None:
        return self.state.get("accounts", account_id)

    def accounts(self) -> list[dict]:
        return self.state.values("accounts")

    async def create_account(self, account_id: str, name: str, email: str = "", *, parent: str = "") -> dict:
        acct = {"Id": account_id, "Name": name, "Email": email, "Arn": arns.iam(account_id, "root"),
                "Status": "ACTIVE", "JoinedTimestamp": iso(self.now()), "Parent": parent}
        await self.state.put("accounts", account_id, acct)
        return acct

    async def bootstrap(self, account_id: str, *, user: str, access_key_id: str, secret: str,
                        roles: dict[str, tuple[str, list[str]]]) -> None:
        """Make sure the starter account, its admin user and key, and its roles exist (idempotent)."""
        if self.account(account_id) is None:
            await self.create_account(account_id, "kubelite", "starter@kubelite.invalid")
        if self.get_user(account_id, user) is None:
            await self.create_user(account_id, user, "/")
            await self.attach_policy("user", account_id, user, managed.arn_of("AdministratorAccess"))
        if self.state.get("iam-keys", access_key_id) is None:
            await self.create_access_key(account_id, user, access_key_id=access_key_id, secret=secret)
        for role, (service, policies) in roles.items():
            if self.get_role(account_id, role) is None:
                trust = {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
                await self.create_role(account_id, role, trust_document=_json(trust))
                for p in policies:
                    await self.attach_policy("role", account_id, role, managed.arn_of(p))

    # -- users ---------------------------------------------------------------------------------
    def get_user(self, account: str, name: str) -> dict | None:
        return self.state.get("iam-users", f"{account}/{name.lower()}")

    def require_user(self, account: str, name: str) -> dict:
        u = self.get_user(account, name)
        if u is None:
            raise errors.no_such_entity(f"The user with name {name} cannot be found.")
        return u

    def users(self, account: str) -> list[dict]:
        return self.state.values("iam-users", f"{account}/")

    async def create_user(self, account: str, name: str, path: str | None = None,
                          tags: list[dict] | None = None) -> dict:
        check_name("userName", name)
        path = check_path(path)
        if self.get_user(account, name) is not None:
            raise errors.entity_already_exists(f"User with name {name} already exists.")
        u = {"Path": path, "UserName": name, "UserId": self.ids.unique_id("AIDA"),
             "Arn": arns.iam(account, f"user{path}{name}"), "CreateDate": iso(self.now()),
             "Tags": list(tags or []), "InlinePolicies": {}, "AttachedPolicies": []}
        await self.state.put("iam-users", f"{account}/{name.lower()}", u)
        return u

    async def delete_user(self, account: str, name: str) -> None:
        u = self.require_user(account, name)
        if any(k["UserName"] == u["UserName"] and k["Account"] == account for k in self.state.values("iam-keys")):
            raise errors.delete_conflict("Cannot delete entity, must delete access keys first.")
        if u["InlinePolicies"]:
            raise errors.delete_conflict("Cannot delete entity, must delete policies first.")
        if u["AttachedPolicies"]:
            raise errors.delete_conflict("Cannot delete entity, must detach all policies first.")
        await self.state.delete("iam-users", f"{account}/{name.lower()}")

    # -- access keys ---------------------------------------------------------------------------
    def access_keys(self, account: str, user: str) -> list[dict]:
        return [k for k in self.state.values("iam-keys") if k["Account"] == account and k["UserName"] == user]

    async def create_access_key(self, account: str, user: str, *, access_key_id: str = "",
                                secret: str = "") -> dict:
        u = self.require_user(account, user)
        if len(self.access_keys(account, u["UserName"])) >= MAX_KEYS_PER_USER:
            raise errors.limit_exceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}")
        k = {"UserName": u["UserName"], "AccessKeyId": access_key_id or self.ids.access_key_id(),
             "Status": "Active", "SecretAccessKey": secret or self.ids.secret_access_key(),
             "CreateDate": iso(self.now()), "Account": account}
        await self.state.put("iam-keys", k["AccessKeyId"], k)
        return k

    def _user_key(self, account: str, user: str, key_id: str) -> dict:
        k = self.state.get("iam-keys", key_id)
        if k is None or k["Account"] != account or k["UserName"] != user:
            raise errors.no_such_entity(f"The Access Key with id {key_id} cannot be found.")
        return k

    async def delete_access_key(self, account: str, user: str, key_id: str) -> None:
        self._user_key(account, user, key_id)
        await self.state.delete("iam-keys", key_id)

    async def update_access_key(self, account: str, user: str, key_id: str, status: str) -> None:
        if status not in ("Active", "Inactive"):
            raise validation("status", status, "Member must satisfy enum value set: [Active, Inactive]")
        k = self._user_key(account, user, key_id)
        k["Status"] = status
        await self.state.put("iam-keys", key_id, k)

    # -- roles ---------------------------------------------------------------------------------
    def get_role(self, account: str, name: str) -> dict | None:
        return self.state.get("iam-roles", f"{account}/{name.lower()}")

    def require_role(self, account: str, name: str) -> dict:
        r = self.get_role(account, name)
        if r is None:
            raise errors.no_such_entity(f"The role with name {name} cannot be found.")
        return r

    def role_by_arn(self, role_arn: str) -> dict | None:
        p = arns.principal(role_arn)
        if p is None or p.kind != "role":
            return None
        r = self.get_role(p.account, p.name)
        if r is None or r["Arn"] != role_arn:
            return None
        return r

    def roles(self, account: str) -> list[dict]:
        return self.state.values("iam-roles", f"{account}/")

    async def create_role(self, account: str, name: str, *, trust_document: str, path: str | None = None,
                          description: str = "", max_session_duration: int | None = None,
                          tags: list[dict] | None = None) -> dict:
        check_name("roleName", name)
        path = check_path(path)
        policy.parse(trust_document, trust=True)
        msd = 3600 if max_session_duration is None else max_session_duration
        if not 3600 <= msd <= 43200:
            raise validation("maxSessionDuration", str(msd),
                             "Member must have value less than or equal to 43200" if msd > 43200 else
                             "Member must have value greater than or equal to 3600")
        if self.get_role(account, name) is not None:
            raise errors.entity_already_exists(f"Role with name {name} already exists.")
        r = {"Path": path, "RoleName": name, "RoleId": self.ids.unique_id("AROA"),
             "Arn": arns.iam(account, f"role{path}{name}"), "CreateDate": iso(self.now()),
             "AssumeRolePolicyDocument": trust_document, "Description": description,
             "MaxSessionDuration": msd, "Tags": list(tags or []), "InlinePolicies": {}, "AttachedPolicies": []}
        await self.state.put("iam-roles", f"{account}/{name.lower()}", r)
        return r

    async def update_trust(self, account: str, name: str, document: str) -> None:
        r = self.require_role(account, name)
        policy.parse(document, trust=True)
        r["AssumeRolePolicyDocument"] = document
        await self.state.put("iam-roles", f"{account}/{name.lower()}", r)

    async def delete_role(self, account: str, name: str) -> None:
        r = self.require_role(account, name)
        if r["InlinePolicies"]:
            raise errors.delete_conflict("Cannot delete entity, must delete policies first.")
        if r["AttachedPolicies"]:
            raise errors.delete_conflict("Cannot delete entity, must detach all policies first.")
        await self.state.delete("iam-roles", f"{account}/{name.lower()}")

    # -- policies (inline and managed) -----------------------------------------------------------
    def entity(self, kind: str, account: str, name: str) -> tuple[str, str, dict]:
        table = "iam-users" if kind == "user" else "iam-roles"
        e = self.require_user(account, name) if kind == "user" else self.require_role(account, name)
        return table, f"{account}/{name.lower()}", e

    async def put_inline_policy(self, kind: str, account: str, name: str, policy_name: str, document: str) -> None:
        check_name("policyName", policy_name, 128)
        policy.parse(document)
        table, key, e = self.entity(kind, account, name)
        e["InlinePolicies"][policy_name] = document
        await self.state.put(table, key, e)

    def get_inline_policy(self, kind: str, account: str, name: str, policy_name: str) -> str:
        _, _, e = self.entity(kind, account, name)
        doc = e["InlinePolicies"].get(policy_name)
        if doc is None:
            raise errors.no_such_entity(f"The {kind} policy with name {policy_name} cannot be found.")
        return doc

    async def delete_inline_policy(self, kind: str, account: str, name: str, policy_name: str) -> None:
        table, key, e = self.entity(kind, account, name)
        if policy_name not in e["InlinePolicies"]:
            raise errors.no_such_entity(f"The {kind} policy with name {policy_name} cannot be found.")
        del e["InlinePolicies"][policy_name]
        await self.state.put(table, key, e)

    def inline_policy_names(self, kind: str, account: str, name: str) -> list[str]:
        return sorted(self.entity(kind, account, name)[2]["InlinePolicies"])

    def managed_policy(self, policy_arn: str) -> dict | None:
        doc = managed.document(policy_arn)
        if doc is not None:
            name = policy_arn.rsplit("/", 1)[1]
            return {"PolicyName": name, "PolicyId": "ANPA" + name.upper()[:17].ljust(17, "0"), "Arn": policy_arn,
                    "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 0, "IsAttachable": True,
                    "CreateDate": "2015-02-06T18:39:46Z", "UpdateDate": "2015-02-06T18:39:46Z",
                    "Document": _json(doc)}
        return self.state.get("iam-policies", policy_arn)

    def customer_policies(self, account: str) -> list[dict]:
        return [p for p in self.state.values("iam-policies") if p["Arn"].split(":")[4] == account]

    async def create_policy(self, account: str, name: str, document: str, *, path: str | None = None,
                            description: str = "") -> dict:
        check_name("policyName", name, 128)
        path = check_path(path)
        policy.parse(document)
        policy_arn = arns.iam(account, f"policy{path}{name}")
        if any(p["PolicyName"].lower() == name.lower() for p in self.customer_policies(account)):
            raise errors.entity_already_exists(f"A policy called {name} already exists. Duplicate names are "
                                               f"not allowed.")
        now = iso(self.now())
        p = {"PolicyName": name, "PolicyId": self.ids.unique_id("ANPA"), "Arn": policy_arn, "Path": path,
             "DefaultVersionId": "v1", "AttachmentCount": 0, "IsAttachable": True, "Description": description,
             "CreateDate": now, "UpdateDate": now, "Document": document}
        await self.state.put("iam-policies", policy_arn, p)
        return p

    async def delete_policy(self, policy_arn: str) -> None:
        p = self.state.get("iam-policies", policy_arn)
        if p is None:
            raise errors.no_such_entity(f"Policy {policy_arn} was not found.")
        if p["AttachmentCount"]:
            raise errors.delete_conflict("Cannot delete a policy attached to entities.")
        await self.state.delete("iam-policies", policy_arn)

    async def attach_policy(self, kind: str, account: str, name: str, policy_arn: str) -> None:
        p = self.managed_policy(policy_arn)
        if p is None:
            raise errors.no_such_entity(f"Policy {policy_arn} does not exist or is not attachable.")
        table, key, e = self.entity(kind, account, name)
        if policy_arn not in e["AttachedPolicies"]:
            e["AttachedPolicies"].append(policy_arn)
            await self.state.put(table, key, e)
            if self.state.has("iam-policies", policy_arn):
                p["AttachmentCount"] += 1
                await self.state.put("iam-policies", policy_arn, p)

    async def detach_policy(self, kind: str, account: str, name: str, policy_arn: str) -> None:
        table, key, e = self.entity(kind, account, name)
        if policy_arn not in e["AttachedPolicies"]:
            raise errors.no_such_entity(f"Policy {policy_arn} was not found.")
        e["AttachedPolicies"].remove(policy_arn)
        await self.state.put(table, key, e)
        p = self.state.get("iam-policies", policy_arn)
        if p is not None:
            p["AttachmentCount"] = max(0, p["AttachmentCount"] - 1)
            await self.state.put("iam-policies", policy_arn, p)

    # -- credentials and principals ------------------------------------------------------------
    def secret_for(self, access_key_id: str) -> str | None:
        """The secret SigV4 verifies against: an active IAM key, or a live STS session's."""
        k = self.state.get("iam-keys", access_key_id)
        if k is not None:
            return k["SecretAccessKey"] if k["Status"] == "Active" else None
        s = self.state.get("sts-sessions", access_key_id)
        if s is not None:
            return s["SecretAccessKey"]
        return None

    def principal_for_key(self, access_key_id: str, security_token: str = "") -> Principal:
        """The principal behind a verified access key; raises `AuthenticationFailure` (kinds
        `unknown-key`, `expired-token`) for the gateway to render in the request's protocol."""
        k = self.state.get("iam-keys", access_key_id)
        if k is not None:
            u = self.get_user(k["Account"], k["UserName"])
            if u is None or k["Status"] != "Active":
                raise _auth("unknown-key", "The security token included in the request is invalid.")
            return Principal(k["Account"], u["Arn"], u["UserId"], "user", u["UserName"], access_key_id)
        s = self.state.get("sts-sessions", access_key_id)
        if s is None:
            raise _auth("unknown-key", "The security token included in the request is invalid.")
        if security_token != s["SessionToken"]:
            raise _auth("unknown-key", "The security token included in the request is invalid.")
        if parse_iso(s["Expiration"]) <= self.now():
            raise _auth("expired-token", "The security token included in the request is expired")
        if s["Kind"] == "user":
            u = self.get_user(s["Account"], s["Name"])
            if u is None:
                raise _auth("unknown-key", "The security token included in the request is invalid.")
            return Principal(s["Account"], u["Arn"], u["UserId"], "user", u["UserName"], access_key_id)
        r = self.role_by_arn(s["RoleArn"])
        if r is None:
            raise _auth("unknown-key", "The security token included in the request is invalid.")
        return Principal(s["Account"], arns.sts_assumed_role(s["Account"], r["RoleName"], s["SessionName"]),
                         f"{r['RoleId']}:{s['SessionName']}", "assumed-role", r["RoleName"], access_key_id,
                         s["SessionName"], r["Arn"])

    def identity_policies(self, p: Principal) -> list[list[policy.Statement]]:
        if p.kind == "root":
            return [policy.parse({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})]
        e = self.get_user(p.account, p.name) if p.kind == "user" else self.get_role(p.account, p.name)
        if e is None:
            return []
        docs: list[Any] = list(e["InlinePolicies"].values())
        for a in e["AttachedPolicies"]:
            mp = self.managed_policy(a)
            if mp is not None:
                docs.append(mp["Document"])
        out = []
        for d in docs:
            try:
                out.append(policy.parse(d))
            except errors.ServiceError:
                continue
        return out

    def request_context(self, p: Principal, region: str = "") -> dict[str, Any]:
        ctx: dict[str, Any] = {"aws:PrincipalArn": p.role_arn or p.arn, "aws:PrincipalAccount": p.account,
                               "aws:userid": p.user_id, "aws:PrincipalType":
                                   {"user": "User", "assumed-role": "AssumedRole", "root": "Account"}[p.kind]}
        if p.kind == "user":
            ctx["aws:username"] = p.name
        if region:
            ctx["aws:RequestedRegion"] = region
        return ctx

    def is_allowed(self, p: Principal, action: str, resource: str, region: str = "",
                   context: dict[str, Any] | None = None) -> bool:
        ctx = self.request_context(p, region)
        ctx.update(context or {})
        return policy.evaluate(self.identity_policies(p), action, resource, ctx) == policy.ALLOW

    # -- STS sessions --------------------------------------------------------------------------
    async def assume_role(self, caller: Principal, role_arn: str, session_name: str, *,
                          duration: int | None = None, external_id: str | None = None,
                          region: str = "") -> tuple[dict, Principal]:
        denied = errors.query_access_denied(f"User: {caller.arn} is not authorized to perform: sts:AssumeRole "
                                            f"on resource: {role_arn}")
        if not session_name or len(session_name) < 2:
            raise validation("roleSessionName", session_name or "",
                             "Member must have length greater than or equal to 2")
        if len(session_name) > 64:
            raise validation("roleSessionName", session_name, "Member must have length less than or equal to 64")
        if not SESSION_RE.match(session_name):
            raise validation("roleSessionName", session_name,
                             "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
        p = arns.principal(role_arn)
        if len(role_arn) < 20 or p is None or p.kind != "role":
            raise validation("roleArn", role_arn, "Member must have length greater than or equal to 20"
                             if len(role_arn) < 20 else "Member must satisfy regular expression pattern: "
                             "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD"
                             "\\u10000-\\u10FFFF]+")
        role = self.role_by_arn(role_arn)
        if role is None:
            raise denied
        callers = (caller.arn, caller.role_arn) if caller.role_arn else (caller.arn,)
        ctx: dict[str, Any] = {"aws:PrincipalArn": caller.role_arn or caller.arn,
                               "aws:PrincipalAccount": caller.account}
        if external_id is not None:
            ctx["sts:ExternalId"] = external_id
        how = policy.trust_decision(policy.parse(role["AssumeRolePolicyDocument"], trust=True),
                                    policy.Caller(caller.account, tuple(a for a in callers if a)),
                                    "sts:AssumeRole", ctx)
        same_account = caller.account == p.account
        identity_ok = self.is_allowed(caller, "sts:AssumeRole", role_arn, region)
        if how is None or not (identity_ok or (same_account and how == "explicit")):
            raise denied
        max_duration = 3600 if caller.kind == "assumed-role" else role["MaxSessionDuration"]
        d = 3600 if duration is None else duration
        if d < 900:
            raise validation("durationSeconds", str(d), "Member must have value greater than or equal to 900")
        if d > max_duration:
            raise validation("durationSeconds", str(d), "The requested DurationSeconds exceeds the "
                             "MaxSessionDuration set for this role.") if caller.kind != "assumed-role" else \
                errors.validation_error("The requested DurationSeconds exceeds the 1 hour session limit for "
                                        "roles assumed by role chaining.")
        return await self._session("role", p.account, role["RoleName"], session_name, d, role_arn=role["Arn"],
                                   source=caller.arn)

    async def session_token(self, caller: Principal, duration: int | None = None) -> dict:
        if caller.kind != "user":
            raise errors.query_access_denied("Cannot call GetSessionToken with session credentials")
        d = 43200 if duration is None else duration
        if not 900 <= d <= 129600:
            raise validation("durationSeconds", str(d), "Member must have value greater than or equal to 900"
                             if d < 900 else "Member must have value less than or equal to 129600")
        creds, _ = await self._session("user", caller.account, caller.name, "", d, source=caller.arn)
        return creds

    async def assume_role_as_service(self, role_arn: str, session_name: str, duration: int = 3600) -> dict:
        """Credentials for a role assumed by an AWS service on its own behalf (EC2 for an
        instance profile: the session name is the instance id). The role must trust nothing
        here: the service checked that when the role was passed to it."""
        role = self.role_by_arn(role_arn)
        if role is None:
            raise errors.no_such_entity(f"The role with name {role_arn.rsplit('/', 1)[-1]} cannot be found.")
        p = arns.principal(role_arn)
        creds, _ = await self._session("role", p.account if p else "", role["RoleName"], session_name,
                                       min(duration, role["MaxSessionDuration"]), role_arn=role["Arn"],
                                       source="ec2.amazonaws.com")
        return creds

    async def _session(self, kind: str, account: str, name: str, session_name: str, duration: int, *,
                       role_arn: str = "", source: str = "") -> tuple[dict, Principal]:
        now = self.now()
        await self._expire_sessions(now)
        akid = self.ids.temporary_access_key_id()
        s = {"AccessKeyId": akid, "SecretAccessKey": self.ids.secret_access_key(),
             "SessionToken": self.ids.session_token(), "Expiration": iso(now + timedelta(seconds=duration)),
             "Kind": kind, "Account": account, "Name": name, "SessionName": session_name, "RoleArn": role_arn,
             "Source": source, "CreateDate": iso(now)}
        await self.state.put("sts-sessions", akid, s)
        creds = {k: s[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")}
        return creds, self.principal_for_key(akid, s["SessionToken"])

    async def _expire_sessions(self, now: datetime) -> None:
        # Keep expired sessions a day so their requests get ExpiredToken rather than "invalid".
        for key, s in list(self.state.items("sts-sessions")):
            if parse_iso(s["Expiration"]) + timedelta(days=1) < now:
                await self.state.delete("sts-sessions", key)


def _auth(kind: str, message: str) -> errors.AuthenticationFailure:
    return errors.AuthenticationFailure(kind, message)


def _json(doc: dict) -> str:
    import json

    return json.dumps(doc)


def url_encoded(document: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986), as `GetRole` does."""
    return quote(document, safe="")
