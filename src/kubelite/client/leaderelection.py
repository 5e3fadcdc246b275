"""Leader election on a coordination.k8s.io/v1 Lease (client-go's `tools/leaderelection`).

    elector = LeaderElector(client, "kube-controller-manager", "kube-system", identity)
    await elector.run(on_started_leading=run_controllers, on_stopped_leading=exit_process)

    # or, structured:
    async with elector.leading():       # waits until this process holds the lease
        await run_controllers()         # cancelled if the lease is lost -> LeaderElectionLost

The Lease spec carries `holderIdentity`, `leaseDurationSeconds`, `acquireTime` and `renewTime`
(MicroTime) and `leaseTransitions`. A candidate takes the lease when it has no holder or when
the record it observed has not changed for `lease_duration` (15 s) *by its own clock*; it never
trusts the timestamps written by others, so clock skew between machines does not matter. A
take-over increments `leaseTransitions`. The leader renews every `retry_period` (2 s); if it
cannot renew for `renew_deadline` (10 s), it has lost the lease. Candidates retry every
`retry_period` with jitter 1.2. On leaving `leading()` (done, error or cancellation) the
lease is released (holder cleared, duration 1 s) so a successor need not wait.

Differences from client-go: `run()` returns when `on_started_leading` returns (after releasing),
and `on_stopped_leading` is called only if leadership was acquired.
"""

from __future__ import annotations

import asyncio
import logging
import random
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import AsyncIterator, Awaitable, Callable

from ..machinery.clock import REAL_CLOCK, Clock
from ..machinery.errors import StatusError, is_not_found
from ..machinery.timeutil import parse_time, rfc3339_micro
from .rest import Client
from .transport import TransportError

log = logging.getLogger(__name__)

JITTER_FACTOR = 1.2


class LeaderElectionLost(Exception):
    """The lease could not be renewed within the renew deadline."""


@dataclass
class LeaderElectionRecord:
    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    leader_transitions: int = 0

    @classmethod
    def from_lease(cls, lease: dict) -> LeaderElectionRecord:
        s = lease.get("spec") or {}
        return cls(s.get("holderIdentity") or "", int(s.get("leaseDurationSeconds") or 0),
                   parse_time(s.get("acquireTime")), parse_time(s.get("renewTime")),
                   int(s.get("leaseTransitions") or 0))

    def to_spec(self) -> dict:
        spec: dict = {"holderIdentity": self.holder_identity, "leaseDurationSeconds": self.lease_duration_seconds,
                      "leaseTransitions": self.leader_transitions}
        if self.acquire_time:
            spec["acquireTime"] = rfc3339_micro(self.acquire_time)
        if self.renew_time:
            spec["renewTime"] = rfc3339_micro(self.renew_time)
        return spec


class LeaderElector:
    def __init__(self, client: Client, name: str, namespace: str, identity: str, *,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0, retry_period: float = 2.0,
                 release_on_cancel: bool = True, on_new_leader: Callable[[str], None] | None = None,
                 clock: Clock = REAL_CLOCK, rng: random.Random | None = None) -> None:
        if lease_duration <= renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if renew_deadline <= JITTER_FACTOR * retry_period:
            raise ValueError("renew_deadline must be greater than retry_period*1.2")
        if not identity:
            raise ValueError("leader election needs an identity")
        self.client = client
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_cancel = release_on_cancel
        self.on_new_leader = on_new_leader
        self._clock = clock
        self._rng = rng or random.Random()
        self._lease: dict | None = None             # last Lease read or written (for its resourceVersion)
        self._observed = LeaderElectionRecord()
        self._observed_spec: dict | None = None
        self._observed_at = 0.0
        self._reported_leader = ""

    # ----- state

    def is_leader(self) -> bool:
        return self._observed.holder_identity == self.identity

    def get_leader(self) -> str:
        return self._observed.holder_identity

    def _lease_valid(self) -> bool:
        return self._observed_at + self.lease_duration > self._clock.monotonic()

    def _observe(self, record: LeaderElectionRecord, spec: dict | None) -> None:
        self._observed, self._observed_spec = record, spec
        self._observed_at = self._clock.monotonic()
        if record.holder_identity and record.holder_identity != self._reported_leader:
            self._reported_leader = record.holder_identity
            if self.on_new_leader is not None:
                self.on_new_leader(record.holder_identity)

    # ----- one attempt

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to take or keep the lease; True if this candidate holds it afterwards."""
        now = self._clock.now()
        record = LeaderElectionRecord(self.identity, int(self.lease_duration), now, now)
        if self.is_leader() and self._lease_valid() and self._lease is not None:
            record.acquire_time = self._observed.acquire_time
            record.leader_transitions = self._observed.leader_transitions
            try:
                await self._write(record)
                return True
            except (StatusError, TransportError) as e:
                log.info("failed to update lease %s/%s optimistically: %s", self.namespace, self.name, e)
        try:
            self._lease = await self.client.get("leases.coordination.k8s.io", self.name, self.namespace)
        except StatusError as e:
            if not is_not_found(e):
                raise
            self._lease = await self.client.create("leases.coordination.k8s.io", {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace}, "spec": record.to_spec()})
            self._observe(record, self._lease.get("spec"))
            return True
        spec = self._lease.get("spec") or {}
        old = LeaderElectionRecord.from_lease(self._lease)
        if spec != self._observed_spec:
            self._observe(old, spec)
        if old.holder_identity and self._lease_valid() and not self.is_leader():
            return False
        if self.is_leader():
            record.acquire_time = old.acquire_time
            record.leader_transitions = old.leader_transitions
        else:
            record.leader_transitions = old.leader_transitions + 1
        await self._write(record)
        return True

    async def _write(self, record: LeaderElectionRecord) -> None:
        if self._lease is None:
            raise RuntimeError("no Lease has been read yet")
        lease = {**self._lease, "spec": {**(self._lease.get("spec") or {}), **record.to_spec()}}
        self._lease = await self.client.update("leases.coordination.k8s.io", lease, self.namespace)
        self._observe(record, self._lease.get("spec"))

    async def _attempt(self) -> bool:
        try:
            async with asyncio.timeout(self.renew_deadline):
                return await self.try_acquire_or_renew()
        except (StatusError, TransportError, TimeoutError) as e:
            log.info("error retrieving or updating lease %s/%s: %s", self.namespace, self.name, e)
            return False

    # ----- loops

    async def acquire(self) -> None:
        """Wait until this candidate holds the lease."""
        while not await self._attempt():
            await self._clock.sleep(self.retry_period * (1 + self._rng.random() * JITTER_FACTOR))
        log.info("successfully acquired lease %s/%s", self.namespace, self.name)

    async def _renew(self) -> None:
        while True:
            await self._clock.sleep(self.retry_period)
            deadline = self._clock.monotonic() + self.renew_deadline
            while not await self._attempt():
                if self._clock.monotonic() >= deadline:
                    log.info("failed to renew lease %s/%s: timed out", self.namespace, self.name)
                    raise LeaderElectionLost(f"lease {self.namespace}/{self.name} lost by {self.identity}")
                await self._clock.sleep(self.retry_period)

    async def release(self) -> bool:
        """Give the lease up if this candidate still holds it on the server."""
        try:
            async with asyncio.timeout(self.renew_deadline):
                self._lease = await self.client.get("leases.coordination.k8s.io", self.name, self.namespace)
                current = LeaderElectionRecord.from_lease(self._lease)
                if current.holder_identity != self.identity:
                    return True
                now = self._clock.now()
                await self._write(LeaderElectionRecord("", 1, now, now, current.leader_transitions))
                return True
        except (StatusError, TransportError, TimeoutError) as e:
            log.warning("failed to release lease %s/%s: %s", self.namespace, self.name, e)
            return False

    @asynccontextmanager
    async def leading(self) -> AsyncIterator[LeaderElector]:
        """Hold the lease for the body; the body is cancelled and `LeaderElectionLost` raised if lost."""
        await self.acquire()
        lost = False
        try:
            async with asyncio.TaskGroup() as tg:
                renewer = tg.create_task(self._renew())
                try:
                    yield self
                finally:
                    renewer.cancel()
        except BaseExceptionGroup as eg:
            lost = eg.subgroup(LeaderElectionLost) is not None
            if len(eg.exceptions) == 1 and not isinstance(eg.exceptions[0], BaseExceptionGroup):
                raise eg.exceptions[0] from None
            raise
        finally:
            if self.release_on_cancel and not lost:
                await self.release()

    async def run(self, on_started_leading: Callable[[], Awaitable[None]],
                  on_stopped_leading: Callable[[], None] | None = None) -> None:
        """Campaign, lead by awaiting `on_started_leading()`, and return when done or when lost."""
        led = False
        try:
            async with self.leading():
                led = True
                await on_started_leading()
        except LeaderElectionLost as e:
            log.info("%s", e)
        finally:
            if led and on_stopped_leading is not None:
                on_stopped_leading()
