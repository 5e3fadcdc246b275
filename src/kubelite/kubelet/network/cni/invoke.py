"""Executing one CNI plugin: config on stdin, result or error JSON on stdout, logs on stderr.

Plugins run in the "node" network namespace: the agent's own, or `node_netns` entered with
`nsenter --net=<path>` (several nodes on one machine, contract §3.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
from dataclasses import dataclass
from typing import Any

from ..interface import NetworkError


class CNIError(NetworkError):
    """A plugin failed: CNI error `code` (1-99 spec, >=100 plugin), `msg` and `details`."""

    def __init__(self, plugin: str, command: str, code: int, msg: str, details: str = ""):
        self.plugin, self.command, self.code, self.msg, self.details = plugin, command, code, msg, details
        text = f"plugin type={plugin!r} failed ({command}): {msg}"
        super().__init__(text + (f": {details}" if details else ""))


@dataclass
class Invoker:
    plugin_dirs: list[str]
    node_netns: str = ""
    timeout: float = 30.0

    def find(self, plugin_type: str) -> str | None:
        for d in self.plugin_dirs:
            path = os.path.join(d, plugin_type)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
        return None

    async def __call__(
        self,
        command: str,
        config: dict[str, Any],
        *,
        container_id: str,
        netns: str,
        ifname: str,
        args: str,
    ) -> dict[str, Any] | None:
        plugin = config["type"]
        binary = self.find(plugin)
        if binary is None:
            raise CNIError(plugin, command, 0, f"failed to find plugin {plugin!r} in path {self.plugin_dirs}")
        env = {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": container_id,
            "CNI_NETNS": netns,
            "CNI_IFNAME": ifname,
            "CNI_ARGS": args,
            "CNI_PATH": ":".join(self.plugin_dirs),
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        }
        argv = [binary]
        if self.node_netns:
            argv = [shutil.which("nsenter") or "nsenter", f"--net={self.node_netns}", "--", binary]
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env,
        )
        try:
            async with asyncio.timeout(self.timeout):
                out, err = await proc.communicate(json.dumps(config).encode())
        except BaseException:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await asyncio.shield(asyncio.wait_for(proc.wait(), 5))
            raise
        if proc.returncode != 0:
            try:
                e = json.loads(out)
                raise CNIError(plugin, command, int(e.get("code", 0)), str(e.get("msg", "")), str(e.get("details", "")))
            except (ValueError, AttributeError):
                text = (out or err).decode(errors="replace").strip()
                raise CNIError(plugin, command, proc.returncode or 0, text) from None
        return json.loads(out) if out.strip() else None
