"""Test tools for the node agent: a `Kubelet` over `FakeRuntime`, `FakeImageStore` and the
client's `FakeAPIServer`, with short timings (no root, no real containers).

    async with KubeletHarness(tmp_path) as h:
        await h.create_pod(pod("web", command=["sh", "-c", "echo hi"]))
        await h.wait_for_pod("web", lambda p: p["status"]["phase"] == "Succeeded")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubelite.client.testing import FakeAPIServer
from kubelite.images.fake import FakeImageStore
from kubelite.images.interface import Image

from .config import KubeletConfig
from .kubelet import Kubelet
from .runtime.fake import FakeRuntime, shell_handler

BUSYBOX_ID = "sha256:" + "b" * 64


class FakeTokenSource:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str, int]] = []
        self._n = itertools.count(1)

    async def token(self, pod: dict, service_account: str, audience: str, expiration_seconds: int) -> str:
        self.requests.append(((pod.get("metadata") or {}).get("uid", ""), service_account, audience,
                              expiration_seconds))
        return f"token-{next(self._n)}"

    def forget(self, pod_uid: str) -> None:
        pass


def busybox_image() -> Image:
    return Image(id=BUSYBOX_ID, digest="sha256:" + "d" * 64, repo_tags=["docker.io/library/busybox:latest"],
                 repo_digests=["docker.io/library/busybox@sha256:" + "d" * 64],
                 config={"config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}}, size=1234)


def make_pod(name: str, *, namespace: str = "default", node: str = "node-1", command: list[str] | None = None,
             containers: list[dict] | None = None, **spec: Any) -> dict:
    """A pod as the API server stores it after defaulting (the fields the kubelet reads)."""
    if containers is None:
        containers = [{"name": name, "image": "busybox", "command": command or ["sh", "-c", "sleep 3600"]}]
    for c in containers + list(spec.get("initContainers") or []):
        c.setdefault("image", "busybox")
        c.setdefault("imagePullPolicy", "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
    body = {"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "enableServiceLinks": True, "nodeName": node,
            "automountServiceAccountToken": False, "containers": containers}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4())},
            "spec": body, "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": "2025-01-01T00:00:00Z"}]}}


class KubeletHarness:
    def __init__(self, tmp_path: Path, *, handler=shell_handler, node_name: str = "node-1",
                 config: dict[str, Any] | None = None, api: FakeAPIServer | None = None,
                 runtime: FakeRuntime | None = None, keep_containers: bool = False):
        self.keep_containers = keep_containers  # leave containers running on exit (an agent restart)
        self.tmp_path = Path(tmp_path)
        self.api = api or FakeAPIServer()
        self.client = self.api.client()
        self.runtime = runtime or FakeRuntime(handler=handler)
        self.store = FakeImageStore()
        layer = self.tmp_path / "layer"
        layer.mkdir(parents=True, exist_ok=True)
        self.store.add(busybox_image(), [layer])
        self.tokens = FakeTokenSource()
        opts = dict(node_name=node_name, root_dir=self.tmp_path / "root", log_dir=self.tmp_path / "logs",
                    node_ips=["198.18.0.2"], pleg_relist_period=0.05, housekeeping_period=0.1, error_backoff=0.1,
                    node_status_update_frequency=0.2, memory_backed_volumes=False, cluster_dns=["198.18.128.10"],
                    resolv_conf=str(self.tmp_path / "resolv.conf"), container_log_monitor_period=3600)
        opts.update(config or {})
        self.config = KubeletConfig(**opts)
        self.kubelet = Kubelet(self.config, self.client, self.runtime, self.store, tokens=self.tokens)
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> KubeletHarness:
        self._task = asyncio.create_task(self.kubelet.run())
        ready = asyncio.ensure_future(self.kubelet.ready.wait())
        done, _ = await asyncio.wait([ready, self._task], timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            self._task.result()
        if ready not in done:
            raise TimeoutError("kubelet did not become ready")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
        if self.keep_containers:
            return
        for c in list(self.runtime.state.containers.values()):
            if c.run is not None:
                c.run.finish(137)

    async def create_pod(self, pod: dict) -> dict:
        out = await self.client.create("pods", pod, pod["metadata"].get("namespace", "default"))
        return out

    def get_pod(self, name: str, namespace: str = "default") -> dict | None:
        return self.api.get_object("pods", name, namespace)

    async def wait_for_pod(self, name: str, predicate: Callable[[dict], bool], *, namespace: str = "default",
                           timeout: float = 5.0) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            pod = self.get_pod(name, namespace)
            if pod is not None and predicate(pod):
                return pod
            if self._task is not None and self._task.done():
                self._task.result()
            if loop.time() > deadline:
                raise AssertionError(f"pod {namespace}/{name} did not reach the condition; last: "
                                     f"{(pod or {}).get('status')}")
            await asyncio.sleep(0.01)

    def events(self, name: str | None = None) -> list[dict]:
        evs = self.api.objects("events")
        if name is not None:
            evs = [e for e in evs if e["involvedObject"].get("name") == name]
        return evs


def container_status(pod: dict, name: str, init: bool = False) -> dict:
    key = "initContainerStatuses" if init else "containerStatuses"
    for s in (pod.get("status") or {}).get(key) or []:
        if s.get("name") == name:
            return s
    return {}


def condition(pod: dict, type_: str) -> dict:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c
    return {}
