"""etcd v3 Backend, through etcd's JSON gateway (`/v3/kv/*`, `/v3/watch`) over plain HTTP/1.1.

Every Backend operation maps onto one etcd request: create and compare-and-swap are transactions
on `create_revision` / `mod_revision`, reads take a revision, watches resume from a revision and
report compaction. Several endpoints (`etcd://h1:2379,h2:2379,h3:2379`) are tried in turn, so
losing one member does not stop the API; a watch whose connection breaks resumes on another
member from the last revision it delivered.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any, AsyncIterator

import aiohttp
import orjson

from .errors import Compacted, KeyExists, StorageError, Unavailable
from .interface import Event, KeyValue

log = logging.getLogger(__name__)


def _b64(s: str | bytes) -> str:
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def _unb64(s: str | None) -> bytes:
    return base64.b64decode(s) if s else b""


def prefix_end(prefix: str) -> bytes:
    b = bytearray(prefix.encode())
    for i in range(len(b) - 1, -1, -1):
        if b[i] < 0xFF:
            b[i] += 1
            return bytes(b[: i + 1])
    return b"\x00"


def _kv(d: dict) -> KeyValue:
    return KeyValue(_unb64(d["key"]).decode(), _unb64(d.get("value")), int(d.get("create_revision", 0)),
                    int(d.get("mod_revision", 0)), int(d.get("lease", 0)))


def parse_endpoints(url: str) -> list[str]:
    scheme, _, rest = url.partition("://")
    http = "https" if scheme in ("etcds", "https") else "http"
    out = []
    for part in rest.strip("/").split(","):
        part = part.strip()
        if part:
            out.append(f"{http}://{part}")
    if not out:
        raise ValueError(f"no etcd endpoints in {url!r}")
    return out


class EtcdBackend:
    def __init__(self, url: str, *, timeout: float = 10.0):
        self.endpoints = parse_endpoints(url)
        self._current = 0
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=3))
        await self.current_revision()  # fail fast with a clear message if nothing answers

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- transport ---------------------------------------------------------------------------
    async def _post(self, path: str, body: dict, *, attempts: int | None = None) -> dict:
        assert self._session is not None, "backend not started"
        tries = attempts or max(3, 2 * len(self.endpoints))
        last: Exception | None = None
        for i in range(tries):
            ep = self.endpoints[self._current]
            try:
                async with asyncio.timeout(self._timeout):
                    async with self._session.post(ep + path, data=orjson.dumps(body)) as r:
                        data = await r.read()
                if r.status >= 500 or r.status == 404:
                    raise StorageError(f"etcd {ep}{path}: HTTP {r.status}: {data[:200]!r}")
                doc = orjson.loads(data)
                if r.status >= 400 or "error" in doc and "header" not in doc:
                    msg = doc.get("message") or doc.get("error") or data[:200]
                    if "compacted" in str(msg):
                        raise Compacted(int(body.get("revision", 0) or 0), 0)
                    raise StorageError(f"etcd: {msg}")
                return doc
            except (aiohttp.ClientError, TimeoutError, OSError, StorageError) as e:
                if isinstance(e, Compacted):
                    raise
                last = e
                self._current = (self._current + 1) % len(self.endpoints)
                await asyncio.sleep(min(0.2 * (i + 1), 1.0))
        raise Unavailable(f"etcd unreachable at {', '.join(self.endpoints)}: {last}")

    # -- writes ------------------------------------------------------------------------------
    async def create(self, key: str, value: bytes, *, lease: int = 0) -> int:
        k = _b64(key)
        put: dict[str, Any] = {"key": k, "value": _b64(value)}
        if lease:
            put["lease"] = str(lease)
        doc = await self._post("/v3/kv/txn", {
            "compare": [{"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
            "success": [{"request_put": put}], "failure": [{"request_range": {"key": k}}]})
        if not doc.get("succeeded"):
            kvs = doc["responses"][0]["response_range"].get("kvs") or []
            if kvs and _unb64(kvs[0].get("value")) == bytes(value) and \
                    kvs[0].get("create_revision") == kvs[0].get("mod_revision"):
                # our own create, acknowledged by a member whose reply we lost
                return int(kvs[0]["mod_revision"])
            raise KeyExists(key)
        return int(doc["header"]["revision"])

    async def update(self, key: str, value: bytes, *, expected_revision: int,
                     lease: int = 0) -> tuple[int, KeyValue | None, bool]:
        k = _b64(key)
        put: dict[str, Any] = {"key": k, "value": _b64(value)}
        if lease:
            put["lease"] = str(lease)
        doc = await self._post("/v3/kv/txn", {
            "compare": [{"key": k, "target": "MOD", "result": "EQUAL", "mod_revision": str(expected_revision)}],
            "success": [{"request_put": put}], "failure": [{"request_range": {"key": k}}]})
        rev = int(doc["header"]["revision"])
        if doc.get("succeeded"):
            _, kv = await self.get(key, revision=rev)
            return rev, kv, True
        kvs = doc["responses"][0]["response_range"].get("kvs") or []
        return rev, (_kv(kvs[0]) if kvs else None), False

    async def delete(self, key: str, *, expected_revision: int = 0) -> tuple[int, KeyValue | None, bool]:
        k = _b64(key)
        compare = [{"key": k, "target": "MOD", "result": "EQUAL", "mod_revision": str(expected_revision)}] \
            if expected_revision else [{"key": k, "target": "CREATE", "result": "GREATER", "create_revision": "0"}]
        doc = await self._post("/v3/kv/txn", {
            "compare": compare, "success": [{"request_delete_range": {"key": k, "prev_kv": True}}],
            "failure": [{"request_range": {"key": k}}]})
        rev = int(doc["header"]["revision"])
        if doc.get("succeeded"):
            prev = doc["responses"][0]["response_delete_range"].get("prev_kvs") or []
            return rev, (_kv(prev[0]) if prev else None), bool(prev)
        kvs = doc["responses"][0]["response_range"].get("kvs") or []
        return rev, (_kv(kvs[0]) if kvs else None), False

    async def compact(self, revision: int) -> None:
        try:
            await self._post("/v3/kv/compaction", {"revision": str(revision)})
        except Compacted:
            pass
        except StorageError as e:
            if "compacted" not in str(e) and "future revision" not in str(e):
                raise

    # -- reads -------------------------------------------------------------------------------
    async def get(self, key: str, *, revision: int = 0) -> tuple[int, KeyValue | None]:
        body: dict[str, Any] = {"key": _b64(key)}
        if revision:
            body["revision"] = str(revision)
        doc = await self._range(body, revision)
        kvs = doc.get("kvs") or []
        return int(doc["header"]["revision"]), (_kv(kvs[0]) if kvs else None)

    async def _range(self, body: dict, revision: int) -> dict:
        try:
            return await self._post("/v3/kv/range", body)
        except Compacted:
            raise Compacted(revision, 0) from None
        except StorageError as e:
            if "compacted" in str(e):
                raise Compacted(revision, 0) from None
            raise

    async def list(self, prefix: str, *, start_key: str = "", limit: int = 0,
                   revision: int = 0) -> tuple[int, list[KeyValue]]:
        start = max(prefix, start_key)
        body: dict[str, Any] = {"key": _b64(start), "range_end": _b64(prefix_end(prefix))}
        if limit:
            body["limit"] = str(limit)
        if revision:
            body["revision"] = str(revision)
        doc = await self._range(body, revision)
        return int(doc["header"]["revision"]), [_kv(d) for d in doc.get("kvs") or []]

    async def count(self, prefix: str) -> tuple[int, int]:
        doc = await self._post("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix)),
                                                "count_only": True})
        return int(doc["header"]["revision"]), int(doc.get("count", 0))

    async def current_revision(self) -> int:
        doc = await self._post("/v3/kv/range", {"key": _b64("/kubelite-revision-probe")})
        return int(doc["header"]["revision"])

    # -- watch -------------------------------------------------------------------------------
    async def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[list[Event]]:
        assert self._session is not None, "backend not started"
        next_rev = max(start_revision, 1)
        failures = 0
        while True:
            ep = self.endpoints[self._current]
            req = {"create_request": {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix)),
                                      "start_revision": str(next_rev), "prev_kv": True}}
            try:
                async with self._session.post(ep + "/v3/watch", data=orjson.dumps(req)) as r:
                    if r.status != 200:
                        raise StorageError(f"etcd watch: HTTP {r.status}")
                    async for line in r.content:
                        line = line.strip()
                        if not line:
                            continue
                        res = orjson.loads(line).get("result") or {}
                        if res.get("canceled"):
                            if res.get("compact_revision"):
                                raise Compacted(next_rev, int(res["compact_revision"]))
                            raise StorageError(f"etcd watch canceled: {res.get('cancel_reason', '')}")
                        evs = res.get("events") or []
                        if not evs:
                            continue
                        failures = 0
                        batch = []
                        for e in evs:
                            kv = e["kv"]
                            prev = _kv(e["prev_kv"]) if e.get("prev_kv") else None
                            if e.get("type") == "DELETE":
                                key = _unb64(kv["key"]).decode()
                                rev = int(kv["mod_revision"])
                                last = KeyValue(key, prev.value if prev else b"",
                                                prev.create_revision if prev else 0, rev, prev.lease if prev else 0)
                                batch.append(Event("DELETE", last, prev))
                            else:
                                batch.append(Event("PUT", _kv(kv), prev))
                        next_rev = batch[-1].revision + 1
                        yield batch
            except (aiohttp.ClientError, TimeoutError, OSError, StorageError) as e:
                if isinstance(e, Compacted):
                    raise
                failures += 1
                log.info("etcd watch on %s broke (%s); resuming from revision %d", ep, e, next_rev)
                self._current = (self._current + 1) % len(self.endpoints)
                await asyncio.sleep(min(0.2 * failures, 2.0))
