"""Health check probes: the `Prober` seam, the network one (HTTP GET or TCP connect, as ELB's
health checker does) and a fake for tests.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Protocol

from .health import ProbeResult
from .model import HealthCheck, Target
from .pool import Connector, open_tcp

USER_AGENT = "ELB-HealthChecker/2.0"


class Prober(Protocol):
    async def probe(self, target: Target, port: int, hc: HealthCheck) -> ProbeResult: ...


class NetworkProber:
    def __init__(self, connect: Connector = open_tcp) -> None:
        self.connect = connect

    async def probe(self, target: Target, port: int, hc: HealthCheck) -> ProbeResult:
        writer = None
        try:
            async with asyncio.timeout(hc.timeout):
                reader, writer = await self.connect(Target(target.ip, port))
                if hc.protocol == "TCP":
                    return ProbeResult.passed()
                writer.write(f"GET {hc.path} HTTP/1.1\r\nHost: {target.ip}:{port}\r\n"
                             f"User-Agent: {USER_AGENT}\r\nConnection: close\r\n\r\n".encode("latin-1"))
                line = await reader.readline()
            parts = line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
                return ProbeResult.failed("the target did not answer with HTTP")
            code = int(parts[1])
            return ProbeResult.passed() if hc.code_matches(code) else ProbeResult.code_mismatch(code)
        except TimeoutError:
            return ProbeResult.timed_out()
        except OSError as e:
            return ProbeResult.failed(e.strerror or type(e).__name__)
        finally:
            if writer is not None:
                writer.transport.abort()


class FakeProber:
    """Answers from `results[target]` (a `ProbeResult` or a bool), or `default`; records probes."""

    def __init__(self, default: bool = True, fn: Callable[[Target, int], ProbeResult | bool] | None = None) -> None:
        self.results: dict[Target, ProbeResult | bool] = {}
        self.default = default
        self.fn = fn
        self.probes: list[tuple[Target, int]] = []

    async def probe(self, target: Target, port: int, hc: HealthCheck) -> ProbeResult:
        self.probes.append((target, port))
        r = self.fn(target, port) if self.fn else self.results.get(target, self.default)
        if isinstance(r, ProbeResult):
            return r
        return ProbeResult.passed() if r else ProbeResult.failed()
