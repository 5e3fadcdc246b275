"""Progress reporting for pulls, pushes and builds: a small Protocol the CLI renders with rich."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, key: str, description: str, total: int = 0) -> None:
        """A transfer or step begins (`total` bytes, 0 if unknown)."""

    def advance(self, key: str, n: int) -> None:
        """`n` more bytes of `key` done."""

    def finish(self, key: str, status: str) -> None:
        """`key` is over: `Pull complete`, `Layer already exists`, `Mounted from …`, `Pushed`…"""

    def log(self, line: str) -> None:
        """A line of text (build output, digests)."""


class NullProgress:
    def start(self, key: str, description: str, total: int = 0) -> None:
        pass

    def advance(self, key: str, n: int) -> None:
        pass

    def finish(self, key: str, status: str) -> None:
        pass

    def log(self, line: str) -> None:
        pass


class RecordingProgress(NullProgress):
    """Keeps every event (tests)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []

    def start(self, key: str, description: str, total: int = 0) -> None:
        self.events.append(("start", key, total))

    def finish(self, key: str, status: str) -> None:
        self.events.append(("finish", key, status))

    def log(self, line: str) -> None:
        self.events.append(("log", "", line))

    def statuses(self) -> dict[str, str]:
        return {k: str(v) for e, k, v in self.events if e == "finish"}
