"""`resource.Quantity`: parse `500m`, `1.5Gi`, `2e3`, `128974848`, compare, and format.

Values are held as `fractions.Fraction` so that `0.1` cpu and `100m` compare equal.
"""

from __future__ import annotations

import re
from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18)}
_RE = re.compile(r"^([+-]?[0-9.]+)(([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$")


class QuantityError(ValueError):
    pass


def parse(q: str | int | float) -> Fraction:
    if isinstance(q, bool):
        raise QuantityError("quantities must match the regular expression "
                            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    if isinstance(q, (int, float)):
        return Fraction(q)
    s = str(q).strip()
    m = _RE.match(s)
    if not m or s.count(".") > 1 or m.group(1) in (".", "+.", "-.", "+", "-"):
        raise QuantityError("quantities must match the regular expression "
                            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    num = Fraction(m.group(1))
    if m.group(3):
        return num * Fraction(10) ** int(m.group(3)[1:])
    suffix = m.group(4) or ""
    if suffix in _BINARY:
        return num * _BINARY[suffix]
    return num * _DECIMAL[suffix]


def is_valid(q: object) -> bool:
    if not isinstance(q, (str, int, float)) or isinstance(q, bool):
        return False
    try:
        parse(q)
        return True
    except (QuantityError, ValueError, ZeroDivisionError):
        return False


def milli(q: str | int | float | None) -> int:
    """Value in thousandths, rounded up (cpu in millicores)."""
    if q is None or q == "":
        return 0
    v = parse(q) * 1000
    return -((-v.numerator) // v.denominator)


def value(q: str | int | float | None) -> int:
    """Integer value rounded up (memory in bytes)."""
    if q is None or q == "":
        return 0
    v = parse(q)
    return -((-v.numerator) // v.denominator)


def format_milli_cpu(m: int) -> str:
    return f"{m // 1000}" if m % 1000 == 0 else f"{m}m"


def format_bytes(b: int) -> str:
    """Canonical binary-SI form as Kubernetes prints memory (`128Mi`, `1Gi`, or plain bytes)."""
    for suffix, mult in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if b and b % mult == 0:
            return f"{b // mult}{suffix}"
    return str(b)
