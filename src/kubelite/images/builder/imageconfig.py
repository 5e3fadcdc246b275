"""Image config edits made by metadata instructions (ENV, EXPOSE, HEALTHCHECK, ...). Pure.

The config is the OCI image config dict; `config["config"]` holds Env, Cmd, Entrypoint, User,
WorkingDir, Labels, ExposedPorts, Volumes, StopSignal, Healthcheck, OnBuild, Shell.
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from .errors import BuildError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = ["/bin/sh", "-c"]
HISTORY_COMMENT = "buildkit.dockerfile.v0"
EPOCH = "1970-01-01T00:00:00Z"


def now_rfc3339() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1e9):09d}Z"


def empty_config() -> dict[str, Any]:
    """`FROM scratch`: linux/amd64 with the default PATH, as BuildKit does."""
    return {"architecture": "amd64", "os": "linux", "config": {"Env": [f"PATH={DEFAULT_PATH}"]},
            "rootfs": {"type": "layers", "diff_ids": []}, "history": []}


def base_config(image_config: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(image_config)
    cfg.setdefault("architecture", "amd64")
    cfg.setdefault("os", "linux")
    cfg.setdefault("config", {})
    cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    cfg.setdefault("history", [])
    for k in ("container", "container_config", "docker_version", "id", "parent"):
        cfg.pop(k, None)
    return cfg


def env_map(cfg: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in cfg.get("config", {}).get("Env") or []:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def set_env(cfg: dict[str, Any], key: str, value: str) -> None:
    env = list(cfg["config"].get("Env") or [])
    for i, item in enumerate(env):
        if item.partition("=")[0] == key:
            env[i] = f"{key}={value}"
            break
    else:
        env.append(f"{key}={value}")
    cfg["config"]["Env"] = env


def expose_ports(words: list[str]) -> list[str]:
    out = []
    for w in words:
        port, _, proto = w.partition("/")
        proto = (proto or "tcp").lower()
        if proto not in ("tcp", "udp", "sctp"):
            raise BuildError(f"invalid proto: {proto}")
        if "-" in port:
            lo, _, hi = port.partition("-")
            if not (lo.isdigit() and hi.isdigit()) or int(lo) > int(hi):
                raise BuildError(f"invalid range specified for port: {port}")
            out.extend(f"{p}/{proto}" for p in range(int(lo), int(hi) + 1))
        elif port.isdigit():
            out.append(f"{int(port)}/{proto}")
        else:
            raise BuildError(f"invalid containerPort: {port}")
    return out


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
          "h": 3_600_000_000_000}


def parse_duration(s: str) -> int:
    """Go duration (`30s`, `1m30s`, `500ms`) → nanoseconds."""
    if s in ("0", ""):
        return 0
    pos = 0
    total = 0.0
    for m in _DURATION_RE.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise BuildError(f"time: invalid duration {s!r}")
    return int(total)


def healthcheck(flags: dict[str, list[str]], args: str, json_form: list[str] | None) -> dict[str, Any]:
    word = args.strip().split(None, 1)
    if not word:
        raise BuildError("HEALTHCHECK requires an argument")
    kind = word[0].upper()
    if kind == "NONE":
        if len(word) > 1:
            raise BuildError("HEALTHCHECK NONE takes no arguments")
        return {"Test": ["NONE"]}
    if kind != "CMD":
        raise BuildError(f"Unknown type {word[0]!r} in HEALTHCHECK (try CMD)")
    test = ["CMD", *json_form] if json_form is not None else ["CMD-SHELL", word[1] if len(word) > 1 else ""]
    hc: dict[str, Any] = {"Test": test}
    for flag, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod"),
                      ("start-interval", "StartInterval")):
        if flag in flags:
            v = parse_duration(flags[flag][-1])
            if v:
                hc[key] = v
    if "retries" in flags:
        r = flags["retries"][-1]
        if not r.isdigit():
            raise BuildError(f"invalid --retries value {r!r}")
        if int(r):
            hc["Retries"] = int(r)
    return hc


def history_entry(created_by: str, empty_layer: bool, created: str) -> dict[str, Any]:
    h: dict[str, Any] = {"created": created, "created_by": created_by, "comment": HISTORY_COMMENT}
    if empty_layer:
        h["empty_layer"] = True
    return h


def shell_command(cfg: dict[str, Any], text: str) -> list[str]:
    shell = cfg["config"].get("Shell") or DEFAULT_SHELL
    return [*shell, text]
