"""Input validation for the EKS API: type and constraint checks that name the offending field,
raised as `InvalidParameterException` (what EKS answers for a bad member), with the modelled
`clusterName`/`nodegroupName` members filled in by the caller."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from kubelite.cloud import arn as arns
from kubelite.cloud.api import errors

CLUSTER_NAME_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")
NODEGROUP_NAME_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")
LABEL_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                          r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class Fields:
    """Context for error messages: which cluster / node group the request is about."""

    def __init__(self, **fields: Any):
        self.fields = {k: v for k, v in fields.items() if v}

    def invalid(self, message: str) -> errors.ServiceError:
        return errors.invalid_parameter(message, **self.fields)


def _constraint(ctx: Fields, field: str, value: Any, constraint: str) -> errors.ServiceError:
    shown = "null" if value is None else value
    return ctx.invalid(f"1 validation error detected: Value '{shown}' at '{field}' failed to satisfy constraint: "
                       f"{constraint}")


def required(ctx: Fields, body: dict, field: str) -> Any:
    v = body.get(field)
    if v is None or v == "":
        raise ctx.invalid(f"1 validation error detected: Value null at '{field}' failed to satisfy constraint: "
                          f"Member must not be null")
    return v


def string(ctx: Fields, body: dict, field: str, *, required_: bool = False, min_len: int = 0,
           max_len: int | None = None, pattern: re.Pattern | None = None,
           enum: tuple[str, ...] | None = None) -> str | None:
    v = required(ctx, body, field) if required_ else body.get(field)
    if v is None:
        return None
    if not isinstance(v, str):
        raise ctx.invalid(f"Invalid type for parameter {field}, value: {v!r}, type: {type(v).__name__}, "
                          f"valid types: <class 'str'>")
    if len(v) < min_len:
        raise _constraint(ctx, field, v, f"Member must have length greater than or equal to {min_len}")
    if max_len is not None and len(v) > max_len:
        raise _constraint(ctx, field, v, f"Member must have length less than or equal to {max_len}")
    if pattern is not None and not pattern.match(v):
        raise _constraint(ctx, field, v, f"Member must satisfy regular expression pattern: {pattern.pattern}")
    if enum is not None and v not in enum:
        raise _constraint(ctx, field, v, f"Member must satisfy enum value set: [{', '.join(enum)}]")
    return v


def boolean(ctx: Fields, body: dict, field: str) -> bool | None:
    v = body.get(field)
    if v is None:
        return None
    if not isinstance(v, bool):
        raise ctx.invalid(f"Invalid type for parameter {field}, value: {v!r}, valid types: <class 'bool'>")
    return v


def integer(ctx: Fields, body: dict, field: str, *, minimum: int | None = None,
            maximum: int | None = None) -> int | None:
    v = body.get(field)
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise ctx.invalid(f"Invalid type for parameter {field}, value: {v!r}, valid types: <class 'int'>")
    if minimum is not None and v < minimum:
        raise _constraint(ctx, field, v, f"Member must have value greater than or equal to {minimum}")
    if maximum is not None and v > maximum:
        raise _constraint(ctx, field, v, f"Member must have value less than or equal to {maximum}")
    return v


def strings(ctx: Fields, body: dict, field: str, *, max_items: int | None = None) -> list[str] | None:
    v = body.get(field)
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ctx.invalid(f"Invalid type for parameter {field}, value: {v!r}, valid types: <class 'list'> "
                          f"of <class 'str'>")
    if max_items is not None and len(v) > max_items:
        raise _constraint(ctx, field, v, f"Member must have length less than or equal to {max_items}")
    return list(v)


def struct(ctx: Fields, body: dict, field: str, *, required_: bool = False) -> dict | None:
    v = required(ctx, body, field) if required_ else body.get(field)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise ctx.invalid(f"Invalid type for parameter {field}, value: {v!r}, valid types: <class 'dict'>")
    return v


def string_map(ctx: Fields, body: dict, field: str) -> dict[str, str] | None:
    v = struct(ctx, body, field)
    if v is None:
        return None
    for k, x in v.items():
        if not isinstance(x, str):
            raise ctx.invalid(f"Invalid type for parameter {field}.{k}, value: {x!r}, valid types: <class 'str'>")
    return dict(v)


def tags(ctx: Fields, body: dict, field: str = "tags") -> dict[str, str] | None:
    t = string_map(ctx, body, field)
    if t is None:
        return None
    check_tags(ctx, t)
    return t


def check_tags(ctx: Fields, t: dict[str, str]) -> None:
    if len(t) > 50:
        raise ctx.invalid("Tags must have at most 50 entries")
    for k, v in t.items():
        if not 1 <= len(k) <= 128:
            raise ctx.invalid(f"Tag key '{k}' must be 1 to 128 characters long")
        if len(v) > 256:
            raise ctx.invalid(f"Tag value for key '{k}' must be at most 256 characters long")
        if k.lower().startswith("aws:"):
            raise ctx.invalid(f"Tag keys starting with 'aws:' are reserved: '{k}'")


def role_arn(ctx: Fields, value: str, field: str) -> arns.IAMPrincipal:
    p = arns.principal(value)
    if p is None or p.kind != "role":
        raise ctx.invalid(f"Invalid Role Arn: '{value}'" if field in ("roleArn", "nodeRole") else
                          f"The {field} '{value}' is not a valid IAM role ARN.")
    return p


def labels(ctx: Fields, field: str, values: dict[str, str]) -> None:
    for k, v in values.items():
        if len(k) > 63 + 254 or not LABEL_KEY_RE.match(k):
            raise ctx.invalid(f"Invalid label key '{k}' in {field}: a label key must be at most 63 characters of "
                              f"alphanumerics, '-', '_' or '.', with an optional DNS prefix")
        if len(v) > 63 or not LABEL_VALUE_RE.match(v):
            raise ctx.invalid(f"Invalid label value '{v}' for key '{k}' in {field}: must be at most 63 "
                              f"characters, begin and end with an alphanumeric character")
        if k.startswith(("kubernetes.io/", "k8s.io/", "eks.amazonaws.com/")) and not k.startswith(
                ("node-role.kubernetes.io/",)):
            raise ctx.invalid(f"Label key '{k}' in {field} uses a reserved prefix")


TAINT_EFFECTS = ("NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE")


def taints(ctx: Fields, field: str, value: Any) -> list[dict]:
    if not isinstance(value, list):
        raise ctx.invalid(f"Invalid type for parameter {field}, valid types: <class 'list'>")
    out = []
    for i, t in enumerate(value):
        if not isinstance(t, dict):
            raise ctx.invalid(f"Invalid type for parameter {field}[{i}], valid types: <class 'dict'>")
        key = string(ctx, t, "key", required_=True, min_len=1, max_len=63)
        val = string(ctx, t, "value", max_len=63)
        effect = string(ctx, t, "effect", required_=True, enum=TAINT_EFFECTS)
        if not LABEL_KEY_RE.match(key or ""):
            raise ctx.invalid(f"Invalid taint key '{key}' in {field}")
        taint = {"key": key, "effect": effect}
        if val:
            taint["value"] = val
        out.append(taint)
    return out


PRIVATE_RANGES = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                     "198.18.0.0/15")]


def service_cidr(ctx: Fields, value: str, vpc_cidr: str | None) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ctx.invalid(f"The service CIDR block {value} is not a valid CIDR block.") from None
    if net.version != 4 or not any(net.subnet_of(r) for r in PRIVATE_RANGES):
        raise ctx.invalid(f"The service CIDR block {value} must be within one of the private ranges 10.0.0.0/8, "
                          f"172.16.0.0/12, 192.168.0.0/16 (or the local plan's 198.18.0.0/15).")
    if not 12 <= net.prefixlen <= 24:
        raise ctx.invalid(f"The service CIDR block {value} must have a prefix between /12 and /24.")
    if vpc_cidr and net.overlaps(ipaddress.ip_network(vpc_cidr)):
        raise ctx.invalid(f"The service CIDR block {value} overlaps with the VPC CIDR block {vpc_cidr}.")
    return str(net)
