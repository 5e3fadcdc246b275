"""`Status`: what a plugin says about a pod (and a node), as Kubernetes' `framework.Status`.

`None` means success everywhere (Kubernetes' nil `*Status`), so the hot loop over nodes
allocates nothing for a node that passes. A rejection carries readable reasons; the scheduler
counts them per node to build the "0/3 nodes are available: ..." message.

Codes:

- `SUCCESS`: the plugin ran and accepts.
- `ERROR`: an internal error; the pod is retried with backoff.
- `UNSCHEDULABLE`: rejected here, but preemption (evicting lower-priority pods) might help.
- `UNSCHEDULABLE_AND_UNRESOLVABLE`: rejected here, and preemption cannot help on this node.
- `SKIP`: from PreFilter or PreScore, the plugin has nothing to check for this pod; its Filter
  or Score is not called.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Iterable, Mapping


class Code(IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    SKIP = 5

    def __str__(self) -> str:
        return _CODE_NAMES[self]


_CODE_NAMES = {Code.SUCCESS: "Success", Code.ERROR: "Error", Code.UNSCHEDULABLE: "Unschedulable",
               Code.UNSCHEDULABLE_AND_UNRESOLVABLE: "UnschedulableAndUnresolvable", Code.SKIP: "Skip"}


@dataclass(frozen=True, slots=True)
class Status:
    code: Code
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    def message(self) -> str:
        return ", ".join(self.reasons)

    def is_success(self) -> bool:
        return self.code == Code.SUCCESS

    def is_skip(self) -> bool:
        return self.code == Code.SKIP

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def with_plugin(self, plugin: str) -> Status:
        return self if self.plugin == plugin else Status(self.code, self.reasons, plugin)

    def __str__(self) -> str:
        return f"{self.code}: {self.message()}" if self.reasons else str(self.code)


SKIP = Status(Code.SKIP)


def unschedulable(*reasons: str, plugin: str = "") -> Status:
    return Status(Code.UNSCHEDULABLE, reasons, plugin)


def unresolvable(*reasons: str, plugin: str = "") -> Status:
    """UnschedulableAndUnresolvable: preemption on this node would not help."""
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons, plugin)


def error(reason: str, plugin: str = "") -> Status:
    return Status(Code.ERROR, (reason,), plugin)


def is_success(status: Status | None) -> bool:
    return status is None or status.code == Code.SUCCESS


def reasons_histogram(statuses: Mapping[str, Status] | Iterable[Status]) -> str:
    """"1 Insufficient cpu, 2 node(s) had untolerated taint {k: v}": each reason with how many
    nodes gave it, the "<count> <reason>" strings sorted as strings (as Kubernetes does)."""
    counts: dict[str, int] = {}
    values = statuses.values() if isinstance(statuses, Mapping) else statuses
    for st in values:
        for r in st.reasons:
            counts[r] = counts.get(r, 0) + 1
    return ", ".join(sorted(f"{n} {r}" for r, n in counts.items()))
