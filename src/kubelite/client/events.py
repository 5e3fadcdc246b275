"""`EventRecorder`: writes core/v1 Events about objects, the way client-go's `tools/record` does.

    recorder = EventRecorder(client, "replicaset-controller")
    tg.create_task(recorder.run())
    recorder.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {pod_name}")

- `event()` never blocks and never fails: it builds the Event (timestamps taken now) and puts it
  on a bounded queue (1000); when the queue is full the event is dropped, as client-go's
  broadcaster does. `run()` (in the caller's TaskGroup) writes them one at a time.
- Event: `metadata.name` `<object name>.<hex nanoseconds>`, in the object's namespace (or
  `default`); `involvedObject` {kind, namespace, name, uid, apiVersion, resourceVersion,
  fieldPath}; `source` {component, host}; `reportingComponent`/`reportingInstance`;
  `firstTimestamp`, `lastTimestamp`, `count`; `type` `Normal` or `Warning` (others are dropped).
- Correlation (pure, `EventCorrelator`):
  - spam filter: per source and object, a token bucket of 25 refilled at 1 per 5 minutes;
  - aggregation: more than 10 events with the same source, object, type and reason but
    different messages within 10 minutes become one event whose message starts with
    `(combined from similar events): `;
  - deduplication: an identical event (same key, message included) seen again within
    `dedupe_window` (10 minutes) is written as a strategic-merge patch of `count`,
    `lastTimestamp` and `message` on the existing Event instead of a new object. If the patch
    finds the Event gone, it is created again.
- Writes that fail on the network are retried up to 12 times, 10 s apart (the first wait is
  random); a Status error (AlreadyExists, namespace terminating, ...) is not retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..machinery.backoff import TokenBucket
from ..machinery.clock import REAL_CLOCK, Clock
from ..machinery.errors import StatusError, is_not_found
from ..machinery.timeutil import rfc3339
from .rest import Client
from .transport import TransportError

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"

MAX_QUEUED_EVENTS = 1000
MAX_TRIES_PER_EVENT = 12
RETRY_SLEEP = 10.0
LRU_SIZE = 4096
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
AGGREGATE_PREFIX = "(combined from similar events): "


def object_reference(obj: dict, field_path: str = "") -> dict:
    """An ObjectReference for an object (or a copy of one, if `obj` already is a reference)."""
    if "metadata" not in obj and "name" in obj:
        ref = {k: v for k, v in obj.items() if v not in (None, "")}
    else:
        meta = obj.get("metadata") or {}
        ref = {"kind": obj.get("kind"), "namespace": meta.get("namespace"), "name": meta.get("name"),
               "uid": meta.get("uid"), "apiVersion": obj.get("apiVersion"),
               "resourceVersion": meta.get("resourceVersion")}
        ref = {k: v for k, v in ref.items() if v}
    if field_path:
        ref["fieldPath"] = field_path
    if not ref.get("kind") or not ref.get("name"):
        raise ValueError("cannot reference an object without kind and name")
    return ref


def _join(*parts: Any) -> str:
    return "\x00".join(str(p or "") for p in parts)


def event_key(ev: dict) -> str:
    o, s = ev["involvedObject"], ev.get("source") or {}
    return _join(s.get("component"), s.get("host"), o.get("kind"), o.get("namespace"), o.get("name"),
                 o.get("fieldPath"), o.get("uid"), o.get("apiVersion"), ev.get("type"), ev.get("reason"),
                 ev.get("message"))


def _spam_key(ev: dict) -> str:
    o, s = ev["involvedObject"], ev.get("source") or {}
    return _join(s.get("component"), s.get("host"), o.get("kind"), o.get("namespace"), o.get("name"),
                 o.get("uid"), o.get("apiVersion"))


def _aggregate_key(ev: dict) -> str:
    return _join(_spam_key(ev), ev.get("type"), ev.get("reason"), ev.get("reportingComponent"),
                 ev.get("reportingInstance"))


class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)

    def fetch(self, key: str) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        return None


@dataclass
class _Seen:
    count: int
    first_timestamp: str
    name: str
    resource_version: str
    at: float


@dataclass
class _Aggregate:
    messages: set[str] = field(default_factory=set)
    at: float = -1e18


class EventCorrelator:
    """Decides, without I/O, whether an event is dropped, created, or patched onto an earlier one."""

    def __init__(self, clock: Clock = REAL_CLOCK, *, spam_filter: bool = True,
                 dedupe_window: float | None = AGGREGATE_INTERVAL) -> None:
        self._clock = clock
        self._spam_filter = spam_filter
        self._dedupe_window = dedupe_window
        self._spam: _LRU = _LRU(LRU_SIZE)
        self._aggregates: _LRU = _LRU(LRU_SIZE)
        self._seen: _LRU = _LRU(LRU_SIZE)

    def correlate(self, ev: dict) -> tuple[dict, dict | None] | None:
        """`None` to drop it; else the event to write and the patch to use (None: create)."""
        if self._spam_filter:
            bucket = self._spam.fetch(_spam_key(ev))
            if bucket is None:
                bucket = TokenBucket(SPAM_QPS, SPAM_BURST, clock=self._clock)
            self._spam.put(_spam_key(ev), bucket)
            if not bucket.try_accept():
                return None
        ev, key = self._aggregate(ev)
        return self._observe(ev, key)

    def _aggregate(self, ev: dict) -> tuple[dict, str]:
        now = self._clock.monotonic()
        akey = _aggregate_key(ev)
        rec = self._aggregates.fetch(akey)
        if rec is None or now - rec.at > AGGREGATE_INTERVAL:
            rec = _Aggregate()
        rec.messages.add(ev.get("message", ""))
        rec.at = now
        self._aggregates.put(akey, rec)
        if len(rec.messages) < AGGREGATE_MAX_EVENTS:
            return ev, event_key(ev)
        rec.messages.pop()
        combined = {**ev, "metadata": dict(ev["metadata"]), "count": 1,
                    "message": AGGREGATE_PREFIX + ev.get("message", "")}
        return combined, akey

    def _observe(self, ev: dict, key: str) -> tuple[dict, dict | None]:
        now = self._clock.monotonic()
        last: _Seen | None = self._seen.fetch(key)
        if last is not None and self._dedupe_window is not None and now - last.at > self._dedupe_window:
            last = None
        patch = None
        if last is not None and last.count > 0:
            ev = {**ev, "metadata": {**ev["metadata"], "name": last.name, "resourceVersion": last.resource_version},
                  "firstTimestamp": last.first_timestamp, "count": last.count + 1}
            patch = {"count": ev["count"], "lastTimestamp": ev["lastTimestamp"], "message": ev.get("message", "")}
        self._seen.put(key, _Seen(ev["count"], ev["firstTimestamp"], ev["metadata"]["name"],
                                  ev["metadata"].get("resourceVersion", ""), now))
        return ev, patch

    def update_state(self, ev: dict, key: str | None = None) -> None:
        """Remember what the server returned (its name, resourceVersion and count)."""
        key = key or event_key(ev)
        meta = ev.get("metadata") or {}
        prev = self._seen.fetch(key)
        self._seen.put(key, _Seen(ev.get("count") or 1, ev.get("firstTimestamp", ""), meta.get("name", ""),
                                  meta.get("resourceVersion", ""), prev.at if prev else self._clock.monotonic()))


WRITERS = 4


class EventRecorder:
    def __init__(self, client: Client, component: str, host: str = "", *, clock: Clock = REAL_CLOCK,
                 rng: random.Random | None = None, spam_filter: bool = True,
                 dedupe_window: float | None = AGGREGATE_INTERVAL, max_queued: int = MAX_QUEUED_EVENTS) -> None:
        self.client = client
        self.component = component
        self.host = host
        self._clock = clock
        self._rng = rng or random.Random()
        self._correlator = EventCorrelator(clock, spam_filter=spam_filter, dedupe_window=dedupe_window)
        # Several writers, sharded by involved object, so a burst (a scheduler binding thousands of
        # pods) is written in parallel while one object's events stay in order.
        self._queues: list[asyncio.Queue[dict]] = [asyncio.Queue(max_queued) for _ in range(WRITERS)]
        self._last_ns = 0
        self.dropped = 0

    def event(self, obj: dict, type: str, reason: str, message: str, *, field_path: str = "") -> None:
        """Record an event about `obj` (an object or an ObjectReference). Never blocks."""
        if type not in (NORMAL, WARNING):
            log.error("unsupported event type: %r", type)
            return
        try:
            ref = object_reference(obj, field_path)
        except ValueError as exc:
            log.error("could not construct reference to %r: %s; will not report event %s %s %s",
                      (obj.get("metadata") or {}).get("name"), exc, type, reason, message)
            return
        q = self._queues[hash((ref.get("namespace"), ref.get("name"), ref.get("uid"))) % len(self._queues)]
        try:
            q.put_nowait(self._make_event(ref, type, reason, message))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("event queue is full, dropping event %s %s", reason, message)

    def _make_event(self, ref: dict, type: str, reason: str, message: str) -> dict:
        now = self._clock.now()
        ns = int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000
        ns = max(ns, self._last_ns + 1)        # unique names even when the clock stands still
        self._last_ns = ns
        ts = rfc3339(now)
        source = {"component": self.component, **({"host": self.host} if self.host else {})}
        return {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{ref['name']}.{ns:x}", "namespace": ref.get("namespace") or "default"},
            "involvedObject": ref, "reason": reason, "message": message, "source": source,
            "firstTimestamp": ts, "lastTimestamp": ts, "count": 1, "type": type, "eventTime": None,
            "reportingComponent": self.component, "reportingInstance": self.host,
        }

    async def run(self) -> None:
        """Write queued events until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for q in self._queues:
                tg.create_task(self._writer(q))

    async def _writer(self, q: asyncio.Queue[dict]) -> None:
        while True:
            ev = await q.get()
            try:
                await self._record(ev)
            finally:
                q.task_done()

    async def wait_flushed(self) -> None:
        """Wait until every event queued so far has been written (or given up on)."""
        for q in self._queues:
            await q.join()

    async def _record(self, ev: dict) -> None:
        result = self._correlator.correlate(ev)
        if result is None:
            return
        ev, patch = result
        for tries in range(1, MAX_TRIES_PER_EVENT + 1):
            if await self._write(ev, patch):
                return
            if tries == MAX_TRIES_PER_EVENT:
                log.error("unable to write event %s (retry limit exceeded!)", ev["metadata"]["name"])
                return
            delay = RETRY_SLEEP * self._rng.random() if tries == 1 else RETRY_SLEEP
            await self._clock.sleep(delay)

    async def _write(self, ev: dict, patch: dict | None) -> bool:
        """True when done (written, or failed in a way retrying cannot fix)."""
        ns, name = ev["metadata"]["namespace"], ev["metadata"]["name"]
        try:
            written = None
            if patch is not None:
                try:
                    written = await self.client.patch("events", name, patch, ns, patch_type="strategic")
                except StatusError as e:
                    if not is_not_found(e):
                        raise
            if written is None:
                body = {**ev, "metadata": {k: v for k, v in ev["metadata"].items() if k != "resourceVersion"}}
                written = await self.client.create("events", body, ns)
            self._correlator.update_state(written)
            return True
        except StatusError as e:
            log.log(logging.DEBUG if e.code == 409 else logging.ERROR,
                    "server rejected event %s/%s: %s (will not retry)", ns, name, e)
            return True
        except TransportError as e:
            log.warning("unable to write event %s/%s: %s (may retry)", ns, name, e)
            return False
