"""The audit log: one `audit.k8s.io/v1` Event per request, as JSON lines, at the level the policy
chooses (None, Metadata, Request, RequestResponse) — who did what, to which object, and how it
ended, including refused and unauthenticated requests.

The policy file uses Kubernetes' `audit.k8s.io/v1` Policy format (rules matched in order on users,
userGroups, verbs, resources, namespaces, nonResourceURLs; `omitStages`). Without one, every write
and every unauthenticated request is logged at Metadata, and of the reads only those of Secrets
(reads are most of the traffic; logging them all halved GET throughput in bench/apiserver.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

import orjson
import yaml

from kubelite.machinery import timeutil

log = logging.getLogger(__name__)

LEVELS = ("None", "Metadata", "Request", "RequestResponse")

DEFAULT_POLICY = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"], "rules": [
    {"level": "None", "nonResourceURLs": ["/healthz*", "/livez*", "/readyz*", "/version", "/metrics"]},
    # who tried without credentials, always
    {"level": "Metadata", "userGroups": ["system:unauthenticated"]},
    # reads of secrets are worth knowing about; other reads are not (they dominate the traffic)
    {"level": "Metadata", "verbs": ["get", "list", "watch"], "resources": [{"group": "", "resources": ["secrets"]}]},
    {"level": "None", "verbs": ["get", "list", "watch"]},
    {"level": "None", "verbs": ["update", "patch", "create"],
     "resources": [{"group": "coordination.k8s.io", "resources": ["leases"]}]},
    {"level": "None", "verbs": ["create", "patch", "update"], "resources": [{"group": "", "resources": ["events"]},
                                                                          {"group": "events.k8s.io",
                                                                           "resources": ["events"]}]},
    {"level": "Metadata"},
]}


def _match_list(want: list | None, have: str) -> bool:
    return not want or have in want


def _match_resources(rules: list[dict] | None, group: str, resource: str, subresource: str, name: str) -> bool:
    if not rules:
        return True
    full = f"{resource}/{subresource}" if subresource else resource
    for r in rules:
        if r.get("group", "") != group:
            continue
        res = r.get("resources") or []
        if res and full not in res and resource not in res and "*" not in res and f"*/{subresource}" not in res:
            continue
        names = r.get("resourceNames") or []
        if names and name not in names:
            continue
        return True
    return False


def _match_urls(urls: list[str] | None, path: str) -> bool:
    for u in urls or []:
        if u == path or (u.endswith("*") and path.startswith(u[:-1])):
            return True
    return False


class Policy:
    def __init__(self, doc: dict):
        self.rules = doc.get("rules") or []
        self.omit = set(doc.get("omitStages") or [])

    @classmethod
    def load(cls, path: Path | None) -> "Policy":
        if path is None:
            return cls(DEFAULT_POLICY)
        return cls(yaml.safe_load(Path(path).read_text()) or {})

    def level(self, user: dict, verb: str, info: Any) -> str:
        for r in self.rules:
            if r.get("users") and user.get("username") not in r["users"]:
                continue
            if r.get("userGroups") and not set(r["userGroups"]) & set(user.get("groups") or []):
                continue
            if not _match_list(r.get("verbs"), verb):
                continue
            if info is not None and info.is_resource_request:
                if r.get("nonResourceURLs"):
                    continue
                if not _match_resources(r.get("resources"), info.group, info.resource, info.subresource, info.name):
                    continue
                if r.get("namespaces") and info.namespace not in r["namespaces"]:
                    continue
            else:
                if r.get("resources") or r.get("namespaces"):
                    continue
                if r.get("nonResourceURLs") and not _match_urls(r["nonResourceURLs"], getattr(info, "path", "")):
                    continue
            return r.get("level", "None")
        return "None"


class AuditLog:
    """Writes events from a queue on a worker thread; never blocks a request."""

    def __init__(self, path: Path, policy: Policy):
        self.path = Path(path)
        self.policy = policy
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=100_000)

    def record(self, *, request, info, user: dict, status: int, started: str, annotations: dict | None = None,
               request_object: Any = None, response_object: Any = None) -> None:
        verb = info.verb if info is not None and info.is_resource_request else request.method.lower()
        level = self.policy.level(user, verb, info)
        if level == "None":
            return
        ev: dict = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": level,
                    "auditID": str(uuid.uuid4()), "stage": "ResponseComplete", "requestURI": request.path_qs,
                    "verb": verb, "user": user, "sourceIPs": [request.remote or ""],
                    "userAgent": request.headers.get("User-Agent", ""),
                    "responseStatus": {"metadata": {}, "code": status},
                    "requestReceivedTimestamp": started, "stageTimestamp": timeutil.rfc3339_micro()}
        if info is not None and info.is_resource_request:
            ref = {"resource": info.resource, "namespace": info.namespace, "name": info.name,
                   "apiGroup": info.group, "apiVersion": info.version}
            if info.subresource:
                ref["subresource"] = info.subresource
            ev["objectRef"] = {k: v for k, v in ref.items() if v}
        if annotations:
            ev["annotations"] = annotations
        if level in ("Request", "RequestResponse") and request_object is not None:
            ev["requestObject"] = request_object
        if level == "RequestResponse" and response_object is not None:
            ev["responseObject"] = response_object
        try:
            self._queue.put_nowait(orjson.dumps(ev) + b"\n")
        except asyncio.QueueFull:
            log.warning("audit queue full: dropping an event")

    async def run(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = await asyncio.to_thread(open, self.path, "ab")
        try:
            while True:
                lines = [await self._queue.get()]
                while not self._queue.empty() and len(lines) < 1000:
                    lines.append(self._queue.get_nowait())
                data = b"".join(lines)
                await asyncio.to_thread(_write, f, data)
        finally:
            while not self._queue.empty():
                f.write(self._queue.get_nowait())
            f.close()


def _write(f, data: bytes) -> None:
    f.write(data)
    f.flush()
