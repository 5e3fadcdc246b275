"""Amazon Resource Names: parse, format, and canonicalise principals as aws-iam-authenticator does
(`arn:aws:sts::<acct>:assumed-role/<role>/<session>` → `arn:aws:iam::<acct>:role/<role>`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

PARTITION = "aws"
ACCOUNT_RE = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class ARN:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        return self.resource.split("/", 1)[0].split(":", 1)[0]


def parse(text: str) -> ARN | None:
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2] or not parts[5]:
        return None
    return ARN(*parts[1:])


def iam(account: str, resource: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:{resource}"


def sts_assumed_role(account: str, role_name: str, session: str) -> str:
    return f"arn:{PARTITION}:sts::{account}:assumed-role/{role_name}/{session}"


def eks(region: str, account: str, resource: str) -> str:
    return f"arn:{PARTITION}:eks:{region}:{account}:{resource}"


@dataclass(frozen=True)
class IAMPrincipal:
    """An IAM principal ARN, taken apart: kind is `user`, `role`, `assumed-role`, `root` or
    `federated-user`; `path` is the IAM path (`/` or `/dev/`), `name` the last part."""

    account: str
    kind: str
    path: str
    name: str
    session: str = ""


def principal(text: str) -> IAMPrincipal | None:
    a = parse(text)
    if a is None or not ACCOUNT_RE.match(a.account):
        return None
    if a.service == "iam":
        if a.resource == "root":
            return IAMPrincipal(a.account, "root", "/", "root")
        kind, _, rest = a.resource.partition("/")
        if kind not in ("user", "role") or not rest:
            return None
        path, _, name = rest.rpartition("/")
        return IAMPrincipal(a.account, kind, f"/{path}/" if path else "/", name)
    if a.service == "sts":
        kind, _, rest = a.resource.partition("/")
        if kind == "assumed-role":
            role, _, session = rest.partition("/")
            if not role or not session:
                return None
            return IAMPrincipal(a.account, "assumed-role", "/", role, session)
        if kind == "federated-user" and rest:
            return IAMPrincipal(a.account, "federated-user", "/", rest)
    return None


def canonicalize(text: str) -> str:
    """The principal ARN aws-auth and access entries match on (assumed roles → their role, without
    a path, since the session ARN carries none)."""
    p = principal(text)
    if p is None:
        return text
    if p.kind == "assumed-role":
        return iam(p.account, f"role/{p.name}")
    return text
