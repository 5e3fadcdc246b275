"""Container lifecycle hooks (postStart, preStop): exec in the container, HTTP GET to the pod,
or sleep (Kubernetes' `pkg/kubelet/lifecycle/handlers.go`)."""

from __future__ import annotations

import asyncio
import shlex

from .netutil import http_get
from .podutil import find_port, format_pod
from .runtime.errors import RuntimeServiceError
from .runtime.interface import RuntimeService


class HookError(Exception):
    pass


class HandlerRunner:
    def __init__(self, runtime: RuntimeService, *, netns: str = ""):
        self.runtime = runtime
        self.netns = netns

    async def run(self, container_id: str, pod: dict, container: dict, handler: dict, pod_ip: str) -> str:
        """Run the hook; returns its output. Raises HookError with Kubernetes' wording."""
        cname = container.get("name", "")
        if handler.get("exec"):
            cmd = [str(c) for c in handler["exec"].get("command") or []]
            try:
                result = await self.runtime.exec_sync(container_id, cmd, 0)
            except RuntimeServiceError as e:
                raise HookError(f'Exec lifecycle hook ({cmd}) for Container "{cname}" in Pod "{format_pod(pod)}" '
                                f'failed - error: {e.message}, message: ""') from e
            output = (result.stdout + result.stderr).decode(errors="replace")
            if result.exit_code != 0:
                raise HookError(f'Exec lifecycle hook ({cmd}) for Container "{cname}" in Pod "{format_pod(pod)}" '
                                f"failed - error: command '{shlex.join(cmd)}' exited with {result.exit_code}: "
                                f', message: "{output}"')
            return output
        if handler.get("httpGet"):
            h = handler["httpGet"]
            host = h.get("host") or pod_ip
            port = find_port(container, h.get("port")) or 80
            path = str(h.get("path") or "/")
            headers = [(str(x.get("name")), str(x.get("value"))) for x in h.get("httpHeaders") or []]
            try:
                res = await http_get(str(h.get("scheme") or "HTTP"), host, port, path, headers, netns=self.netns,
                                     timeout=10.0)
            except ConnectionError as e:
                raise HookError(f'HTTP lifecycle hook ({path}) for Container "{cname}" in Pod "{format_pod(pod)}" '
                                f'failed - error: {e}, message: ""') from e
            if not 200 <= res.status < 400:
                raise HookError(f'HTTP lifecycle hook ({path}) for Container "{cname}" in Pod "{format_pod(pod)}" '
                                f"failed - error: HTTP lifecycle hook ({path}) returned status code "
                                f'{res.status}, message: ""')
            return res.body.decode(errors="replace")
        if handler.get("sleep"):
            await asyncio.sleep(max(0, int(handler["sleep"].get("seconds") or 0)))
            return ""
        raise HookError(f'Invalid handler for Container "{cname}" in Pod "{format_pod(pod)}"')
