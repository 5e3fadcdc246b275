"""How the service's DNS names resolve on this machine: a block of `/etc/hosts` that the service
owns and keeps current (load balancers' `*.elb.amazonaws.com` names, the ECR registry's
`<account>.dkr.ecr.<region>.amazonaws.com` names), between

    # BEGIN kubelite-cloud <endpoint>
    ...
    # END kubelite-cloud <endpoint>

Nothing else in the file changes; the block is rewritten in place (the file may be bind-mounted)
under an exclusive lock, and removed when the service stops. So every resolver on the machine
(curl, Python, the node agents' pulls) finds the names, and nothing stays behind. The resolver
configuration itself is never touched.

`HostsFile` is the real one; `FakeHosts` keeps the names in memory (tests without root, and a
service started with `hosts_file=""`).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Hosts(Protocol):
    async def set(self, name: str, address: str | None) -> None:
        """Map `name` to `address` (None: remove it)."""

    def lookup(self, name: str) -> str | None: ...

    async def clear(self) -> None:
        """Remove the whole block (the service is stopping)."""


def render_block(tag: str, entries: dict[str, str]) -> str:
    if not entries:
        return ""
    lines = [f"# BEGIN {tag}"] + [f"{ip}\t{name}" for name, ip in sorted(entries.items())] + [f"# END {tag}"]
    return "\n".join(lines) + "\n"


def replace_block(text: str, tag: str, block: str) -> str:
    """`text` without its `tag` block (if any), with `block` appended."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        s = line.strip()
        if s == f"# BEGIN {tag}":
            skipping = True
            continue
        if skipping:
            if s == f"# END {tag}":
                skipping = False
            continue
        out.append(line)
    body = "".join(out)
    if block and body and not body.endswith("\n"):
        body += "\n"
    return body + block


class HostsFile:
    def __init__(self, tag: str, path: str | os.PathLike[str] = "/etc/hosts"):
        self.tag = tag
        self.path = Path(path)
        self.entries: dict[str, str] = {}
        self._lock = asyncio.Lock()

    def lookup(self, name: str) -> str | None:
        return self.entries.get(name)

    async def set(self, name: str, address: str | None) -> None:
        async with self._lock:
            if address is None:
                if self.entries.pop(name, None) is None:
                    return
            elif self.entries.get(name) == address:
                return
            else:
                self.entries[name] = address
            await asyncio.to_thread(self._write)

    async def clear(self) -> None:
        async with self._lock:
            self.entries.clear()
            await asyncio.to_thread(self._write)

    def _write(self) -> None:
        block = render_block(self.tag, self.entries)
        with open(self.path, "r+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                text = f.read()
                new = replace_block(text, self.tag, block)
                if new != text:
                    f.seek(0)
                    f.write(new)
                    f.truncate()
                    f.flush()
                    os.fsync(f.fileno())
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


class FakeHosts:
    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    def lookup(self, name: str) -> str | None:
        return self.entries.get(name)

    async def set(self, name: str, address: str | None) -> None:
        if address is None:
            self.entries.pop(name, None)
        else:
            self.entries[name] = address

    async def clear(self) -> None:
        self.entries.clear()
