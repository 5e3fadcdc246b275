"""Applying rulesets to the kernel: one `nft -f -` transaction per sync.

Two seams, each with a real and a fake implementation:

- `Nft` runs a script and lists what our table holds: `NftCommand` (the `nft` binary through
  an asyncio subprocess, inside a network namespace when given one), `FakeNft` (records scripts,
  fails on demand, tracks chain names).
- `Applier` turns the wanted `Ruleset` into transactions: `NftablesApplier` (over an `Nft` and a
  `Conntrack`), `FakeApplier` (records rulesets; for the proxier's tests).

`NftablesApplier.apply(ruleset)` sends a full resync the first time, when asked to, and after a
failure; otherwise the minimal incremental transaction against what it last applied. A failed
transaction changes nothing in the kernel (nft batches are atomic): the error is raised for the
caller to log and retry with backoff. Per-service chains that fall out of use are flushed in the
sync and deleted by `delete_stale_chains()` at least `stale_chain_delay` seconds later. After a
successful sync, stale UDP conntrack entries are deleted. `cleanup()` deletes the table.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Protocol

from ..machinery.clock import REAL_CLOCK, Clock
from .conntrack import Conntrack, stale_flows
from .render import (KernelState, Ruleset, SetSpec, Transaction, is_affinity_set_name, render_delete_chains,
                     render_delete_table, render_full, render_incremental)

log = logging.getLogger(__name__)


class NftError(Exception):
    """nft rejected a transaction (nothing was applied)."""

    def __init__(self, message: str, script: str = "") -> None:
        super().__init__(message)
        self.script = script


def netns_path(netns: str | None) -> str | None:
    """A network namespace given by path, or by `ip netns` name."""
    if not netns:
        return None
    return netns if "/" in netns else f"/run/netns/{netns}"


# ---------------------------------------------------------------------------------------------
# Nft: run scripts


class Nft(Protocol):
    async def run(self, script: str) -> None:
        """Apply a script as one transaction; raise `NftError` if nft rejects it."""
        ...

    async def list_state(self, table: str) -> KernelState: ...


class NftCommand:
    def __init__(self, netns: str | None = None, binary: str = "nft", timeout: float = 120.0) -> None:
        self.netns = netns_path(netns)
        self.binary = binary
        self.timeout = timeout

    def _argv(self, *args: str) -> list[str]:
        argv = [self.binary, *args]
        return ["nsenter", f"--net={self.netns}", *argv] if self.netns else argv

    async def _exec(self, *args: str, stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
        proc = await asyncio.create_subprocess_exec(
            *self._argv(*args), stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(self.timeout):
                out, err = await proc.communicate(stdin)
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        return proc.returncode or 0, out, err

    async def run(self, script: str) -> None:
        rc, _, err = await self._exec("-f", "-", stdin=script.encode())
        if rc != 0:
            raise NftError(err.decode(errors="replace").strip()[:4000] or f"nft exited {rc}", script)

    async def list_state(self, table: str) -> KernelState:
        (rc, out, err), (tables_rc, tout, _), (src, sout, serr) = await asyncio.gather(
            self._exec("-j", "list", "chains", "ip"), self._exec("-j", "list", "tables", "ip"),
            self._exec("-j", "list", "sets", "ip"))
        if rc != 0 or src != 0:
            raise NftError((err or serr).decode(errors="replace").strip())
        chains = {c["name"] for c in _objects(out, "chain") if c.get("table") == table}
        exists = tables_rc == 0 and any(t.get("name") == table for t in _objects(tout, "table"))
        out = sout
        sets: dict[str, SetSpec | None] = {}
        for s in _objects(out, "set"):
            if s.get("table") != table:
                continue
            name = s["name"]
            sets[name] = (SetSpec("ipv4_addr", flags=("dynamic", "timeout"), timeout=int(s.get("timeout") or 0))
                          if is_affinity_set_name(name) else None)
        return KernelState(exists, frozenset(chains), sets)


def _objects(out: bytes, kind: str) -> list[dict]:
    try:
        doc = json.loads(out or b"{}")
    except ValueError:
        return []
    return [o[kind] for o in doc.get("nftables", []) if kind in o]


class FakeNft:
    """Records scripts; `fail_next(n)` makes the next n runs fail. Tracks chain names."""

    def __init__(self) -> None:
        self.scripts: list[str] = []
        self.listings = 0
        self.chains: set[str] = set()
        self.table_exists = False
        self._fail = 0

    def fail_next(self, n: int = 1) -> None:
        self._fail = n

    async def run(self, script: str) -> None:
        if self._fail:
            self._fail -= 1
            raise NftError("Error: Could not process rule: injected failure", script)
        self.scripts.append(script)
        for line in script.splitlines():
            words = line.split()
            if words[:2] == ["add", "table"]:
                self.table_exists = True
            elif words[:2] == ["delete", "table"]:
                self.table_exists = False
                self.chains.clear()
            elif words[:2] == ["add", "chain"]:
                self.chains.add(words[4])
            elif words[:1] == ["chain"] and line.startswith("\t"):     # inside a `table { }` block
                self.chains.add(words[1])
            elif words[:2] == ["delete", "chain"]:
                self.chains.discard(words[4])

    async def list_state(self, table: str) -> KernelState:
        self.listings += 1
        return KernelState(self.table_exists, frozenset(self.chains), {})


# ---------------------------------------------------------------------------------------------
# Applier


class Applier(Protocol):
    async def apply(self, ruleset: Ruleset, *, full: bool = False) -> Transaction:
        """Make the kernel match `ruleset`; raise (changing nothing) on failure."""
        ...

    async def delete_stale_chains(self) -> int: ...

    def stale_deadline(self) -> float | None:
        """Monotonic time at which `delete_stale_chains` has work, or None."""
        ...

    async def cleanup(self) -> None: ...


@dataclass
class ApplierStatistics:
    full_syncs: int = 0
    incremental_syncs: int = 0
    failures: int = 0
    commands: int = 0
    deleted_chains: int = 0
    conntrack_deletes: int = 0
    last_error: str = ""


class NftablesApplier:
    def __init__(self, nft: Nft, *, table: str = "kubelite-proxy", conntrack: Conntrack | None = None,
                 clock: Clock = REAL_CLOCK, stale_chain_delay: float = 1.0) -> None:
        self.nft = nft
        self.table = table
        self.conntrack = conntrack
        self.clock = clock
        self.stale_chain_delay = stale_chain_delay
        self.applied: Ruleset | None = None
        self.stats = ApplierStatistics()
        self._needs_full = True
        self._stale: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def apply(self, ruleset: Ruleset, *, full: bool = False) -> Transaction:
        async with self._lock:
            prev = self.applied
            # rendering a script for 1,000 Services takes tens of milliseconds: off the event loop
            if prev is None or self._needs_full:
                # after a start or a failure: ask the kernel what is there
                tx = await asyncio.to_thread(render_full, ruleset, await self.nft.list_state(ruleset.table))
            elif full:
                # a periodic resync: only we change this table, so what we applied is what is there
                known = KernelState(True, frozenset(prev.chains) | frozenset(self._stale), dict(prev.sets))
                tx = await asyncio.to_thread(render_full, ruleset, known)
            else:
                tx = await asyncio.to_thread(render_incremental, prev, ruleset)
            if tx:
                try:
                    await self.nft.run(tx.script)
                except Exception as e:
                    self.stats.failures += 1
                    self.stats.last_error = str(e)
                    self._needs_full = True
                    raise
            self.applied = ruleset
            self._needs_full = False
            if tx.full:
                self.stats.full_syncs += 1
            else:
                self.stats.incremental_syncs += 1
            self.stats.commands += tx.commands
            now = self.clock.monotonic()
            for c in tx.stale_chains:
                self._stale.setdefault(c, now)
            for c in [c for c in self._stale if c in ruleset.chains]:
                del self._stale[c]
        if self.conntrack is not None and prev is not None:
            await self._clear_conntrack(prev, ruleset)
        return tx

    async def _clear_conntrack(self, prev: Ruleset, new: Ruleset) -> None:
        assert self.conntrack is not None
        for flow in stale_flows(prev.services, new.services):
            try:
                self.stats.conntrack_deletes += await self.conntrack.delete(flow)
            except Exception as e:  # best effort, like kube-proxy
                log.warning("deleting stale conntrack entries %s: %s", flow.argv(), e)

    def stale_deadline(self) -> float | None:
        if not self._stale:
            return None
        return min(self._stale.values()) + self.stale_chain_delay

    async def delete_stale_chains(self) -> int:
        async with self._lock:
            now = self.clock.monotonic()
            due = [c for c, t in self._stale.items() if now - t >= self.stale_chain_delay]
            if not due:
                return 0
            for c in due:
                del self._stale[c]
            try:
                await self.nft.run(render_delete_chains(self.table, due).script)
            except Exception as e:
                # still in the kernel: the next (full) sync lists and flushes them again
                log.warning("deleting %d stale chains failed: %s", len(due), e)
                self._needs_full = True
                return 0
            self.stats.deleted_chains += len(due)
            return len(due)

    async def cleanup(self) -> None:
        async with self._lock:
            try:
                await self.nft.run(render_delete_table(self.table))
            except NftError as e:
                if "No such file" not in str(e):
                    raise
            self.applied = None
            self._needs_full = True
            self._stale.clear()


@dataclass
class FakeApplier:
    """Records every ruleset; `fail_next(n)` makes the next n applies raise."""

    applied: list[Ruleset] = field(default_factory=list)
    full: list[bool] = field(default_factory=list)
    cleaned_up: bool = False
    _fail: int = 0

    def fail_next(self, n: int = 1) -> None:
        self._fail = n

    @property
    def last(self) -> Ruleset | None:
        return self.applied[-1] if self.applied else None

    async def apply(self, ruleset: Ruleset, *, full: bool = False) -> Transaction:
        if self._fail:
            self._fail -= 1
            raise NftError("injected failure")
        prev = self.applied[-1] if self.applied else None
        tx = render_full(ruleset) if full or prev is None else render_incremental(prev, ruleset)
        self.applied.append(ruleset)
        self.full.append(tx.full)
        return tx

    async def delete_stale_chains(self) -> int:
        return 0

    def stale_deadline(self) -> float | None:
        return None

    async def cleanup(self) -> None:
        self.cleaned_up = True
