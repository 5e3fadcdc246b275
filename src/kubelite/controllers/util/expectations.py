"""Expectations: what a controller is still waiting to see after it asked for creates and deletes.

A controller that created 3 pods must not create 3 more just because its informer has not
delivered them yet. Before acting it records "expect 3 creations" for its key; the pod
informer's handlers lower the count as the pods appear; `satisfied_expectations(key)` is true
once the counts reach zero, or after `EXPECTATIONS_TIMEOUT` (5 minutes) as a safety valve, or
when nothing is recorded. (Kubernetes' `ControllerExpectations`.)

`UIDTrackingControllerExpectations` also remembers which pod keys it expects to be deleted, so
a deletion is counted once even if the informer reports it twice (an update with a
deletionTimestamp, then the delete).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable

from kubelite.machinery.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class ControlleeExpectations:
    key: str
    add: int
    delete: int
    timestamp: float

    def fulfilled(self) -> bool:
        return self.add <= 0 and self.delete <= 0


class ControllerExpectations:
    def __init__(self, clock: Clock = REAL_CLOCK) -> None:
        self._clock = clock
        self._store: dict[str, ControlleeExpectations] = {}

    def get_expectations(self, key: str) -> ControlleeExpectations | None:
        return self._store.get(key)

    def delete_expectations(self, key: str) -> None:
        self._store.pop(key, None)

    def satisfied_expectations(self, key: str) -> bool:
        exp = self._store.get(key)
        if exp is None:
            # Never recorded (or deleted): the controller may act.
            return True
        if exp.fulfilled():
            return True
        if self._clock.monotonic() - exp.timestamp > EXPECTATIONS_TIMEOUT:
            log.info("expectations for %s expired: add=%d delete=%d", key, exp.add, exp.delete)
            return True
        return False

    def set_expectations(self, key: str, add: int, delete: int) -> None:
        self._store[key] = ControlleeExpectations(key, add, delete, self._clock.monotonic())

    def expect_creations(self, key: str, adds: int) -> None:
        self.set_expectations(key, adds, 0)

    def expect_deletions(self, key: str, dels: int) -> None:
        self.set_expectations(key, 0, dels)

    def lower_expectations(self, key: str, add: int, delete: int) -> None:
        exp = self._store.get(key)
        if exp is not None:
            exp.add -= add
            exp.delete -= delete

    def raise_expectations(self, key: str, add: int, delete: int) -> None:
        exp = self._store.get(key)
        if exp is not None:
            exp.add += add
            exp.delete += delete

    def creation_observed(self, key: str) -> None:
        self.lower_expectations(key, 1, 0)

    def deletion_observed(self, key: str) -> None:
        self.lower_expectations(key, 0, 1)


class UIDTrackingControllerExpectations(ControllerExpectations):
    """Deletions are tracked by pod key (`namespace/name`)."""

    def __init__(self, clock: Clock = REAL_CLOCK) -> None:
        super().__init__(clock)
        self._keys: dict[str, set[str]] = {}

    def get_uids(self, key: str) -> set[str] | None:
        return self._keys.get(key)

    def expect_deletions(self, key: str, deleted_keys: list[str]) -> None:  # type: ignore[override]
        existing = self._keys.get(key)
        if existing:
            log.error("clobbering existing delete keys for %s: %s", key, sorted(existing))
        self.expect(key, 0, deleted_keys)

    def expect(self, key: str, adds: int = 0, deleted_keys: Iterable[str] = ()) -> None:
        """Replace what is recorded for `key`: `adds` creations and the deletion of these pod keys
        (the DaemonSet and Job controllers expect both in one step)."""
        self._keys[key] = set(deleted_keys)
        self.set_expectations(key, adds, len(self._keys[key]))

    def deletion_observed(self, key: str, deleted_key: str = "") -> None:  # type: ignore[override]
        keys = self._keys.get(key)
        if keys is not None and deleted_key in keys:
            super().deletion_observed(key)
            keys.discard(deleted_key)

    def delete_expectations(self, key: str) -> None:
        super().delete_expectations(key)
        self._keys.pop(key, None)
