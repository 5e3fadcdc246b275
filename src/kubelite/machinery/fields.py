"""Field selectors (`fieldSelector=`): `f=v`, `f==v`, `f!=v`, comma = AND, `\\,` `\\=` `\\\\` escapes.

Which fields a resource supports is decided by the resource (its `selectable_fields`); this
module only parses and matches against a flat `{field: value}` mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


class FieldSelectorError(ValueError):
    pass


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    op: str  # "=" or "!="
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        have = fields.get(self.field, "")
        return (have == self.value) if self.op == "=" else (have != self.value)

    def __str__(self) -> str:
        v = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{'=' if self.op == '=' else '!='}{v}"


class FieldSelector:
    __slots__ = ("requirements",)

    def __init__(self, requirements=()):
        self.requirements = tuple(requirements)

    def empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(r.matches(fields) for r in self.requirements)

    def fields(self) -> set[str]:
        return {r.field for r in self.requirements}

    def equality_value(self, field: str) -> str | None:
        for r in self.requirements:
            if r.field == field and r.op == "=":
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _split_terms(s: str) -> list[str]:
    terms, cur, i = [], [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur.append(s[i : i + 2])
            i += 2
            continue
        if c == ",":
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    terms.append("".join(cur))
    return terms


def _unescape(v: str) -> str:
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\":
            if i + 1 >= len(v):
                raise FieldSelectorError("invalid field selector: trailing escape")
            nxt = v[i + 1]
            if nxt not in "\\,=":
                raise FieldSelectorError(f"invalid field selector: invalid escape sequence \\{nxt}")
            out.append(nxt)
            i += 2
            continue
        if c in "=,":
            raise FieldSelectorError(f"invalid field selector: unescaped {c} in value")
        out.append(c)
        i += 1
    return "".join(out)


def parse(s: str | None) -> FieldSelector:
    if not s:
        return FieldSelector()
    reqs = []
    for term in _split_terms(s):
        if not term:
            continue
        for op, tok in (("!=", "!="), ("=", "=="), ("=", "=")):
            idx = term.find(tok)
            if idx >= 0 and (tok != "=" or "!=" not in term[: idx + 1]):
                field = term[:idx].strip()
                value = _unescape(term[idx + len(tok):])
                if not field:
                    raise FieldSelectorError(f"invalid selector: '{s}'; can't understand '{term}'")
                reqs.append(FieldRequirement(field, op, value))
                break
        else:
            raise FieldSelectorError(f"invalid selector: '{s}'; can't understand '{term}'")
    return FieldSelector(reqs)
