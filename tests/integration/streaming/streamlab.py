"""A one-node cluster for streaming tests with the real kubectl.

A background thread runs one event loop with:
- the API server over HTTPS (its own CA; admin and kubelet-client certificates), with the
  node-proxied subresources and metrics registered (`node_proxy.register`);
- a `KubeletServer` on 127.0.0.1:<random port>, TLS from the same CA, backed by a runtime
  (`FakeRuntime`, or runc + busybox through `RuncHarness`) and a lookup over that runtime;
- a Node object pointing at it (InternalIP 127.0.0.1, daemonEndpoints port).

Pods are made by `add_pod`: the Pod object (bound to the node, status Running) and its sandbox
and containers in the runtime. Tests drive kubectl synchronously from the test thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import yaml
from aiohttp import web

from kubelite.apiserver import node_proxy
from kubelite.client import pki
from kubelite.apiserver.server import APIServer, ServerOptions
from kubelite.kubelet.runtime import ContainerConfig, ContainerImage, ContainerState, ContainerStats, PodSandboxConfig
from kubelite.kubelet.runtime.fake import FakeRuntime
from kubelite.kubelet.server import (
    FakePodLookup,
    KubeletServer,
    KubeletServerOptions,
    LoopbackDialer,
    NetnsDialer,
    serving_ssl_context,
)
from kubelite.kubelet.server.lookup import ContainerRef
from kubelite.machinery import timeutil
from kubelite.registry.generic.store import WriteOptions
from kubelite.storage.memory import MemoryBackend
from kubelite.testing import free_port

NODE = "node1"


class BusyFakeRuntime(FakeRuntime):
    """A fake whose containers burn 50m of CPU and hold 20Mi, so `kubectl top` has numbers."""

    async def container_stats(self, container_id: str) -> ContainerStats:
        c = self._container(container_id)
        now = time.time_ns()
        elapsed = max(0, now - (c.started_at or now))
        return ContainerStats(container_id=c.id, name=c.config.name, timestamp=now,
                              cpu_usage_core_nano_seconds=elapsed // 20, memory_usage_bytes=25 << 20,
                              memory_working_set_bytes=20 << 20)


class RuntimeLookup(FakePodLookup):
    """`FakePodLookup` whose `running` comes from the runtime, as the kubelet core's would."""

    def __init__(self, runtime):
        super().__init__()
        self.runtime = runtime

    async def find_container(self, namespace: str, pod: str, container: str) -> ContainerRef | None:
        ref = self.containers.get((namespace, pod, container))
        if ref is None:
            return None
        try:
            st = await self.runtime.container_status(ref.container_id)
        except Exception:  # noqa: BLE001 - removed: not running
            return ref._replace(running=False)
        return ref._replace(running=st.state == ContainerState.RUNNING)


class Cluster:
    def __init__(self, base: Path, runtime: str = "fake"):
        self.base = base
        self.kind = runtime
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run_loop, name="streamlab", daemon=True)
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.cache_dir = tempfile.mkdtemp(prefix="kubectl-cache-", dir=base)
        self.kubeconfig = base / "admin.kubeconfig"
        self.dialer_ports: dict = {}
        self._stop: asyncio.Event | None = None
        self.harness = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Cluster:
        self.thread.start()
        self.ready.wait(60)
        if self.error is not None:
            raise self.error
        if not self.ready.is_set():
            raise TimeoutError("cluster did not start")
        return self

    def stop(self) -> None:
        """Stop everything; raises what the loop raised (a runtime that left something behind)."""
        if self._stop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(120)
        if self.thread.is_alive():
            raise TimeoutError("the cluster thread did not stop")
        if self.error is not None:
            raise self.error

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as e:  # noqa: BLE001 - reported to the test thread
            self.error = e
            self.ready.set()
        finally:
            self.loop.close()

    def call(self, coro, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        tls = self.base / "tls"
        tls.mkdir(parents=True, exist_ok=True)
        ca = pki.new_ca("streamlab-ca")
        ca.save(tls / "ca.crt", tls / "ca.key")
        pki.sign(ca, common_name="kube-apiserver", ip_addresses=["127.0.0.1"], dns_names=["localhost"],
                 server=True).save(tls / "apiserver.crt", tls / "apiserver.key")
        admin = pki.sign(ca, common_name="system:admin", organizations=["system:masters"], client=True)
        admin.save(tls / "admin.crt", tls / "admin.key")
        pki.sign(ca, common_name="kube-apiserver-kubelet-client", organizations=["system:masters"],
                 client=True).save(tls / "kubelet-client.crt", tls / "kubelet-client.key")
        pki.sign(ca, common_name=NODE, ip_addresses=["127.0.0.1"], server=True).save(
            tls / "kubelet.crt", tls / "kubelet.key")
        self.tls = tls

        api_ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        api_ssl.load_cert_chain(tls / "apiserver.crt", tls / "apiserver.key")
        api_ssl.load_verify_locations(tls / "ca.crt")
        api_ssl.verify_mode = ssl.CERT_OPTIONAL
        api_ssl.set_alpn_protocols(["http/1.1"])
        options = ServerOptions(bind_address="127.0.0.1", port=self.port, ssl_context=api_ssl)
        node_proxy.register(options, node_proxy.KubeletClientConfig(
            cert_file=str(tls / "kubelet-client.crt"), key_file=str(tls / "kubelet-client.key"),
            ca_file=str(tls / "ca.crt")))
        backend = MemoryBackend()
        await backend.start()
        self.server = server = APIServer(backend, options)
        b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "lab", "cluster": {"server": f"https://127.0.0.1:{self.port}",
                                                     "certificate-authority-data": b64(ca.cert_pem)}}],
            "users": [{"name": "admin", "user": {"client-certificate-data": b64(admin.cert_pem),
                                                 "client-key-data": b64(admin.key_pem)}}],
            "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}],
            "current-context": "lab"}))

        if self.kind == "runc":
            from kubelite.kubelet.runtime.testsuite import RuncHarness

            self.harness = RuncHarness(self.base / "runc")
            self.runtime = self.harness.runtime
            self.image = self.harness.image
            dialer = NetnsDialer(self.runtime)
        else:
            self.runtime = BusyFakeRuntime()
            self.image = ContainerImage(image="busybox", image_id="sha256:" + "1" * 64, config={"Cmd": ["sh"]})
            dialer = LoopbackDialer(self.dialer_ports)
        self.lookup = RuntimeLookup(self.runtime)
        self.kubelet = KubeletServer(
            self.runtime, self.lookup, node_name=NODE, dialer=dialer,
            options=KubeletServerOptions(address="127.0.0.1", port=0, stats_interval=0.5,
                                         ssl_context=serving_ssl_context(str(tls / "kubelet.crt"),
                                                                         str(tls / "kubelet.key"),
                                                                         str(tls / "ca.crt"))))
        runner = web.AppRunner(server.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        try:
            async with asyncio.TaskGroup() as tg:
                caches = tg.create_task(server.run_caches())
                await server.wait_ready()
                from kubelite.controlplane import bootstrap_objects

                await bootstrap_objects.ensure(server, advertise_address="198.18.0.1", port=self.port)
                await server.store("serviceaccounts").create("default", {
                    "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
                    WriteOptions(field_manager="streamlab"))
                await runner.setup()
                await web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=api_ssl).start()
                kubelet = tg.create_task(self.kubelet.run())
                await self.kubelet.wait_ready()
                await self._create_node()
                self.ready.set()
                await self._stop.wait()
                await self._cleanup_runtime()
                kubelet.cancel()
                caches.cancel()
        finally:
            await runner.cleanup()
            await backend.close()

    async def _cleanup_runtime(self) -> None:
        if self.harness is not None:
            await self.harness.close()
        else:
            for s in await self.runtime.list_pod_sandbox():
                await self.runtime.remove_pod_sandbox(s.id)

    # -- objects -----------------------------------------------------------------------------
    async def _put_status(self, plural: str, namespace: str, name: str, status: dict) -> dict:
        store = self.server.store(plural)

        def patch(obj: dict) -> dict:
            obj["status"] = status
            return obj

        obj, _ = await store.update(namespace, name, None, WriteOptions(field_manager="streamlab"), patch=patch,
                                    strategy=store.status_strategy)
        return obj

    async def _create_node(self) -> None:
        now = timeutil.rfc3339()
        await self.server.store("nodes").create("", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux"}},
            "spec": {}}, WriteOptions(field_manager="streamlab"))
        await self._put_status("nodes", "", NODE, {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.kubelet.port}},
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                            "lastTransitionTime": now}],
            "nodeInfo": {"kubeletVersion": "v1.32.0", "operatingSystem": "linux", "architecture": "amd64",
                         "containerRuntimeVersion": "kubelite://0.1", "kernelVersion": "", "osImage": "",
                         "kubeProxyVersion": "", "machineID": "", "systemUUID": "", "bootID": ""}})

    async def add_pod(self, name: str, containers: list[tuple[str, str]], *, namespace: str = "default",
                      tty: bool = False, stdin: bool = False, labels: dict | None = None,
                      phase: str = "Running", start: bool = True) -> dict:
        """A pod bound to the node whose containers run `sh -c <script>` in the runtime."""
        pods = self.server.store("pods")
        pod = await pods.create(namespace, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name}},
            "spec": {"nodeName": NODE, "automountServiceAccountToken": False, "containers": [
                {"name": c, "image": "busybox", "command": ["sh", "-c", script], "tty": tty, "stdin": stdin}
                for c, script in containers]}}, WriteOptions(field_manager="streamlab"))
        uid = pod["metadata"]["uid"]
        log_dir = self.base / "logs" / f"{namespace}_{name}_{uid}"
        sc = PodSandboxConfig(name=name, namespace=namespace, uid=uid, log_directory=str(log_dir))
        sid = await self.runtime.run_pod_sandbox(sc)
        self.lookup.add_pod(namespace, name, uid, sid)
        statuses = []
        now = timeutil.rfc3339()
        for c, script in containers:
            cid = await self.runtime.create_container(sid, ContainerConfig(
                name=c, image=self.image, command=["sh", "-c", script], log_path=f"{c}/0.log", tty=tty,
                stdin=stdin), sc)
            if start:
                await self.runtime.start_container(cid)
            self.lookup.add_container(namespace, name, c, cid, str(log_dir / c / "0.log"))
            state = {"running": {"startedAt": now}} if start else {"waiting": {"reason": "ContainerCreating"}}
            statuses.append({"name": c, "ready": start, "restartCount": 0, "image": "busybox",
                             "imageID": "", "containerID": f"kubelite://{cid}" if start else "",
                             "started": start, "state": state})
        return await self._put_status("pods", namespace, name, {
            "phase": phase, "hostIP": "127.0.0.1", "podIP": "127.0.0.1", "startTime": now,
            "conditions": [{"type": "Ready", "status": "True" if start else "False", "lastTransitionTime": now}],
            "containerStatuses": statuses})

    # -- kubectl -----------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["KUBECACHEDIR"] = self.cache_dir
        env.pop("KUBERNETES_SERVICE_HOST", None)
        env.update(extra)
        return env

    def kubectl(self, *args: str, input: str | bytes | None = None, check: bool = True, timeout: float = 60,
                env: dict | None = None, text: bool = True) -> subprocess.CompletedProcess:
        if isinstance(input, str) and not text:
            input = input.encode()
        r = subprocess.run(["kubectl", *args], input=input, capture_output=True, text=text, timeout=timeout,
                           env=self.env(**(env or {})))
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def request(self, method: str, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        """A raw HTTPS request to the API server as the admin."""
        import http.client

        ctx = ssl.create_default_context(cafile=str(self.tls / "ca.crt"))
        ctx.load_cert_chain(str(self.tls / "admin.crt"), str(self.tls / "admin.key"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=30)
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def popen(self, *args: str, env: dict | None = None, **kw) -> subprocess.Popen:
        return subprocess.Popen(["kubectl", *args], env=self.env(**(env or {})), **kw)


async def echo_server() -> asyncio.base_events.Server:
    """A TCP echo server on 127.0.0.1 that closes when the client finishes sending."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)
