"""Bad values rendered as Kubernetes prints them.

Kubernetes formats a field error's value with Go's `%#v` when it is a struct or a map, so kubectl
shows, for example::

    spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web"},
    MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable

`GoValue` carries such a pre-rendered text; `FieldError` prints it verbatim (it is neither a
string nor a number, so it is not quoted).
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence


class GoValue:
    """A value already rendered in Go syntax."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"GoValue({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoValue) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def quote(s: Any) -> str:
    return json.dumps("" if s is None else str(s), ensure_ascii=False)


def string_map(m: Mapping[str, str] | None) -> str:
    if not isinstance(m, Mapping):
        return "map[string]string(nil)"
    inner = ", ".join(f"{quote(k)}:{quote(v)}" for k, v in sorted(m.items()))
    return "map[string]string{" + inner + "}"


def string_slice(items: Sequence[str] | None) -> str:
    if items is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(quote(i) for i in items) + "}"


def label_selector(sel: Mapping | None, pkg: str = "v1") -> str:
    sel = sel or {}
    ml = sel.get("matchLabels")
    exprs = sel.get("matchExpressions")
    if exprs is None:
        me = f"[]{pkg}.LabelSelectorRequirement(nil)"
    else:
        parts = [f"{pkg}.LabelSelectorRequirement{{Key:{quote(e.get('key'))}, "
                 f"Operator:{quote(e.get('operator'))}, Values:{string_slice(e.get('values'))}}}" for e in exprs]
        me = f"[]{pkg}.LabelSelectorRequirement{{" + ", ".join(parts) + "}"
    return f"{pkg}.LabelSelector{{MatchLabels:{string_map(ml)}, MatchExpressions:{me}}}"


def int_or_string(v: Any) -> str:
    if isinstance(v, str):
        return f'intstr.IntOrString{{Type:1, IntVal:0, StrVal:{quote(v)}}}'
    n = v if isinstance(v, int) and not isinstance(v, bool) else 0
    return f'intstr.IntOrString{{Type:0, IntVal:{n}, StrVal:""}}'


def struct(type_name: str, fields: Sequence[tuple[str, str]]) -> str:
    """A struct literal from already-rendered field values."""
    return type_name + "{" + ", ".join(f"{k}:{v}" for k, v in fields) + "}"


def value(v: GoValue | str) -> GoValue:
    return v if isinstance(v, GoValue) else GoValue(v)
