"""`ProcessControlPlanes`: each cluster's control plane in its own child process
(`python -m kubelite.cloud.provisioner.child`), with its own data dir (CA, serving certificate,
SQLite datastore), HTTPS port on 127.0.0.1, and the service's token-review webhook.

A control plane is started once its `cloud-ready` file exists and `/readyz` answers over TLS
with its CA; a child that exits early fails the start with the tail of its log. Children are
stopped by PID (SIGTERM, then SIGKILL), exit on their own if the service dies, and `destroy`
removes the data dir. A restarted service starts them again on the same ports and data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import ssl
import sys
from typing import Any

import aiohttp

from .child import READY_FILE
from .interface import ControlPlaneSpec, Endpoint, ProvisionError
from .webhook import write_config

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nobody listens there (connections in TIME_WAIT from a stopped server do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


class _Child:
    def __init__(self, spec: ControlPlaneSpec, port: int, proc: asyncio.subprocess.Process):
        self.spec = spec
        self.port = port
        self.proc = proc
        self.client: Any = None


class ProcessControlPlanes:
    def __init__(self, *, python: str = sys.executable, bind_address: str = "127.0.0.1",
                 extra_args: list[str] | None = None, verbose: int = 1):
        self.python = python
        self.bind_address = bind_address
        self.extra_args = list(extra_args or [])
        self.verbose = verbose
        self._children: dict[str, _Child] = {}

    def running(self, cluster_id: str) -> bool:
        c = self._children.get(cluster_id)
        return c is not None and c.proc.returncode is None

    def pids(self) -> dict[str, int]:
        return {k: c.proc.pid for k, c in self._children.items() if c.proc.returncode is None}

    async def start(self, spec: ControlPlaneSpec) -> Endpoint:
        if self.running(spec.cluster_id):
            return self._endpoint(self._children[spec.cluster_id])
        await self.stop(spec.cluster_id)
        data = spec.data_dir
        await asyncio.to_thread(data.mkdir, parents=True, exist_ok=True)
        port = spec.port if spec.port and port_free(spec.port) else free_port()
        webhook_cfg = data / "webhook.kubeconfig"
        await asyncio.to_thread(write_config, webhook_cfg, spec.webhook_url, spec.webhook_token)
        (data / READY_FILE).unlink(missing_ok=True)
        # With a VPC address the API server also listens there (for the VPC's nodes and pods).
        bind = "0.0.0.0" if spec.vpc_address else self.bind_address
        args = [self.python, "-m", "kubelite.cloud.provisioner.child", "--data-dir", str(data), "--https-port",
                str(port), "--bind-address", bind, "--authentication-token-webhook-config-file",
                str(webhook_cfg), "--parent-pid", str(os.getpid()), "--controllers", spec.controllers,
                *(["-v"] * self.verbose), *self.extra_args]
        if spec.service_cidr:
            args += ["--service-cidr", spec.service_cidr]
        if spec.vpc_address:
            args += ["--advertise-address", spec.vpc_address, "--cluster-dns-address", spec.vpc_address]
        log_file = open(data / "control-plane.log", "ab")
        try:
            proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.DEVNULL, stdout=log_file,
                                                        stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        finally:
            log_file.close()
        child = self._children[spec.cluster_id] = _Child(spec, port, proc)
        log.info("cluster %s: control plane pid %d on port %d", spec.name, proc.pid, port)
        await self._wait_ready(child)
        return self._endpoint(child)

    def _endpoint(self, child: _Child) -> Endpoint:
        ca = (child.spec.data_dir / "tls" / "ca.crt").read_bytes()
        return Endpoint(f"https://127.0.0.1:{child.port}", child.port, ca)

    async def _wait_ready(self, child: _Child) -> None:
        ready = child.spec.data_dir / READY_FILE
        while not ready.exists():
            if child.proc.returncode is not None:
                raise ProvisionError(f"the control plane exited with code {child.proc.returncode}: "
                                     f"{self._log_tail(child)}")
            await asyncio.sleep(0.05)
        ctx = ssl.create_default_context(cafile=str(child.spec.data_dir / "tls" / "ca.crt"))
        url = f"https://127.0.0.1:{child.port}/readyz"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
            while True:
                if child.proc.returncode is not None:
                    raise ProvisionError(f"the control plane exited with code {child.proc.returncode}: "
                                         f"{self._log_tail(child)}")
                try:
                    async with s.get(url, ssl=ctx) as r:
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.05)

    def _log_tail(self, child: _Child) -> str:
        try:
            text = (child.spec.data_dir / "control-plane.log").read_text(errors="replace")
        except OSError:
            return ""
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        return " | ".join(lines[-3:])[-600:]

    async def stop(self, cluster_id: str) -> None:
        child = self._children.pop(cluster_id, None)
        if child is None:
            return
        if child.client is not None:
            with contextlib.suppress(Exception):
                await child.client.close()
        proc = child.proc
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        (child.spec.data_dir / READY_FILE).unlink(missing_ok=True)

    async def destroy(self, spec: ControlPlaneSpec) -> None:
        await self.stop(spec.cluster_id)
        await asyncio.to_thread(shutil.rmtree, spec.data_dir, True)

    def client(self, cluster_id: str) -> Any:
        child = self._children.get(cluster_id)
        if child is None:
            raise ProvisionError(f"cluster {cluster_id} is not running")
        if child.client is None:
            from kubelite.client import Client, ClientConfig

            tls = child.spec.data_dir / "tls"
            cfg = ClientConfig(server=f"https://127.0.0.1:{child.port}", ca_data=(tls / "ca.crt").read_bytes(),
                               cert_data=(tls / "admin.crt").read_bytes(), key_data=(tls / "admin.key").read_bytes(),
                               user_agent="kubelite-cloud")
            child.client = Client.from_config(cfg)
        return child.client

    async def close(self) -> None:
        await asyncio.gather(*(self.stop(k) for k in list(self._children)))
