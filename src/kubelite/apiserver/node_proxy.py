"""Subresources served by the pod's kubelet, and the metrics API built from kubelets' statistics.

- `pods/log`, `pods/exec`, `pods/attach`, `pods/portforward`: validated as Kubernetes does
  (container defaulting, `container x is not valid for pod y`, completed pods, waiting
  containers), then proxied to the node's kubelet (node InternalIP and
  `status.daemonEndpoints.kubeletEndpoint.Port`) over TLS with the API server's kubelet-client
  certificate. Logs stream through with a flush per chunk; upgrades (WebSocket or SPDY) are
  answered by the kubelet and the raw bytes are passed through both ways.
- `metrics.k8s.io/v1beta1` `nodes` and `pods` (get, list): each Ready node's `/stats/summary`,
  as metrics-server serves them (`PodMetrics`, `NodeMetrics`, `window: 10s`).

Wire it with `register(options, KubeletClientConfig(...))` before building the `APIServer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from aiohttp import web

from kubelite.machinery import errors, labels, timeutil
from kubelite.machinery.quantity import format_bytes
from kubelite.streaming import proxy, upgrade

from .authz import ALLOW, Attributes, forbidden_message
from .endpoints.context import RequestContext

log = logging.getLogger(__name__)

DEFAULT_KUBELET_PORT = 10250
METRICS_GROUP = "metrics.k8s.io"
METRICS_API_VERSION = "metrics.k8s.io/v1beta1"
METRICS_WINDOW = "10s"
SUMMARY_TIMEOUT = 5.0
_LOG_QUERY = ("follow", "previous", "timestamps", "tailLines", "sinceSeconds", "sinceTime", "limitBytes", "stream")


@dataclass
class KubeletClientConfig:
    """How the API server reaches kubelets: its client certificate (CN
    `kube-apiserver-kubelet-client`, from the cluster CA) and the CA the kubelets' serving
    certificates chain to (unset: not verified, Kubernetes' default without
    `--kubelet-certificate-authority`)."""

    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None
    ssl_context: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext:
        if self.ssl_context is not None:
            return self.ssl_context
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        if self.ca_file:
            ctx.load_verify_locations(self.ca_file)
            ctx.verify_mode = ssl.CERT_REQUIRED
        else:
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_file and self.key_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx


def register(options, kubelet: KubeletClientConfig | None = None) -> NodeProxy:
    """Fill `ServerOptions.extra_handlers` with the node-proxied subresources and metrics."""
    np = NodeProxy(kubelet or KubeletClientConfig())
    h = options.extra_handlers
    h[("", "pods", "log")] = np.pod_log
    h[("", "pods", "exec")] = np.pod_exec
    h[("", "pods", "attach")] = np.pod_attach
    h[("", "pods", "portforward")] = np.pod_portforward
    h[(METRICS_GROUP, "nodes", "")] = np.node_metrics
    h[(METRICS_GROUP, "pods", "")] = np.pod_metrics
    return np


# --- validation (pure) ---------------------------------------------------------------------------


def _names(containers: list | None) -> list[str]:
    return [c.get("name", "") for c in containers or []]


def resolve_container(pod: dict, requested: str) -> str:
    """The container a request addresses, as Kubernetes' `LogLocation`/`streamLocation` pick it."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    main, init, eph = _names(spec.get("containers")), _names(spec.get("initContainers")), \
        _names(spec.get("ephemeralContainers"))
    if not requested:
        if len(main) == 1:
            return main[0]
        if not main:
            raise errors.new_bad_request(f"a container name must be specified for pod {name}")
        msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(main)}]"
        if init:
            msg += f" or one of the init containers: [{' '.join(init)}]"
        raise errors.new_bad_request(msg)
    if requested not in main + init + eph:
        raise errors.new_bad_request(f"container {requested} is not valid for pod {name}")
    return requested


def _status_of(pod: dict, container: str) -> dict | None:
    st = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for cs in st.get(key) or []:
            if cs.get("name") == container:
                return cs
    return None


def check_log_status(pod: dict, container: str, previous: bool) -> None:
    """The kubelet's `validateContainerLogStatus`: which states have logs to show."""
    name = pod["metadata"]["name"]
    cs = _status_of(pod, container) or {}
    state, last = cs.get("state") or {}, cs.get("lastState") or {}
    running, terminated, waiting = state.get("running"), state.get("terminated"), state.get("waiting")
    last_terminated = last.get("terminated")
    if previous:
        if not last_terminated or not last_terminated.get("containerID"):
            raise errors.new_bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        return
    if running is not None:
        return
    if terminated is not None:
        if terminated.get("containerID") or (last_terminated and last_terminated.get("containerID")):
            return
        raise errors.new_bad_request(f'container "{container}" in pod "{name}" is terminated')
    if last_terminated is not None:
        if last_terminated.get("containerID"):
            return
        raise errors.new_bad_request(f'container "{container}" in pod "{name}" is terminated')
    if waiting is not None:
        reason = waiting.get("reason", "")
        if reason == "ErrImagePull":
            detail = "image can't be pulled"
        elif reason == "ImagePullBackOff":
            detail = "trying and failing to pull image"
        else:
            detail = reason
        raise errors.new_bad_request(f'container "{container}" in pod "{name}" is waiting to start: {detail}')
    raise errors.new_bad_request(f'container "{container}" in pod "{name}" is waiting to start - no logs yet')


def node_address(node: dict) -> tuple[str, int]:
    """Where the node's kubelet listens: preferred address type order, daemon endpoint port."""
    st = node.get("status") or {}
    addrs = st.get("addresses") or []
    for kind in ("InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS"):
        for a in addrs:
            if a.get("type") == kind and a.get("address"):
                port = ((st.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") \
                    or DEFAULT_KUBELET_PORT
                return a["address"], int(port)
    raise errors.new_internal_error(f"no preferred addresses found; known addresses: {addrs}")


def _response_error(code: int, body: bytes) -> errors.StatusError:
    """A kubelet's non-200 answer as a Status (Kubernetes' generic server response)."""
    text = body.decode("utf-8", "replace").strip()
    with contextlib.suppress(ValueError, AttributeError):
        st = json.loads(text)
        if isinstance(st, dict) and st.get("kind") == "Status":
            return errors.from_status(st)
    reasons = {400: errors.StatusReason.BAD_REQUEST, 401: errors.StatusReason.UNAUTHORIZED,
               403: errors.StatusReason.FORBIDDEN, 404: errors.StatusReason.NOT_FOUND,
               409: errors.StatusReason.CONFLICT, 429: errors.StatusReason.TOO_MANY_REQUESTS,
               503: errors.StatusReason.SERVICE_UNAVAILABLE, 504: errors.StatusReason.TIMEOUT}
    reason = reasons.get(code, errors.StatusReason.INTERNAL_ERROR)
    return errors.StatusError(code, reason, text or "the server rejected our request for an unknown reason")


def format_cpu(nanocores: int) -> str:
    """Canonical decimal quantity of a nanocore count (`12m`, `1500u`, `1234n`, `2`)."""
    if nanocores == 0:
        return "0"
    for div, suffix in ((1_000_000_000, ""), (1_000_000, "m"), (1_000, "u")):
        if nanocores % div == 0:
            return f"{nanocores // div}{suffix}"
    return f"{nanocores}n"


def pod_metrics(summary_pod: dict, pod: dict) -> dict | None:
    """A `PodMetrics` from a summary pod entry; None while any container lacks a CPU rate."""
    containers = []
    stamp = ""
    for c in summary_pod.get("containers") or []:
        cpu, mem = c.get("cpu") or {}, c.get("memory") or {}
        if "usageNanoCores" not in cpu or "workingSetBytes" not in mem:
            return None
        stamp = stamp or cpu.get("time", "")
        containers.append({"name": c["name"], "usage": {"cpu": format_cpu(int(cpu["usageNanoCores"])),
                                                         "memory": format_bytes(int(mem["workingSetBytes"]))}})
    if not containers:
        return None
    md = pod["metadata"]
    meta = {"name": md["name"], "namespace": md.get("namespace", ""), "creationTimestamp": timeutil.rfc3339()}
    if md.get("labels"):
        meta["labels"] = dict(md["labels"])
    return {"kind": "PodMetrics", "apiVersion": METRICS_API_VERSION, "metadata": meta,
            "timestamp": _seconds(stamp), "window": METRICS_WINDOW, "containers": containers}


def node_metrics(summary: dict, node: dict) -> dict | None:
    n = summary.get("node") or {}
    cpu, mem = n.get("cpu") or {}, n.get("memory") or {}
    if "usageNanoCores" not in cpu or "workingSetBytes" not in mem:
        return None
    md = node["metadata"]
    meta = {"name": md["name"], "creationTimestamp": timeutil.rfc3339()}
    if md.get("labels"):
        meta["labels"] = dict(md["labels"])
    return {"kind": "NodeMetrics", "apiVersion": METRICS_API_VERSION, "metadata": meta,
            "timestamp": _seconds(cpu.get("time", "")), "window": METRICS_WINDOW,
            "usage": {"cpu": format_cpu(int(cpu["usageNanoCores"])),
                      "memory": format_bytes(int(mem["workingSetBytes"]))}}


def _seconds(ts: str) -> str:
    t = timeutil.parse_time(ts) if ts else None
    return timeutil.rfc3339(t) if t is not None else timeutil.rfc3339()


def _is_ready(node: dict) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


# --- handlers ----------------------------------------------------------------------------------


class NodeProxy:
    def __init__(self, kubelet: KubeletClientConfig):
        self.kubelet = kubelet
        self._ssl: ssl.SSLContext | None = None

    @property
    def ssl(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = self.kubelet.context()
        return self._ssl

    async def _backend(self, server, pod: dict) -> proxy.Backend:
        node_name = (pod.get("spec") or {}).get("nodeName", "")
        nodes = server.store("nodes")
        node = nodes.cacher.get(nodes.key("", node_name)) or await nodes.get_or_none("", node_name)
        if node is None:
            raise errors.new_not_found("", "nodes", node_name)
        host, port = node_address(node)
        return proxy.Backend(host, port, self.ssl)

    async def _pod(self, server, ctx: RequestContext) -> dict:
        return await server.store("pods").get(ctx.info.namespace, ctx.info.name)

    # -- pods/log --------------------------------------------------------------------------
    async def pod_log(self, server, ctx: RequestContext, store) -> web.StreamResponse:
        if ctx.info.verb != "get":
            raise errors.new_method_not_supported("", "pods/log", ctx.info.verb)
        pod = await self._pod(server, ctx)
        container = resolve_container(pod, ctx.q("container"))
        for name in ("tailLines", "limitBytes", "sinceSeconds"):
            v = ctx.q_int(name)
            if v is not None and (v < 0 or (v == 0 and name != "tailLines")):
                raise errors.new_bad_request(f"{name}: Invalid value: {v}: must be greater than "
                                             f"{'or equal to ' if name == 'tailLines' else ''}0")
        if ctx.q("sinceSeconds") and ctx.q("sinceTime"):
            raise errors.new_bad_request("at most one of `sinceTime` or `sinceSeconds` may be specified")
        if not (pod.get("spec") or {}).get("nodeName"):
            return web.Response(body=b"", content_type="text/plain")
        check_log_status(pod, container, ctx.q_bool("previous"))
        backend = await self._backend(server, pod)
        query = urlencode([(k, ctx.q(k)) for k in _LOG_QUERY if ctx.q(k)])
        target = f"/containerLogs/{_p(ctx.info.namespace)}/{_p(ctx.info.name)}/{_p(container)}" + \
            (f"?{query}" if query else "")
        try:
            resp = await proxy.send_request(backend, "GET", target, {"Connection": "close"})
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
            raise errors.new_internal_error(f"error dialing backend: {e}") from e
        try:
            if resp.status != 200:
                raise _response_error(resp.status, await resp.read_body())
            out = web.StreamResponse(headers={"Content-Type": "text/plain"})
            out.enable_chunked_encoding()
            await out.prepare(ctx.request)
            await _copy_until_gone(resp, out, ctx.request)
            with contextlib.suppress(ConnectionError):
                await out.write_eof()
            return out
        finally:
            await resp.close()

    # -- pods/exec, pods/attach --------------------------------------------------------------
    async def pod_exec(self, server, ctx: RequestContext, store) -> web.StreamResponse:
        return await self._remote_command(server, ctx, "exec")

    async def pod_attach(self, server, ctx: RequestContext, store) -> web.StreamResponse:
        return await self._remote_command(server, ctx, "attach")

    async def _remote_command(self, server, ctx: RequestContext, verb: str) -> web.StreamResponse:
        self._check_create(server, ctx)
        pod = await self._pod(server, ctx)
        phase = (pod.get("status") or {}).get("phase", "")
        if phase in ("Succeeded", "Failed"):
            what = "exec into" if verb == "exec" else "attach to"
            raise errors.new_bad_request(f"cannot {what} a container in a completed pod; current phase is {phase}")
        container = resolve_container(pod, ctx.q("container"))
        if not upgrade.is_upgrade(ctx.request):
            raise errors.new_bad_request("Upgrade request required")
        if not (pod.get("spec") or {}).get("nodeName"):
            raise errors.new_bad_request(f"pod {ctx.info.name} does not have a host assigned")
        backend = await self._backend(server, pod)
        query = [(k, v) for k, v in ctx.request.query.items() if k != "container"]
        target = f"/{verb}/{_p(ctx.info.namespace)}/{_p(ctx.info.name)}/{_p(container)}"
        if query:
            target += "?" + urlencode(query)
        return await self._upgrade(ctx, backend, target)

    # -- pods/portforward --------------------------------------------------------------------
    async def pod_portforward(self, server, ctx: RequestContext, store) -> web.StreamResponse:
        self._check_create(server, ctx)
        pod = await self._pod(server, ctx)
        if not upgrade.is_upgrade(ctx.request):
            raise errors.new_bad_request("Upgrade request required")
        if not (pod.get("spec") or {}).get("nodeName"):
            raise errors.new_bad_request(f"pod {ctx.info.name} does not have a host assigned")
        backend = await self._backend(server, pod)
        target = f"/portForward/{_p(ctx.info.namespace)}/{_p(ctx.info.name)}"
        if ctx.request.query_string:
            target += "?" + ctx.request.query_string
        return await self._upgrade(ctx, backend, target)

    async def _upgrade(self, ctx: RequestContext, backend: proxy.Backend, target: str) -> web.StreamResponse:
        try:
            return await proxy.proxy_upgrade(ctx.request, backend, target)
        except proxy.BackendError as e:
            raise errors.new_internal_error(str(e)) from e

    def _check_create(self, server, ctx: RequestContext) -> None:
        """A WebSocket upgrade arrives as GET; it also needs `create` on the subresource
        (Kubernetes' AuthorizePodWebsocketUpgradeCreatePermission)."""
        if ctx.info.verb == "create":
            return
        i = ctx.info
        a = Attributes(ctx.user, "create", i.namespace, i.group, i.resource, i.subresource, i.name)
        decision, _ = server.authorizer.authorize(a)
        if decision != ALLOW:
            raise errors.new_forbidden(i.group, f"{i.resource}/{i.subresource}", i.name, forbidden_message(a))

    # -- metrics.k8s.io ----------------------------------------------------------------------
    async def _summaries(self, server) -> list[tuple[dict, dict]]:
        nodes = [n for n in server.store("nodes").cacher.objects.values() if _is_ready(n)]

        async def one(node: dict) -> tuple[dict, dict] | None:
            try:
                host, port = node_address(node)
                async with asyncio.timeout(SUMMARY_TIMEOUT):
                    resp = await proxy.send_request(proxy.Backend(host, port, self.ssl), "GET", "/stats/summary",
                                                    {"Connection": "close", "Accept": "application/json"})
                    try:
                        body = await resp.read_body(64 << 20)
                    finally:
                        await resp.close()
                if resp.status != 200:
                    raise ValueError(f"status {resp.status}")
                return node, json.loads(body)
            except (OSError, TimeoutError, ValueError, errors.StatusError, asyncio.IncompleteReadError) as e:
                log.info("metrics: cannot read the summary of node %s: %s", node["metadata"]["name"], e)
                return None

        results = await asyncio.gather(*(one(n) for n in nodes))
        return [r for r in results if r is not None]

    async def node_metrics(self, server, ctx: RequestContext, store) -> web.Response:
        verb = ctx.info.verb
        if verb not in ("get", "list"):
            raise errors.new_method_not_supported(METRICS_GROUP, "nodes", verb)
        sel = _selector(ctx)
        items = []
        for node, summary in await self._summaries(server):
            if ctx.info.name and node["metadata"]["name"] != ctx.info.name:
                continue
            if not sel.matches(node["metadata"].get("labels")):
                continue
            m = node_metrics(summary, node)
            if m is not None:
                items.append(m)
        items.sort(key=lambda m: m["metadata"]["name"])
        if verb == "get":
            if not items:
                raise errors.new_not_found(METRICS_GROUP, "nodemetrics", ctx.info.name)
            return ctx.reply(items[0])
        return ctx.reply({"kind": "NodeMetricsList", "apiVersion": METRICS_API_VERSION, "metadata": {},
                          "items": items})

    async def pod_metrics(self, server, ctx: RequestContext, store) -> web.Response:
        verb = ctx.info.verb
        if verb not in ("get", "list"):
            raise errors.new_method_not_supported(METRICS_GROUP, "pods", verb)
        sel = _selector(ctx)
        pods = server.store("pods")
        items = []
        for _node, summary in await self._summaries(server):
            for sp in summary.get("pods") or []:
                ref = sp.get("podRef") or {}
                ns, name = ref.get("namespace", ""), ref.get("name", "")
                if ctx.info.namespace and ns != ctx.info.namespace:
                    continue
                if ctx.info.name and name != ctx.info.name:
                    continue
                pod = pods.cacher.get(pods.key(ns, name))
                if pod is None or (ref.get("uid") and pod["metadata"].get("uid") != ref.get("uid")):
                    continue
                if not sel.matches(pod["metadata"].get("labels")):
                    continue
                m = pod_metrics(sp, pod)
                if m is not None:
                    items.append(m)
        items.sort(key=lambda m: (m["metadata"]["namespace"], m["metadata"]["name"]))
        if verb == "get":
            if not items:
                raise errors.new_not_found(METRICS_GROUP, "podmetrics", ctx.info.name)
            return ctx.reply(items[0])
        return ctx.reply({"kind": "PodMetricsList", "apiVersion": METRICS_API_VERSION, "metadata": {},
                          "items": items})


def _selector(ctx: RequestContext):
    try:
        return labels.parse(ctx.q("labelSelector"))
    except labels.SelectorError as e:
        raise errors.new_bad_request(f"unable to parse requirement: {e}") from None


def _p(segment: str) -> str:
    return quote(segment, safe="")


async def _copy_until_gone(resp: proxy.Response, out: web.StreamResponse, request: web.Request) -> None:
    """Stream the kubelet's body to the client, flushing each chunk; stop when either ends."""

    async def copy() -> None:
        async for chunk in resp.iter_body():
            await out.write(chunk)

    async def watch() -> None:
        while not proxy.client_gone(request):
            await asyncio.sleep(1.0)

    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, OSError):
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(copy()), tg.create_task(watch())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                t.cancel()
