"""Cell formatting shared by the printers: ages, labels, selectors, quantities, short lists."""

from __future__ import annotations

import re
from datetime import datetime

from kubelite.machinery import labels, quantity, timeutil

NONE = "<none>"
UNSET = "<unset>"


def age(ts: str | None, now: datetime) -> str:
    """The AGE of a timestamp (`<unknown>` when it is absent)."""
    return timeutil.age(ts, now)


def parse_time(ts: str | None) -> datetime | None:
    """A timestamp, or None when it is absent or unreadable (Go's zero time)."""
    try:
        return timeutil.parse_time(ts)
    except (TypeError, ValueError):
        return None


def human_duration(seconds: float) -> str:
    return timeutil.human_duration(seconds)


def meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def created(obj: dict, now: datetime) -> str:
    return age(meta(obj).get("creationTimestamp"), now)


def format_labels(m: dict | None) -> str:
    """`labels.FormatLabels`: `a=1,b=2` sorted by key, or `<none>`."""
    if not m:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(m.items()))


def selector_string(sel: dict | None) -> str:
    """A LabelSelector as a selector string, requirements sorted by key; empty for `{}` or None."""
    s = labels.selector_from_label_selector(sel)
    reqs = sorted(s.requirements, key=lambda r: r.key)
    return ",".join(str(r) for r in reqs)


def format_label_selector(sel: dict | None) -> str:
    """`metav1.FormatLabelSelector`: the selector string, `<none>` when it selects all or nothing."""
    try:
        s = selector_string(sel)
    except labels.SelectorError:
        return "<error>"
    return s or NONE


def container_cells(containers: list | None) -> tuple[str, str]:
    """The Containers and Images cells: names and images, comma-joined."""
    containers = containers or []
    return (",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers))


def template_containers(obj: dict) -> list:
    return ((((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []


def list_with_more(items: list[str], count: int, limit: int = 3, empty: str = UNSET) -> str:
    """The first `limit` items, then ` + N more...` for the rest; `empty` when there are none."""
    ret = ",".join(items[:limit])
    if count > limit:
        return f"{ret} + {count - limit} more..."
    return ret or empty


def join_host_port(host: str, port: object) -> str:
    """Go's `net.JoinHostPort`: IPv6 hosts get brackets."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def bool_ptr(v: object) -> str:
    """`True`, `False`, or `<unset>` (used for optional booleans shown as text)."""
    if v is None:
        return UNSET
    return "True" if v else "False"


_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_DECIMAL_SUFFIXES = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_EXPONENT = re.compile(r"[0-9.][eE][+-]?[0-9]+$")
_BINARY = re.compile(r"[KMGTPE]i$")


def canonical_quantity(q: object) -> str:
    """`resource.Quantity.String()`: the canonical form (`1000m` -> `1`, `1024Mi` -> `1Gi`).

    The suffix family of the input is kept (binary, decimal SI or exponent); binary values
    below 1024 or with a fraction fall back to decimal SI. Precision is nanounits, rounded up.
    """
    if q is None or q == "":
        return "0"
    try:
        v = quantity.parse(q)  # type: ignore[arg-type]
    except (quantity.QuantityError, ValueError, ZeroDivisionError):
        return str(q)
    if v == 0:
        return "0"
    text = q.strip() if isinstance(q, str) else ""
    family = "exponent" if _EXPONENT.search(text) else "binary" if _BINARY.search(text) else "decimal"
    sign = "-" if v < 0 else ""
    v = abs(v)
    if family == "binary" and (v < 1024 or v.denominator != 1):
        family = "decimal"
    if family == "binary":
        n, e = int(v), 0
        while n % 1024 == 0 and e < len(_BINARY_SUFFIXES) - 1:
            n //= 1024
            e += 1
        return f"{sign}{n}{_BINARY_SUFFIXES[e]}"
    scaled = v * 10**9
    n = -((-scaled.numerator) // scaled.denominator)  # round up to a whole nanounit
    e = -9
    while n % 10 == 0:
        n //= 10
        e += 1
    if e % 3 == 1:
        n, e = n * 10, e - 1
    elif e % 3 == 2:
        n, e = n * 100, e - 2
    if family == "exponent":
        suffix = "" if e == 0 else f"e{e}"
    else:
        suffix = _DECIMAL_SUFFIXES.get(e, f"e{e}")
    return f"{sign}{n}{suffix}"
