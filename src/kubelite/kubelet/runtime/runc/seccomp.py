"""Seccomp profiles in the Docker/containers format (Debian's `/usr/share/containers/seccomp.json`)
converted to the OCI `linux.seccomp` form for the container's architecture and capabilities.

Rules: keep `defaultAction`/`defaultErrnoRet`; list the native architecture and its
sub-architectures; drop a rule whose `includes.arches` lacks ours or whose `excludes.arches` has
it, whose `includes.caps` are not all granted, or whose `excludes.caps` has a granted one; copy
names, action, args and errnoRet.
"""

from __future__ import annotations

import json
import logging
import platform
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "/usr/share/containers/seccomp.json"

# machine -> (Go arch name used in profiles, native seccomp architecture)
_ARCHES = {
    "x86_64": ("amd64", "SCMP_ARCH_X86_64"),
    "aarch64": ("arm64", "SCMP_ARCH_AARCH64"),
    "s390x": ("s390x", "SCMP_ARCH_S390X"),
    "ppc64le": ("ppc64le", "SCMP_ARCH_PPC64LE"),
}


def native_arch() -> tuple[str, str]:
    return _ARCHES.get(platform.machine(), ("amd64", "SCMP_ARCH_X86_64"))


def to_oci(profile: dict[str, Any], capabilities: set[str], arch: tuple[str, str] | None = None) -> dict[str, Any]:
    go_arch, scmp_arch = arch or native_arch()
    if "syscalls" in profile and "architectures" in profile and "archMap" not in profile:
        return profile  # already in OCI form
    arches = [scmp_arch]
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == scmp_arch:
            arches += list(entry.get("subArchitectures") or [])
    out: dict[str, Any] = {"defaultAction": profile.get("defaultAction", "SCMP_ACT_ERRNO"), "architectures": arches}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    rules = []
    for rule in profile.get("syscalls") or []:
        inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
        if inc.get("arches") and go_arch not in inc["arches"]:
            continue
        if exc.get("arches") and go_arch in exc["arches"]:
            continue
        if inc.get("caps") and not set(inc["caps"]) <= capabilities:
            continue
        if exc.get("caps") and set(exc["caps"]) & capabilities:
            continue
        names = list(rule.get("names") or ([rule["name"]] if rule.get("name") else []))
        if not names:
            continue
        oci: dict[str, Any] = {"names": names, "action": rule["action"]}
        if rule.get("args"):
            oci["args"] = [
                {"index": a["index"], "value": a.get("value", 0), "valueTwo": a.get("valueTwo", 0), "op": a["op"]}
                for a in rule["args"]
            ]
        if rule.get("errnoRet") is not None:
            oci["errnoRet"] = rule["errnoRet"]
        rules.append(oci)
    out["syscalls"] = rules
    return out


def load(path: str | Path) -> dict[str, Any] | None:
    """The profile document, or None (with a warning) if it is missing or unreadable."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        log.warning("seccomp profile %s unusable (%s): containers run without seccomp", path, e)
        return None
