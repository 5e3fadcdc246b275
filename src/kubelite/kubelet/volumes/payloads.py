"""The files of configMap, secret, downwardAPI and projected volumes (Kubernetes' `MakePayload`s).

Each function returns `{relative path: FileProjection}` for the atomic writer. Missing objects
raise `ObjectNotFound` unless the source is optional (then it contributes nothing); a missing
key raises `PayloadError` with Kubernetes' message.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Protocol

from ..env import EnvError, PodRuntimeInfo, field_value, resource_value
from ..objects import ObjectNotFound, ObjectSource
from .atomic_writer import FileProjection

DEFAULT_MODE = 0o644


class PayloadError(Exception):
    pass


class TokenSource(Protocol):
    async def token(self, pod: dict, service_account: str, audience: str, expiration_seconds: int) -> str: ...


@dataclass
class Ownership:
    fs_group: int | None = None  # files get this group and group read
    fs_user: int | None = None  # projected tokens are owned by this user (mode 0600)


def _mode(item: dict, default: int) -> int:
    m = item.get("mode")
    return int(m) if m is not None else default


def _proj(data: bytes, mode: int, own: Ownership) -> FileProjection:
    if own.fs_group is not None:
        return FileProjection(data, mode | 0o440, -1, own.fs_group)
    return FileProjection(data, mode)


def _keyed(data: dict[str, bytes], items: list[dict], default_mode: int, own: Ownership, optional: bool,
           what: str) -> dict[str, FileProjection]:
    out: dict[str, FileProjection] = {}
    if not items:
        for k, v in data.items():
            out[k] = _proj(v, default_mode, own)
        return out
    for item in items:
        key = str(item.get("key") or "")
        if key not in data:
            if optional:
                continue
            raise PayloadError(f"{what} references non-existent {'config' if what == 'configmap' else 'secret'} "
                               f"key: {key}")
        out[str(item.get("path") or key)] = _proj(data[key], _mode(item, default_mode), own)
    return out


def configmap_data(cm: dict) -> dict[str, bytes]:
    out = {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}
    for k, v in (cm.get("binaryData") or {}).items():
        out[k] = base64.b64decode(v)
    return out


def secret_data(secret: dict) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for k, v in (secret.get("data") or {}).items():
        out[k] = base64.b64decode(v)
    for k, v in (secret.get("stringData") or {}).items():
        out[k] = str(v).encode()
    return out


async def configmap_payload(source: dict, ns: str, objects: ObjectSource, default_mode: int,
                            own: Ownership) -> dict[str, FileProjection]:
    name = str(source.get("name") or "")
    try:
        cm = await objects.configmap(ns, name)
    except ObjectNotFound:
        if source.get("optional"):
            return {}
        raise
    return _keyed(configmap_data(cm), list(source.get("items") or []), default_mode, own,
                  bool(source.get("optional")), "configmap")


async def secret_payload(source: dict, ns: str, objects: ObjectSource, default_mode: int,
                         own: Ownership, name_key: str = "secretName") -> dict[str, FileProjection]:
    name = str(source.get(name_key) or "")
    try:
        secret = await objects.secret(ns, name)
    except ObjectNotFound:
        if source.get("optional"):
            return {}
        raise
    return _keyed(secret_data(secret), list(source.get("items") or []), default_mode, own,
                  bool(source.get("optional")), "secret")


def downward_api_payload(items: list[dict], pod: dict, info: PodRuntimeInfo, allocatable: dict[str, str],
                         default_mode: int, own: Ownership) -> dict[str, FileProjection]:
    out: dict[str, FileProjection] = {}
    spec = pod.get("spec") or {}
    for item in items:
        path = str(item.get("path") or "")
        try:
            if item.get("fieldRef"):
                value = field_value(pod, str(item["fieldRef"].get("fieldPath") or ""), info)
            elif item.get("resourceFieldRef"):
                ref = item["resourceFieldRef"]
                container = next((c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
                                  if c.get("name") == ref.get("containerName")), None)
                if container is None:
                    raise PayloadError(f"cannot find container {ref.get('containerName')!r}")
                value = resource_value(ref, container, allocatable)
            else:
                continue
        except EnvError as e:
            raise PayloadError(str(e)) from e
        out[path] = _proj(value.encode(), _mode(item, default_mode), own)
    return out


async def projected_payload(volume: dict, pod: dict, *, objects: ObjectSource, tokens: TokenSource | None,
                            info: PodRuntimeInfo, allocatable: dict[str, str], own: Ownership
                            ) -> dict[str, FileProjection]:
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    default_mode = int(volume.get("defaultMode", DEFAULT_MODE))
    out: dict[str, FileProjection] = {}
    for src in volume.get("sources") or []:
        if src.get("configMap"):
            out.update(await configmap_payload(src["configMap"], ns, objects, default_mode, own))
        elif src.get("secret"):
            out.update(await secret_payload(src["secret"], ns, objects, default_mode, own, name_key="name"))
        elif src.get("downwardAPI"):
            out.update(downward_api_payload(list(src["downwardAPI"].get("items") or []), pod, info, allocatable,
                                            default_mode, own))
        elif src.get("serviceAccountToken"):
            sat: dict[str, Any] = src["serviceAccountToken"]
            if tokens is None:
                raise PayloadError("service account tokens are not available on this node")
            sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
            token = await tokens.token(pod, sa, str(sat.get("audience") or ""),
                                       int(sat.get("expirationSeconds") or 3600))
            mode = default_mode
            if own.fs_user is not None and own.fs_group is None:
                out[str(sat.get("path") or "token")] = FileProjection(token.encode(), 0o600, own.fs_user, -1)
                continue
            out[str(sat.get("path") or "token")] = _proj(token.encode(), mode, own)
    return out
