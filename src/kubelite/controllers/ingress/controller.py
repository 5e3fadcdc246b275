"""The Ingress controller: one `kubelite.lb.LoadBalancer` in this process for every Ingress of
the `kubelite` class, kept in step with Services, EndpointSlices and TLS Secrets.

Keys: `@config` rebuilds the whole load balancer configuration (every watched change that can
matter enqueues it; the queue coalesces bursts), then writes each Ingress's status and events;
`@ingressclass` makes sure the IngressClass exists; `@frontend` (when no fixed address is given)
keeps the Service that gives the load balancer its pool address.

Where it listens. With `ingress_publish_address` set (tests, or a known host address) the load
balancer listens on `ingress_bind_address` with the given ports and that address goes into the
Ingress status. Otherwise the controller keeps a `type: LoadBalancer` Service
`kube-system/kubelite-ingress` (ports 80 and 443, no selector) with an EndpointSlice pointing at
its own listening address (the host's node address by default): the servicelb controller hands
that Service an address from the load-balancer pool and the node proxy sends its traffic here,
as k3s fronts its ingress with a LoadBalancer Service. That pool address is the one recorded in
`status.loadBalancer.ingress`.

Options (`ControllerContext.options`): `ingress_class`, `ingress_default_class`,
`ingress_bind_address`, `ingress_http_port`, `ingress_https_port` (0: any free port),
`ingress_publish_address`, `ingress_service_namespace`/`ingress_service_name`, and
`ingress_connect` (a `kubelite.lb.pool.Connector` opening target connections).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
from typing import Any

from kubelite.lb import (Certificate, CertificateError, ConfigError, FixedResponse, Listener, ListenerProtocol,
                         LoadBalancer, LoadBalancerConfig, self_signed)
from kubelite.machinery import errors
from kubelite.machinery.addressplan import DEFAULT

from ..base import Controller, ControllerContext
from . import reasons
from .translate import SERVICE_NAME_LABEL, ClusterView, Options, Plan, Problem, build, ingress_key

log = logging.getLogger(__name__)

CONTROLLER_NAME = "kubelite.io/ingress-controller"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
MANAGER = "ingress-controller.kubelite.io"   # label values may not hold "/"

CONFIG_KEY = "@config"
CLASS_KEY = "@ingressclass"
FRONTEND_KEY = "@frontend"


def _spec_view(ing: dict) -> tuple:
    md = ing.get("metadata") or {}
    return (ing.get("spec"), md.get("annotations"), md.get("deletionTimestamp"))


class IngressController(Controller):
    name = "ingress-controller"
    workers = 1  # one load balancer, one configuration at a time

    def __init__(self, ctx: ControllerContext):
        super().__init__(ctx)
        o = ctx.option
        self.class_name: str = o("ingress_class", "kubelite")
        self.controller_name: str = o("ingress_controller_name", CONTROLLER_NAME)
        self.make_default: bool = bool(o("ingress_default_class", True))
        self.bind_address: str = o("ingress_bind_address", DEFAULT.host_address)
        self.http_port = int(o("ingress_http_port", 80))
        self.https_port = int(o("ingress_https_port", 443))
        self.publish_address: str | None = o("ingress_publish_address", None)
        self.frontend_ns: str = o("ingress_service_namespace", "kube-system")
        self.frontend_name: str = o("ingress_service_name", "kubelite-ingress")
        cert, key = self_signed("kubelite-ingress-default")
        self.default_certificate = Certificate("default", cert, key)

        inf = ctx.informers
        self.ingresses = inf.informer_for("ingresses.networking.k8s.io")
        self.classes = inf.informer_for("ingressclasses.networking.k8s.io")
        self.services = inf.informer_for("services")
        self.slices = inf.informer_for("endpointslices.discovery.k8s.io", indexers={"service": _slice_service})
        self.secrets = inf.informer_for("secrets")
        self.ingresses.add_event_handler(self._config_changed, self._ingress_updated, self._config_changed)
        self.classes.add_event_handler(self._config_changed, lambda o, n: self._config_changed(n),
                                       self._class_deleted)
        self.services.add_event_handler(self._service_changed, lambda o, n: self._service_changed(n),
                                        self._service_changed)
        self.slices.add_event_handler(self._slice_changed, lambda o, n: self._slice_changed(n), self._slice_changed)
        self.secrets.add_event_handler(self._secret_changed, lambda o, n: self._secret_changed(n),
                                       self._secret_changed)

        # the seam that opens connections to targets (tests map pod addresses onto loopback)
        connect = o("ingress_connect", None)
        self.lb = LoadBalancer(self._initial_config(), **({"connect": connect} if connect else {}))
        self.view = ClusterView(self._service, self._endpoint_slices, self._secret)
        self.plan: Plan | None = None
        self._services: set[tuple[str, str]] = set()
        self._secrets: set[tuple[str, str]] = set()
        self._reported: dict[str, set[Problem]] = {}
        self._synced_generation: dict[str, int] = {}
        self._published: set[str] = set()  # Ingresses whose status we wrote

    def _initial_config(self) -> LoadBalancerConfig:
        return LoadBalancerConfig("kubelite-ingress", self.bind_address, (
            Listener(ListenerProtocol.HTTP, self.http_port, FixedResponse(404, "404 Not Found\n"), name="http"),
            Listener(ListenerProtocol.HTTPS, self.https_port, FixedResponse(404, "404 Not Found\n"),
                     certificates=(self.default_certificate,), name="https")))

    # ----- handlers ------------------------------------------------------------------------

    def _config_changed(self, *_: Any) -> None:
        self.queue.add(CONFIG_KEY)

    def _ingress_updated(self, old: dict, new: dict) -> None:
        if _spec_view(old) != _spec_view(new):  # not our own status writes
            self.queue.add(CONFIG_KEY)

    def _class_deleted(self, obj: dict) -> None:
        self.queue.add(CONFIG_KEY)
        if (obj.get("metadata") or {}).get("name") == self.class_name:
            self.queue.add(CLASS_KEY)

    def _service_changed(self, svc: dict) -> None:
        md = svc.get("metadata") or {}
        key = (md.get("namespace", ""), md.get("name", ""))
        if key == (self.frontend_ns, self.frontend_name) and not self.publish_address:
            self.queue.add(FRONTEND_KEY)
            self.queue.add(CONFIG_KEY)
        elif key in self._services:
            self.queue.add(CONFIG_KEY)

    def _slice_changed(self, s: dict) -> None:
        md = s.get("metadata") or {}
        svc = (md.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if (md.get("namespace", ""), svc) in self._services:
            self.queue.add(CONFIG_KEY)

    def _secret_changed(self, s: dict) -> None:
        md = s.get("metadata") or {}
        if (md.get("namespace", ""), md.get("name", "")) in self._secrets:
            self.queue.add(CONFIG_KEY)

    # ----- lookups (the cache) -------------------------------------------------------------

    def _service(self, ns: str, name: str) -> dict | None:
        return self.services.lister().find(name, ns)

    def _endpoint_slices(self, ns: str, name: str) -> list[dict]:
        return self.slices.indexer.by_index("service", f"{ns}/{name}")

    def _secret(self, ns: str, name: str) -> dict | None:
        return self.secrets.lister().find(name, ns)

    def owns(self, ing: dict) -> bool:
        """Ingresses of our class (by name or the legacy annotation), or without a class when
        our IngressClass is the default one."""
        spec = ing.get("spec") or {}
        name = spec.get("ingressClassName") or \
            ((ing.get("metadata") or {}).get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION)
        classes = {c["metadata"]["name"]: c for c in self.classes.lister().list()}
        if name:
            cls = classes.get(name)
            if cls is None:
                return name == self.class_name
            return (cls.get("spec") or {}).get("controller") == self.controller_name
        return any((c.get("spec") or {}).get("controller") == self.controller_name and
                   ((c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true")
                   for c in classes.values())

    # ----- run -----------------------------------------------------------------------------

    async def run(self) -> None:
        self.queue.add(CLASS_KEY)
        self.queue.add(CONFIG_KEY)
        if not self.publish_address:
            self.queue.add(FRONTEND_KEY)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._run_load_balancer(), name="ingress-load-balancer")
            await super().run()

    async def _run_load_balancer(self) -> None:
        delay, waiting = 1.0, False
        while True:
            try:
                await self.lb.run()
                return
            except OSError as e:
                if e.errno == errno.EADDRNOTAVAIL:   # the bridge is not up yet: look again soon, say so once
                    if not waiting:
                        log.info("ingress load balancer waits for %s to exist", self.bind_address)
                        waiting = True
                    await self.clock.sleep(0.2)
                    continue
                log.warning("ingress load balancer cannot listen on %s (ports %d/%d): %s; retrying in %.0fs",
                            self.bind_address, self.http_port, self.https_port, e, delay)
            await self.clock.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def sync(self, key: str) -> None:
        if key == CONFIG_KEY:
            await self.sync_config()
        elif key == CLASS_KEY:
            await self.sync_ingress_class()
        elif key == FRONTEND_KEY:
            await self.sync_frontend()

    # ----- the IngressClass ----------------------------------------------------------------

    async def sync_ingress_class(self) -> None:
        try:
            self.classes.lister().get(self.class_name)
            return
        except errors.StatusError:
            pass
        md: dict = {"name": self.class_name, "labels": {"app.kubernetes.io/managed-by": MANAGER}}
        if self.make_default:
            md["annotations"] = {DEFAULT_CLASS_ANNOTATION: "true"}
        try:
            await self.client.create("ingressclasses", {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                                                        "metadata": md, "spec": {"controller": self.controller_name}})
            log.info("created IngressClass %s", self.class_name)
        except errors.StatusError as e:
            if not errors.is_already_exists(e):
                raise

    # ----- the frontend Service ------------------------------------------------------------

    def _frontend_objects(self) -> tuple[dict, dict]:
        labels = {"app.kubernetes.io/managed-by": MANAGER}
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": self.frontend_name, "namespace": self.frontend_ns, "labels": labels},
               "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False,
                        "ports": [{"name": "http", "port": 80, "targetPort": self.http_port, "protocol": "TCP"},
                                  {"name": "https", "port": 443, "targetPort": self.https_port, "protocol": "TCP"}]}}
        eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": self.frontend_name, "namespace": self.frontend_ns,
                            "labels": {**labels, SERVICE_NAME_LABEL: self.frontend_name,
                                       MANAGED_BY: MANAGER}},
               "addressType": "IPv4",
               "ports": [{"name": "http", "port": self.http_port, "protocol": "TCP"},
                         {"name": "https", "port": self.https_port, "protocol": "TCP"}],
               "endpoints": [{"addresses": [self.bind_address], "conditions": {"ready": True}}]}
        return svc, eps

    async def sync_frontend(self) -> None:
        if self.publish_address:
            return
        svc, eps = self._frontend_objects()
        if self._service(self.frontend_ns, self.frontend_name) is None:
            try:
                await self.client.create("services", svc, namespace=self.frontend_ns)
            except errors.StatusError as e:
                if not errors.is_already_exists(e):
                    raise
        have = [s for s in self._endpoint_slices(self.frontend_ns, self.frontend_name)
                if s["metadata"]["name"] == self.frontend_name]
        if not have:
            try:
                await self.client.create("endpointslices", eps, namespace=self.frontend_ns)
            except errors.StatusError as e:
                if not errors.is_already_exists(e):
                    raise
        elif have[0].get("endpoints") != eps["endpoints"] or have[0].get("ports") != eps["ports"]:
            body = {**eps, "metadata": {**eps["metadata"], "resourceVersion": have[0]["metadata"]["resourceVersion"]}}
            await self.client.update("endpointslices", body, namespace=self.frontend_ns)

    def published_address(self) -> str | None:
        if self.publish_address:
            return self.publish_address
        svc = self._service(self.frontend_ns, self.frontend_name)
        for i in (((svc or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            if i.get("ip") or i.get("hostname"):
                return i.get("ip") or i.get("hostname")
        return None

    # ----- the configuration ---------------------------------------------------------------

    def _redirect_port(self) -> int:
        if not self.publish_address:
            return 443  # the frontend Service's port
        if self.https_port:
            return self.https_port
        try:
            return self.lb.port("https")
        except KeyError:
            return 443

    async def sync_config(self) -> None:
        owned = [i for i in self.ingresses.lister().list()
                 if self.owns(i) and not i["metadata"].get("deletionTimestamp")]
        opts = Options(address=self.bind_address, http_port=self.http_port, https_port=self.https_port,
                       redirect_port=self._redirect_port(), default_certificate=self.default_certificate)
        plan = build(owned, self.view, opts)
        self._services = plan.services | {(self.frontend_ns, self.frontend_name)}
        self._secrets = plan.secrets
        try:
            await self.lb.apply(plan.config)
        except (ConfigError, CertificateError, OSError) as e:
            for ing in owned:
                self._report(ing, {Problem(reasons.LOAD_BALANCER_FAILED, f"the load balancer refused the "
                                                                          f"configuration: {e}")})
            raise
        self.plan = plan
        keys = set()
        for ing in owned:
            key = ingress_key(ing)
            keys.add(key)
            gen = ing["metadata"].get("generation", 0)
            if self._synced_generation.get(key) != gen:
                self._synced_generation[key] = gen
                self.event(ing, "Normal", reasons.SYNC, "Scheduled for sync")
            self._report(ing, set(plan.problems.get(key, [])))
        for key in [k for k in self._reported if k not in keys]:
            del self._reported[key]
        for key in [k for k in self._synced_generation if k not in keys]:
            del self._synced_generation[key]
        await self._write_statuses(owned)

    def _report(self, ing: dict, problems: set[Problem]) -> None:
        """Events for problems not reported yet (a problem that goes and comes back is reported again)."""
        key = ingress_key(ing)
        before = self._reported.get(key, set())
        for p in sorted(problems - before, key=lambda p: (p.reason, p.message)):
            self.event(ing, p.type, p.reason, p.message)
            log.info("ingress %s: %s: %s", key, p.reason, p.message)
        self._reported[key] = problems

    async def _write_statuses(self, owned: list[dict]) -> None:
        addr = self.published_address()
        owned_keys = {ingress_key(i) for i in owned}
        if addr:
            entry = {"ip": addr} if _is_ip(addr) else {"hostname": addr}
            for ing in owned:
                if _lb_ingress(ing) != [entry]:
                    await self._patch_status(ing, [entry])
                self._published.add(ingress_key(ing))
        for ing in self.ingresses.lister().list():  # no longer ours: take our address back
            key = ingress_key(ing)
            if key in self._published and key not in owned_keys:
                if _lb_ingress(ing):
                    await self._patch_status(ing, [])
                self._published.discard(key)
        self._published &= {ingress_key(i) for i in self.ingresses.lister().list()}

    async def _patch_status(self, ing: dict, entries: list[dict]) -> None:
        md = ing["metadata"]
        try:
            await self.client.patch("ingresses", md["name"], {"status": {"loadBalancer": {"ingress": entries or None}}},
                                    namespace=md.get("namespace"), patch_type="merge", subresource="status")
        except errors.StatusError as e:
            if not errors.is_not_found(e):
                raise


def _slice_service(s: dict) -> list[str]:
    md = s.get("metadata") or {}
    name = (md.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{md.get('namespace', '')}/{name}"] if name else []


def _lb_ingress(ing: dict) -> list[dict]:
    return list((((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress")) or [])


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False
