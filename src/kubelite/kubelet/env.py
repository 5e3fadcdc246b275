"""A container's environment (Kubernetes' `makeEnvironmentVariables`) and `$(VAR)` expansion.

Order of resolution: `envFrom` sources (ConfigMaps, Secrets, with prefixes; invalid names are
skipped with an event), then `env` in order (a value may reference earlier variables and the
service variables as `$(NAME)`; `$$` escapes), then the service variables not set otherwise.
`valueFrom`: fieldRef (metadata, spec, status fields), resourceFieldRef (limits default to the
node's allocatable), configMapKeyRef, secretKeyRef (optional ones may be missing).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from kubelite.machinery import quantity

from .kuberuntime.resources import limits_of, requests_of
from .objects import ObjectNotFound, ObjectSource

# --- expansion -------------------------------------------------------------------------------------


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """Kubernetes' `expansion.Expand`: `$(NAME)` -> value (kept as written if unknown),
    `$$` -> `$`, anything else unchanged."""
    out: list[str] = []
    checkpoint = 0
    i = 0
    n = len(text)
    while i < n:
        if text[i] == "$" and i + 1 < n:
            out.append(text[checkpoint:i])
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                advance = 1
            elif nxt == "(":
                close = text.find(")", i + 2)
                if close < 0:
                    out.append("$(")
                    advance = 1
                else:
                    name = text[i + 2:close]
                    value = lookup(name)
                    out.append(value if value is not None else f"$({name})")
                    advance = close - i
            else:
                out.append("$" + nxt)
                advance = 1
            i += advance
            checkpoint = i + 1
        i += 1
    out.append(text[checkpoint:])
    return "".join(out)


def expand_command(container: dict, env: dict[str, str]) -> tuple[list[str], list[str]]:
    look = env.get
    return ([expand(str(c), look) for c in container.get("command") or []],
            [expand(str(a), look) for a in container.get("args") or []])


# --- field references ------------------------------------------------------------------------------


class EnvError(Exception):
    """The environment cannot be built (CreateContainerConfigError)."""


def format_map(m: dict[str, str]) -> str:
    """`key="value"` lines, sorted (fieldpath.FormatMap)."""
    return "\n".join(f"{k}={json.dumps(str(m[k]), ensure_ascii=False)}" for k in sorted(m))


_SUBSCRIPT = re.compile(r"^(metadata\.(?:labels|annotations))\['(.*)'\]$")


@dataclass
class PodRuntimeInfo:
    pod_ips: list[str]
    host_ips: list[str]


def field_value(pod: dict, path: str, info: PodRuntimeInfo) -> str:
    md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    m = _SUBSCRIPT.match(path)
    if m:
        source = md.get(m.group(1).split(".")[1]) or {}
        return str(source.get(m.group(2), ""))
    simple = {
        "metadata.name": lambda: md.get("name", ""),
        "metadata.namespace": lambda: md.get("namespace", ""),
        "metadata.uid": lambda: md.get("uid", ""),
        "metadata.labels": lambda: format_map(md.get("labels") or {}),
        "metadata.annotations": lambda: format_map(md.get("annotations") or {}),
        "spec.nodeName": lambda: spec.get("nodeName", ""),
        "spec.serviceAccountName": lambda: spec.get("serviceAccountName", ""),
        "status.hostIP": lambda: info.host_ips[0] if info.host_ips else "",
        "status.hostIPs": lambda: ",".join(info.host_ips),
        "status.podIP": lambda: info.pod_ips[0] if info.pod_ips else "",
        "status.podIPs": lambda: ",".join(info.pod_ips),
    }
    fn = simple.get(path)
    if fn is None:
        raise EnvError(f"unsupported fieldPath: {path}")
    return str(fn())


def resource_value(ref: dict, container: dict, allocatable: dict[str, str]) -> str:
    """`resourceFieldRef`: requests/limits of cpu, memory, ephemeral-storage, divided by the
    divisor and rounded up; a missing limit is the node's allocatable."""
    resource = str(ref.get("resource") or "")
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise EnvError(f"unsupported container resource : {resource}")
    source = limits_of(container) if kind == "limits" else requests_of(container)
    value = source.get(name)
    if value is None and kind == "limits":
        value = allocatable.get(name)
    divisor = ref.get("divisor")
    try:
        if name == "cpu":
            amount = quantity.milli(value or 0)
            div = quantity.milli(divisor) if divisor not in (None, "", "0", 0) else 1000
        else:
            amount = quantity.value(value or 0)
            div = quantity.value(divisor) if divisor not in (None, "", "0", 0) else 1
    except ValueError as e:
        raise EnvError(f"invalid quantity for {resource}: {e}") from e
    return str(math.ceil(amount / div)) if div else "0"


# --- the environment -------------------------------------------------------------------------------


def _valid_name(name: str) -> bool:
    # RelaxedEnvironmentVariableValidation: printable ASCII except '='
    return bool(name) and "=" not in name and all(32 <= ord(ch) <= 126 for ch in name)


def _secret_data(secret: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (secret.get("data") or {}).items():
        try:
            out[k] = base64.b64decode(v).decode(errors="replace")
        except ValueError:
            out[k] = ""
    for k, v in (secret.get("stringData") or {}).items():
        out[k] = str(v)
    return out


async def make_environment(
    pod: dict, container: dict, *, objects: ObjectSource, service_env: dict[str, str],
    info: PodRuntimeInfo, allocatable: dict[str, str], warn: Callable[[str], None] | None = None,
) -> list[tuple[str, str]]:
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    env: dict[str, str] = {}

    def lookup(name: str) -> str | None:
        if name in env:
            return env[name]
        return service_env.get(name)

    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        if source.get("configMapRef"):
            ref, kind = source["configMapRef"], "configMap"
        elif source.get("secretRef"):
            ref, kind = source["secretRef"], "secret"
        else:
            continue
        name = str(ref.get("name") or "")
        try:
            if kind == "configMap":
                data = {k: str(v) for k, v in ((await objects.configmap(ns, name)).get("data") or {}).items()}
            else:
                data = _secret_data(await objects.secret(ns, name))
        except ObjectNotFound:
            if ref.get("optional"):
                continue
            raise
        invalid = []
        for k, v in data.items():
            key = prefix + k
            if not _valid_name(key):
                invalid.append(key)
                continue
            env[key] = v
        if invalid and warn is not None:
            warn(f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {kind} {ns}/{name} were skipped since "
                 "they are considered invalid environment variable names.")

    for var in container.get("env") or []:
        name = str(var.get("name") or "")
        value = var.get("value")
        source = var.get("valueFrom")
        if value not in (None, ""):
            env[name] = expand(str(value), lookup)
            continue
        if not source:
            env[name] = ""
            continue
        if source.get("fieldRef"):
            env[name] = field_value(pod, str(source["fieldRef"].get("fieldPath") or ""), info)
        elif source.get("resourceFieldRef"):
            ref = source["resourceFieldRef"]
            target = container
            if ref.get("containerName"):
                target = next((c for c in (pod.get("spec") or {}).get("containers") or []
                               if c.get("name") == ref["containerName"]), container)
            env[name] = resource_value(ref, target, allocatable)
        elif source.get("configMapKeyRef"):
            ref = source["configMapKeyRef"]
            cm_name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
            try:
                data = (await objects.configmap(ns, cm_name)).get("data") or {}
            except ObjectNotFound:
                if ref.get("optional"):
                    continue
                raise
            if key not in data:
                if ref.get("optional"):
                    continue
                raise EnvError(f"couldn't find key {key} in ConfigMap {ns}/{cm_name}")
            env[name] = str(data[key])
        elif source.get("secretKeyRef"):
            ref = source["secretKeyRef"]
            s_name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
            try:
                data = _secret_data(await objects.secret(ns, s_name))
            except ObjectNotFound:
                if ref.get("optional"):
                    continue
                raise
            if key not in data:
                if ref.get("optional"):
                    continue
                raise EnvError(f"couldn't find key {key} in Secret {ns}/{s_name}")
            env[name] = data[key]
    out = list(env.items())
    out += [(k, v) for k, v in service_env.items() if k not in env]
    return out
