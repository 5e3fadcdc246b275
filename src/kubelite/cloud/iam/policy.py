"""IAM policy documents: parse and validate them, and evaluate them (pure).

Evaluation follows IAM's rules for one account: an explicit `Deny` wins, else an `Allow` from any
policy allows, else the request is implicitly denied. Actions match case-insensitively with `*`
and `?` wildcards (`eks:Describe*`), resources case-sensitively. `NotAction` and `NotResource`
are honoured. Conditions support the common operators (`StringEquals`, `StringNotEquals`,
`StringLike`, `StringNotLike`, `ArnEquals`, `ArnLike`, `ArnNotEquals`, `ArnNotLike`, `Bool`, and
the `...IfExists` forms); a statement with an operator outside that set never applies.

Trust policies (a role's `AssumeRolePolicyDocument`) name principals: `match_principal` says
whether a statement names the caller itself (`"explicit"`), its whole account (`"account"`),
or not at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from kubelite.cloud.api import errors

ALLOW = "Allow"
DENY = "Deny"
IMPLICIT_DENY = "ImplicitDeny"
VERSIONS = ("2012-10-17", "2008-10-17")


@dataclass
class Statement:
    effect: str
    actions: list[str] = field(default_factory=list)
    not_actions: list[str] | None = None
    resources: list[str] | None = None
    not_resources: list[str] | None = None
    principal: Any = None
    not_principal: Any = None
    condition: dict | None = None


def _strings(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise errors.malformed_policy_document(f"Syntax errors in policy. {what} must be a string or a list of strings.")


def parse(document: str | dict, *, trust: bool = False) -> list[Statement]:
    """Parse and validate a policy document; raise `MalformedPolicyDocument` with IAM's wording."""
    if isinstance(document, str):
        try:
            doc = json.loads(document)
        except ValueError as e:
            raise errors.malformed_policy_document("Syntax errors in policy.") from e
    else:
        doc = document
    if not isinstance(doc, dict):
        raise errors.malformed_policy_document("Syntax errors in policy.")
    version = doc.get("Version")
    if version is not None and version not in VERSIONS:
        raise errors.malformed_policy_document("The policy must contain a valid version string")
    raw = doc.get("Statement")
    if raw is None:
        raise errors.malformed_policy_document("Syntax errors in policy.")
    raw_list = raw if isinstance(raw, list) else [raw]
    out = []
    for s in raw_list:
        if not isinstance(s, dict):
            raise errors.malformed_policy_document("Syntax errors in policy.")
        effect = s.get("Effect")
        if effect not in (ALLOW, DENY):
            raise errors.malformed_policy_document("Invalid effect: " + str(effect) if effect is not None
                                                   else "Missing required field Effect")
        if "Action" not in s and "NotAction" not in s:
            raise errors.malformed_policy_document("Policy statement must contain actions.")
        if trust:
            if "Principal" not in s and "NotPrincipal" not in s:
                raise errors.malformed_policy_document("Has prohibited field Resource" if "Resource" in s
                                                       else "Missing required field Principal")
        else:
            if "Principal" in s or "NotPrincipal" in s:
                raise errors.malformed_policy_document("Policy document should not specify a principal.")
            if "Resource" not in s and "NotResource" not in s:
                raise errors.malformed_policy_document("Policy statement must contain resources.")
        cond = s.get("Condition")
        if cond is not None and not isinstance(cond, dict):
            raise errors.malformed_policy_document("Syntax errors in policy.")
        out.append(Statement(
            effect=effect,
            actions=_strings(s["Action"], "Action") if "Action" in s else [],
            not_actions=_strings(s["NotAction"], "NotAction") if "NotAction" in s else None,
            resources=_strings(s["Resource"], "Resource") if "Resource" in s else None,
            not_resources=_strings(s["NotResource"], "NotResource") if "NotResource" in s else None,
            principal=s.get("Principal"), not_principal=s.get("NotPrincipal"), condition=cond))
    return out


def _wild(pattern: str, value: str, *, case: bool) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one character, nothing else is special."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == value if case else pattern.lower() == value.lower()
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, 0 if case else re.IGNORECASE) is not None


def action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(_wild(p, action, case=False) for p in patterns)


def resource_matches(patterns: Iterable[str], resource: str) -> bool:
    return any(_wild(p, resource, case=True) for p in patterns)


def _condition_applies(cond: dict | None, context: dict[str, Any]) -> bool:
    if not cond:
        return True
    ctx = {k.lower(): v for k, v in context.items()}
    for op, block in cond.items():
        if not isinstance(block, dict):
            return False
        if_exists = op.endswith("IfExists")
        base = op[:-len("IfExists")] if if_exists else op
        for key, wanted in block.items():
            want = wanted if isinstance(wanted, list) else [wanted]
            want = [str(w).lower() if isinstance(w, bool) else str(w) for w in want]
            have = ctx.get(key.lower())
            if have is None:
                if if_exists or base.startswith("StringNot") or base.startswith("ArnNot"):
                    continue
                return False
            values = [str(h) for h in (have if isinstance(have, list) else [have])]
            if base == "StringEquals" or base == "ArnEquals":
                ok = any(v in want for v in values)
            elif base == "StringNotEquals" or base == "ArnNotEquals":
                ok = not any(v in want for v in values)
            elif base in ("StringLike", "ArnLike"):
                ok = any(_wild(w, v, case=True) for w in want for v in values)
            elif base in ("StringNotLike", "ArnNotLike"):
                ok = not any(_wild(w, v, case=True) for w in want for v in values)
            elif base == "StringEqualsIgnoreCase":
                ok = any(v.lower() in [w.lower() for w in want] for v in values)
            elif base == "Bool":
                ok = any(v.lower() in want for v in values)
            else:
                return False
            if not ok:
                return False
    return True


def statement_applies(s: Statement, action: str, resource: str, context: dict[str, Any]) -> bool:
    if s.not_actions is not None:
        if action_matches(s.not_actions, action):
            return False
    elif not action_matches(s.actions, action):
        return False
    if s.not_resources is not None:
        if resource_matches(s.not_resources, resource):
            return False
    elif s.resources is not None and not resource_matches(s.resources, resource):
        return False
    return _condition_applies(s.condition, context)


def evaluate(policies: Iterable[list[Statement]], action: str, resource: str,
             context: dict[str, Any] | None = None) -> str:
    """`Allow`, `Deny` (explicit) or `ImplicitDeny`."""
    ctx = context or {}
    allowed = False
    for statements in policies:
        for s in statements:
            if statement_applies(s, action, resource, ctx):
                if s.effect == DENY:
                    return DENY
                allowed = True
    return ALLOW if allowed else IMPLICIT_DENY


# -- trust policies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who asks to assume a role: its ARNs (the caller ARN and, for sessions, the role ARN)."""

    account: str
    arns: tuple[str, ...]
    service: str = ""


def _aws_principals(p: Any) -> tuple[list[str], list[str]]:
    if p == "*":
        return ["*"], []
    if not isinstance(p, dict):
        return [], []
    aws = p.get("AWS", [])
    svc = p.get("Service", [])
    return (aws if isinstance(aws, list) else [aws]), (svc if isinstance(svc, list) else [svc])


def match_principal(s: Statement, caller: Caller) -> str | None:
    """`"explicit"` when the statement names the caller, `"account"` when it names the caller's
    account (root), else None."""
    aws, services = _aws_principals(s.principal)
    if caller.service:
        return "explicit" if caller.service in services or "*" in aws else None
    best = None
    for entry in aws:
        if entry == "*":
            best = best or "explicit"
        elif entry == caller.account or entry == f"arn:aws:iam::{caller.account}:root":
            best = best or "account"
        elif entry in caller.arns:
            return "explicit"
    return best


def trust_decision(statements: list[Statement], caller: Caller, action: str,
                   context: dict[str, Any] | None = None) -> str | None:
    """What the trust policy says about `caller` doing `action` (`sts:AssumeRole`): None if it
    does not allow it, else how the caller was named (`"explicit"` or `"account"`)."""
    ctx = context or {}
    decision = None
    for s in statements:
        if not (action_matches(s.actions, action) if s.not_actions is None
                else not action_matches(s.not_actions, action)):
            continue
        how = match_principal(s, caller)
        if how is None or not _condition_applies(s.condition, ctx):
            continue
        if s.effect == DENY:
            return None
        if decision != "explicit":
            decision = how
    return decision
