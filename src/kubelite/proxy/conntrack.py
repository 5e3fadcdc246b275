"""Stale UDP conntrack entries: which to delete after a sync (pure), and deleting them.

A UDP "connection" keeps its DNAT in conntrack for as long as packets flow, so a client with a
fixed source port keeps reaching an endpoint that was removed. After each sync (kube-proxy's
`pkg/proxy/conntrack/cleanup.go`):

- for each UDP service port, every endpoint that traffic may no longer be sent to: delete the
  entries whose original destination is one of the service's IPs and port (ClusterIP,
  externalIPs, LoadBalancer IPs) or its NodePort, and whose reply comes from that endpoint;
- for each UDP service port that had no endpoints and now has some: delete the entries to its
  IPs and NodePort (they were created while packets were rejected or dropped).

TCP needs nothing: a reset tells the client. `Conntrack` is the seam: `ConntrackCommand` runs
the `conntrack` CLI (inside a network namespace when configured), `FakeConntrack` records.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Mapping, Protocol

from .render import ServiceState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowFilter:
    """One `conntrack -D` selection."""

    protocol: str
    orig_dst: str = ""
    orig_port_dst: int = 0
    reply_src: str = ""

    def argv(self) -> list[str]:
        args = ["-D", "-p", self.protocol]
        if self.orig_dst:
            args += ["--orig-dst", self.orig_dst]
        if self.orig_port_dst:
            args += ["--orig-port-dst", str(self.orig_port_dst)]
        if self.reply_src:
            args += ["--reply-src", self.reply_src]
        return args


def stale_flows(prev: Mapping[str, ServiceState], new: Mapping[str, ServiceState]) -> list[FlowFilter]:
    """The conntrack deletions a sync from `prev` to `new` calls for, deterministic."""
    out: list[FlowFilter] = []
    for key in sorted(set(prev) | set(new)):
        old, cur = prev.get(key), new.get(key)
        if old is not None and old.protocol == "udp":
            removed = old.endpoints - (cur.endpoints if cur is not None and cur.protocol == "udp" else frozenset())
            for ep in sorted(removed):
                for ip in old.ips:
                    out.append(FlowFilter("udp", ip, old.port, ep))
                if old.node_port:
                    out.append(FlowFilter("udp", "", old.node_port, ep))
        if cur is not None and cur.protocol == "udp" and cur.endpoints and (old is None or not old.endpoints):
            for ip in cur.ips:
                out.append(FlowFilter("udp", ip, cur.port))
            if cur.node_port:
                out.append(FlowFilter("udp", "", cur.node_port))
    seen: set[FlowFilter] = set()
    return [f for f in out if not (f in seen or seen.add(f))]


class Conntrack(Protocol):
    async def delete(self, flow: FlowFilter) -> int:
        """Delete matching entries; return how many were deleted."""
        ...


class ConntrackCommand:
    """The `conntrack` CLI (Debian package `conntrack`), in `netns` (a path) when given."""

    def __init__(self, netns: str | None = None, binary: str = "conntrack", timeout: float = 10.0) -> None:
        self.netns = netns
        self.binary = binary
        self.timeout = timeout

    async def delete(self, flow: FlowFilter) -> int:
        argv = [self.binary, *flow.argv()]
        if self.netns:
            argv = ["nsenter", f"--net={self.netns}", *argv]
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(self.timeout):
                out, err = await proc.communicate()
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        text = (out + err).decode(errors="replace")
        # "N flow entries have been deleted." (exit 1 when N is 0)
        for line in text.splitlines():
            if "flow entries have been deleted" in line:
                try:
                    return int(line.split(":")[-1].split()[0])
                except (ValueError, IndexError):
                    return 0
        if proc.returncode:
            raise RuntimeError(f"conntrack {' '.join(flow.argv())} failed: {text.strip()}")
        return 0


class FakeConntrack:
    def __init__(self) -> None:
        self.deleted: list[FlowFilter] = []

    async def delete(self, flow: FlowFilter) -> int:
        self.deleted.append(flow)
        return 0
