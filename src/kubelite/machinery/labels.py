"""Label selectors: the string syntax of `labelSelector=` and `metav1.LabelSelector` objects.

Grammar (comma = AND): `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`,
plus `k>n` / `k<n` (numeric, as Kubernetes' parser allows). Keys may carry a DNS prefix.
Bad syntax raises `SelectorError`; the API server turns it into a 400 BadRequest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping


class SelectorError(ValueError):
    pass


_KEY_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def validate_label_key(key: str) -> str | None:
    """Return an error message for an invalid qualified-name label key, or None."""
    prefix, _, name = key.rpartition("/")
    if "/" in key:
        if not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix):
            return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _KEY_NAME.match(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
    return None


def validate_label_value(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _VALUE.match(value):
        return ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    return None


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.op
        if op in ("=", "==", "in"):
            return self.key in labels and labels[self.key] in self.values
        if op in ("!=", "notin"):
            return self.key not in labels or labels[self.key] not in self.values
        if op == "exists":
            return self.key in labels
        if op == "!":
            return self.key not in labels
        if op in ("gt", "lt"):
            if self.key not in labels:
                return False
            try:
                have = int(labels[self.key])
                want = int(self.values[0])
            except ValueError:
                return False
            return have > want if op == "gt" else have < want
        return False

    def __str__(self) -> str:
        op = self.op
        if op == "exists":
            return self.key
        if op == "!":
            return "!" + self.key
        if op in ("in", "notin"):
            return f"{self.key} {op} ({','.join(sorted(self.values))})"
        if op == "gt":
            return f"{self.key}>{self.values[0]}"
        if op == "lt":
            return f"{self.key}<{self.values[0]}"
        return f"{self.key}{op}{self.values[0]}"


class Selector:
    """A conjunction of requirements. The empty selector matches everything."""

    __slots__ = ("requirements", "_nothing")

    def __init__(self, requirements: Iterable[Requirement] = (), nothing: bool = False):
        self.requirements = tuple(requirements)
        self._nothing = nothing

    @classmethod
    def everything(cls) -> "Selector":
        return cls()

    @classmethod
    def nothing(cls) -> "Selector":
        return cls((), nothing=True)

    def empty(self) -> bool:
        return not self.requirements and not self._nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self._nothing:
            return False
        labels = labels or {}
        for r in self.requirements:
            if not r.matches(labels):
                return False
        return True

    def equality_value(self, key: str) -> str | None:
        """The value `key` must equal, if the selector pins it (used for indexing)."""
        for r in self.requirements:
            if r.key == key and (r.op in ("=", "==") or (r.op == "in" and len(r.values) == 1)):
                return r.values[0]
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"Selector({str(self)!r})"


_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=(),<>]+)")


def parse(s: str | None) -> Selector:
    """Parse the string form of a label selector."""
    if s is None:
        return Selector()
    s = s.strip()
    if not s:
        return Selector()
    toks: list[str] = []
    pos = 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            if s[pos:].strip() == "":
                break
            raise SelectorError(f"unable to parse requirement: invalid label selector {s!r}")
        toks.append(m.group(1))
        pos = m.end()
    reqs: list[Requirement] = []
    i = 0
    n = len(toks)

    def err(msg: str) -> SelectorError:
        return SelectorError(f"unable to parse requirement: {msg}")

    while i < n:
        negate = False
        if toks[i] == "!":
            negate = True
            i += 1
            if i >= n:
                raise err("missing key after '!'")
        key = toks[i]
        if key in ("=", "==", "!=", "(", ")", ",", ">", "<"):
            raise err(f"found '{key}', expected: identifier")
        kerr = validate_label_key(key)
        if kerr:
            raise err(f"invalid label key {key!r}: {kerr}")
        i += 1
        if negate:
            reqs.append(Requirement(key, "!"))
        elif i >= n or toks[i] == ",":
            reqs.append(Requirement(key, "exists"))
        else:
            op = toks[i]
            i += 1
            if op in ("=", "==", "!="):
                val = ""
                if i < n and toks[i] not in (",",):
                    val = toks[i]
                    i += 1
                verr = validate_label_value(val)
                if verr:
                    raise err(f"invalid label value: {val!r}: {verr}")
                reqs.append(Requirement(key, "!=" if op == "!=" else "=", (val,)))
            elif op in (">", "<"):
                if i >= n:
                    raise err("missing value")
                val = toks[i]
                i += 1
                try:
                    int(val)
                except ValueError:
                    raise err(f"for 'Gt', 'Lt' operators, the value must be an integer") from None
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (val,)))
            elif op in ("in", "notin"):
                if i >= n or toks[i] != "(":
                    raise err(f"found '{toks[i] if i < n else ''}', expected: '('")
                i += 1
                vals: list[str] = []
                expect_value = True
                while True:
                    if i >= n:
                        raise err("found '', expected: ')'")
                    t = toks[i]
                    i += 1
                    if t == ")":
                        break
                    if t == ",":
                        if expect_value:
                            vals.append("")
                        expect_value = True
                        continue
                    if not expect_value:
                        raise err(f"found '{t}', expected: ',' or ')'")
                    verr = validate_label_value(t)
                    if verr:
                        raise err(f"invalid label value: {t!r}: {verr}")
                    vals.append(t)
                    expect_value = False
                if not vals:
                    raise err("for 'in', 'notin' operators, values set can't be empty")
                reqs.append(Requirement(key, op, tuple(vals)))
            else:
                raise err(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")
        if i < n:
            if toks[i] != ",":
                raise err(f"found '{toks[i]}', expected: ','")
            i += 1
            if i >= n:
                raise err("found '', expected: identifier")
    return Selector(reqs)


def selector_from_label_selector(ls: Mapping | None) -> Selector:
    """Convert a `metav1.LabelSelector` object. None matches nothing; {} matches everything."""
    if ls is None:
        return Selector.nothing()
    reqs: list[Requirement] = []
    for k, v in sorted((ls.get("matchLabels") or {}).items()):
        reqs.append(Requirement(k, "=", (v,)))
    for expr in ls.get("matchExpressions") or []:
        op = expr.get("operator")
        key = expr.get("key", "")
        vals = tuple(expr.get("values") or ())
        if op == "In":
            reqs.append(Requirement(key, "in", vals))
        elif op == "NotIn":
            reqs.append(Requirement(key, "notin", vals))
        elif op == "Exists":
            reqs.append(Requirement(key, "exists"))
        elif op == "DoesNotExist":
            reqs.append(Requirement(key, "!"))
        else:
            raise SelectorError(f"{op!r} is not a valid label selector operator")
    return Selector(reqs)


def format_label_selector(ls: Mapping | None) -> str:
    """The string form kubectl and the scale subresource use (`app=web,tier in (a,b)`)."""
    if ls is None:
        return ""
    if not ls.get("matchLabels") and not ls.get("matchExpressions"):
        return ""
    parts: list[str] = []
    for k, v in sorted((ls.get("matchLabels") or {}).items()):
        parts.append(f"{k}={v}")
    for expr in ls.get("matchExpressions") or []:
        op = expr.get("operator")
        key = expr.get("key", "")
        vals = expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(vals)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(vals)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)
