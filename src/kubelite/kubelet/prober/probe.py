"""Run one probe against a container (Kubernetes' `prober.go`, `probe/{exec,http,tcp}`)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ..netutil import http_get, tcp_check
from ..podutil import find_port
from ..runtime.errors import DeadlineExceeded, RuntimeServiceError
from ..runtime.interface import RuntimeService


@dataclass
class Outcome:
    success: bool
    output: str = ""
    error: bool = False  # the probe could not run (an "errored" probe, not a failed one)


async def run_probe(probe: dict, *, runtime: RuntimeService, container: dict, container_id: str, pod_ip: str,
                    netns: str = "") -> Outcome:
    timeout = float(probe.get("timeoutSeconds") or 1)
    if probe.get("exec"):
        cmd = [str(c) for c in probe["exec"].get("command") or []]
        try:
            res = await runtime.exec_sync(container_id, cmd, timeout)
        except DeadlineExceeded:
            return Outcome(False, f"command {shlex.join(cmd)!r} timed out")
        except RuntimeServiceError as e:
            return Outcome(False, e.message, error=True)
        output = (res.stdout + res.stderr).decode(errors="replace")
        return Outcome(res.exit_code == 0, output)
    if probe.get("httpGet"):
        h = probe["httpGet"]
        port = find_port(container, h.get("port"))
        if port is None:
            return Outcome(False, f"unable to find port {h.get('port')!r} in container", error=True)
        host = h.get("host") or pod_ip
        headers = [(str(x.get("name")), str(x.get("value"))) for x in h.get("httpHeaders") or []]
        try:
            res = await http_get(str(h.get("scheme") or "HTTP"), host, port, str(h.get("path") or "/"), headers,
                                 netns=netns, timeout=timeout)
        except ConnectionError as e:
            return Outcome(False, str(e))
        if 200 <= res.status < 400:
            return Outcome(True, res.body.decode(errors="replace"))
        return Outcome(False, f"HTTP probe failed with statuscode: {res.status}")
    if probe.get("tcpSocket"):
        t = probe["tcpSocket"]
        port = find_port(container, t.get("port"))
        if port is None:
            return Outcome(False, f"unable to find port {t.get('port')!r} in container", error=True)
        try:
            await tcp_check(t.get("host") or pod_ip, port, netns=netns, timeout=timeout)
        except ConnectionError as e:
            return Outcome(False, str(e))
        return Outcome(True)
    if probe.get("grpc"):
        return Outcome(False, "gRPC probes are not supported by this node", error=True)
    return Outcome(False, "missing probe handler", error=True)
