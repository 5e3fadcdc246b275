"""The `runc` command line (1.1.x), with one state directory (`--root`) per runtime instance."""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import CommandFailed, NotFound
from .command import run


def _missing(err: CommandFailed) -> bool:
    # The one place that reads runc's error text: it has no exit code for "no such container".
    return "does not exist" in err.stderr or "container not found" in err.stderr


class Runc:
    def __init__(self, binary: str, root: str, *, timeout: float = 30.0):
        self.binary = binary
        self.root = root
        self.timeout = timeout

    def argv(self, *args: str) -> list[str]:
        return [self.binary, f"--root={self.root}", *args]

    async def _run(self, *args: str, input: bytes | None = None, timeout: float | None = None):
        try:
            return await run(self.argv(*args), what=f"runc {args[0]}", input=input, timeout=timeout or self.timeout)
        except CommandFailed as err:
            if _missing(err):
                raise NotFound(f"container {args[-1]!r} not found in runc state") from err
            raise

    async def start(self, container_id: str) -> None:
        await self._run("start", container_id)

    async def kill(self, container_id: str, sig: int, *, all: bool = False) -> None:
        args = ["kill", *(["--all"] if all else []), container_id, str(sig)]
        await self._run(*args)

    async def delete(self, container_id: str, *, force: bool = False) -> None:
        """Delete; a container runc does not know is already deleted."""
        try:
            await self._run("delete", *(["--force"] if force else []), container_id)
        except NotFound:
            pass

    async def state(self, container_id: str) -> dict[str, Any] | None:
        try:
            res = await self._run("state", container_id)
        except NotFound:
            return None
        return json.loads(res.stdout)

    async def list(self) -> list[dict[str, Any]]:
        res = await self._run("list", "--format", "json")
        return json.loads(res.stdout or b"null") or []

    async def ps(self, container_id: str) -> list[int]:
        res = await self._run("ps", "--format", "json", container_id)
        return json.loads(res.stdout or b"null") or []

    async def update(self, container_id: str, resources: dict[str, Any]) -> None:
        await self._run("update", "--resources", "-", container_id, input=json.dumps(resources).encode())

    async def version(self) -> str:
        res = await run([self.binary, "--version"], what="runc --version", timeout=self.timeout)
        m = re.search(rb"runc version (\S+)", res.stdout)
        return m.group(1).decode() if m else "unknown"
