"""The AWS Load Balancer Controller of one managed cluster, run by the service (the cloud is a
client of the Kubernetes layer): it watches the cluster's Services, EndpointSlices, Ingresses,
IngressClasses, Secrets and Nodes through the cluster's API and keeps one load balancer per
`type: LoadBalancer` Service (NLB, `nlb`) and per group of `alb` Ingresses (ALB, `alb`) in the
`Fleet`.

Keys: `service:<ns>/<name>` and `ingress:<group key>`. Like the LBC it puts a finalizer on what
it serves (`service.k8s.aws/resources`, `ingress.k8s.aws/resources`, or
`group.ingress.k8s.aws/<group>`), so deleting the Service or Ingress deletes the load balancer
first; it writes `status.loadBalancer.ingress[].hostname` (the load balancer's DNS name, which
resolves on this machine) and reports problems as events (`FailedBuildModel`, the Ingress
reasons of `kubelite.controllers.ingress.reasons`) and success as `SuccessfullyReconciled`.

Endpoints leave a target group as soon as their EndpointSlice says they are no longer ready
(a terminating pod), and drain there; new ones join when ready (and are health-checked).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from kubelite.controllers.base import Controller, ControllerContext
from kubelite.controllers.ingress.translate import SERVICE_NAME_LABEL, ClusterView, ingress_key
from kubelite.lb import Certificate, CertificateError, ConfigError
from kubelite.machinery import errors

from . import alb, nlb
from .fleet import Fleet
from .model import Desired, Problem

log = logging.getLogger(__name__)

SERVICE_FINALIZER = "service.k8s.aws/resources"
INGRESS_FINALIZER = "ingress.k8s.aws/resources"
GROUP_FINALIZER_PREFIX = "group.ingress.k8s.aws/"


def ingress_finalizer(group: str) -> str:
    return GROUP_FINALIZER_PREFIX + group[len("group/"):] if group.startswith("group/") else INGRESS_FINALIZER


def _slice_service(s: dict) -> list[str]:
    md = s.get("metadata") or {}
    name = (md.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{md.get('namespace', '')}/{name}"] if name else []


def _node_view(n: dict | None) -> tuple:
    if not n:
        return ()
    st = n.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
    return (ready, bool((n.get("spec") or {}).get("unschedulable")), tuple(
        a.get("address") for a in st.get("addresses") or []), tuple(sorted((n["metadata"].get("labels") or {}))))


def _spec_view(obj: dict | None) -> tuple:
    if not obj:
        return ()
    md = obj.get("metadata") or {}
    return (repr(obj.get("spec")), repr(md.get("annotations")), md.get("deletionTimestamp"),
            tuple(md.get("finalizers") or []))


class LoadBalancerController(Controller):
    name = "aws-load-balancer-controller"
    workers = 2

    def __init__(self, ctx: ControllerContext, *, cluster_key: str, cluster: Callable[[], dict | None],
                 fleet: Fleet, certificate: Callable[[str], Certificate | None]):
        super().__init__(ctx)
        self.cluster_key = cluster_key
        self.cluster = cluster
        self.fleet = fleet
        self.certificate = certificate
        inf = ctx.informers
        self.services = inf.informer_for("services")
        self.slices = inf.informer_for("endpointslices.discovery.k8s.io", indexers={"service": _slice_service})
        self.ingresses = inf.informer_for("ingresses.networking.k8s.io")
        self.classes = inf.informer_for("ingressclasses.networking.k8s.io")
        self.secrets = inf.informer_for("secrets")
        self.nodes = inf.informer_for("nodes")
        self.services.add_event_handler(self._service_changed, lambda o, n: self._service_updated(o, n),
                                        self._service_changed)
        self.slices.add_event_handler(self._slice_changed, lambda o, n: self._slice_changed(n), self._slice_changed)
        self.ingresses.add_event_handler(self._ingress_changed, self._ingress_updated, self._ingress_changed)
        self.classes.add_event_handler(self._all_groups, lambda o, n: self._all_groups(), self._all_groups)
        self.secrets.add_event_handler(self._secret_changed, lambda o, n: self._secret_changed(n),
                                       self._secret_changed)
        self.nodes.add_event_handler(self._node_changed, self._node_updated, self._node_changed)
        self.view = ClusterView(self._service, self._endpoint_slices, self._secret)
        self._group_services: dict[str, set[tuple[str, str]]] = {}    # group -> backend Services
        self._reported: dict[str, set[Problem]] = {}
        self._instance_keys: set[str] = set()                         # LBs with instance targets

    # -- handlers --------------------------------------------------------------------------------
    def _service_changed(self, svc: dict) -> None:
        md = svc["metadata"]
        key = f"{md.get('namespace', '')}/{md['name']}"
        self.queue.add(f"service:{key}")
        self._groups_using(md.get("namespace", ""), md["name"])

    def _service_updated(self, old: dict, new: dict) -> None:
        if _spec_view(old) != _spec_view(new):  # not our own status writes
            self._service_changed(new)

    def _slice_changed(self, s: dict) -> None:
        for key in _slice_service(s):
            ns, _, name = key.partition("/")
            svc = self._service(ns, name)
            if svc is not None and nlb.handles(svc):
                self.queue.add(f"service:{key}")
            self._groups_using(ns, name)

    def _groups_using(self, ns: str, name: str) -> None:
        for group, services in self._group_services.items():
            if (ns, name) in services:
                self.queue.add(f"ingress:{group}")

    def _ingress_changed(self, ing: dict) -> None:
        self.queue.add(f"ingress:{alb.group_key(ing)}")

    def _ingress_updated(self, old: dict, new: dict) -> None:
        if _spec_view(old) != _spec_view(new):
            self.queue.add(f"ingress:{alb.group_key(old)}")
            self.queue.add(f"ingress:{alb.group_key(new)}")

    def _all_groups(self, *_: Any) -> None:
        for ing in self.ingresses.lister().list():
            self.queue.add(f"ingress:{alb.group_key(ing)}")

    def _secret_changed(self, s: dict) -> None:
        ns = (s.get("metadata") or {}).get("namespace", "")
        for ing in self.ingresses.lister().list():
            if ing["metadata"].get("namespace") == ns:
                self.queue.add(f"ingress:{alb.group_key(ing)}")

    def _node_changed(self, *_: Any) -> None:
        for key in self._instance_keys:
            self.queue.add(key)

    def _node_updated(self, old: dict, new: dict) -> None:
        if _node_view(old) != _node_view(new):
            self._node_changed()

    # -- lookups -----------------------------------------------------------------------------------
    def _service(self, ns: str, name: str) -> dict | None:
        return self.services.lister().find(name, ns)

    def _endpoint_slices(self, ns: str, name: str) -> list[dict]:
        return self.slices.indexer.by_index("service", f"{ns}/{name}")

    def _secret(self, ns: str, name: str) -> dict | None:
        return self.secrets.lister().find(name, ns)

    def _classes(self) -> dict[str, dict]:
        return {c["metadata"]["name"]: c for c in self.classes.lister().list()}

    # -- run ---------------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.informers.wait_for_cache_sync()
        await self._ensure_ingress_class()
        for rec in self.fleet.of_cluster(self.cluster_key).values():  # also what is gone since we last ran
            owner = rec["internal"]["owner"]
            kind, _, rest = owner.partition("/")
            self.queue.add(f"{kind}:{rest}")
        for svc in self.services.lister().list():
            if nlb.handles(svc):
                self._service_changed(svc)
        self._all_groups()
        await super().run()

    async def _ensure_ingress_class(self) -> None:
        if alb.CLASS_NAME in self._classes():
            return
        try:
            await self.client.create("ingressclasses", {
                "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                "metadata": {"name": alb.CLASS_NAME, "labels": {"app.kubernetes.io/name": "aws-load-balancer-controller"}},
                "spec": {"controller": alb.CONTROLLER}})
        except errors.StatusError as e:
            if not errors.is_already_exists(e):
                raise

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition(":")
        c = self.cluster()
        if c is None:
            return
        if kind == "service":
            await self.sync_service(rest, c)
        elif kind == "ingress":
            await self.sync_group(rest, c)

    # -- Services ----------------------------------------------------------------------------------
    def _record_key(self, owner: str) -> str | None:
        for k, r in self.fleet.of_cluster(self.cluster_key).items():
            if r["internal"]["owner"] == owner:
                return k
        return None

    async def sync_service(self, key: str, c: dict) -> None:
        ns, _, name = key.partition("/")
        svc = self._service(ns, name)
        owner = f"service/{key}"
        if svc is None or not nlb.handles(svc) or svc["metadata"].get("deletionTimestamp"):
            rk = self._record_key(owner)
            if rk is not None:
                await self.fleet.remove(rk)
            self._instance_keys.discard(f"service:{key}")
            if svc is not None:
                if not nlb.handles(svc) and _lb_status(svc):
                    await self._patch_status("services", svc, [])
                await self._remove_finalizer("services", svc, SERVICE_FINALIZER)
            return
        svc = await self._add_finalizer("services", svc, SERVICE_FINALIZER)
        try:
            desired = nlb.build(svc, self._endpoint_slices(ns, name), self.nodes.lister().list(),
                                cluster=c["name"], certificate=self.certificate)
        except nlb.BuildError as e:
            self._report("services", svc, {Problem(key, nlb.FAILED_BUILD_MODEL, f"Failed build model due to {e}")})
            return
        await self._apply("services", [svc], desired, c)
        if any(t.target_type == "instance" for t in desired.target_groups):
            self._instance_keys.add(f"service:{key}")
        else:
            self._instance_keys.discard(f"service:{key}")

    async def _apply(self, plural: str, objs: list[dict], desired: Desired, c: dict) -> None:
        try:
            rec = await self.fleet.ensure(self.cluster_key, c, desired)
        except (ConfigError, CertificateError, OSError, RuntimeError, ValueError) as e:
            for o in objs:
                self._report(plural, o, {Problem(_key(o), "FailedDeployModel", f"Failed deploy model due to {e}")})
            raise
        hostname = rec["loadBalancer"]["DNSName"]
        by_obj: dict[str, set[Problem]] = {}
        for p in desired.problems:
            by_obj.setdefault(p.obj_key, set()).add(p)
        for o in objs:
            self._report(plural, o, by_obj.get(_key(o), set()))
            if _lb_status(o) != [{"hostname": hostname}]:
                await self._patch_status(plural, o, [{"hostname": hostname}])
                self.event(_with_kind(plural, o), "Normal", nlb.SUCCESSFULLY_RECONCILED, "Successfully reconciled")

    # -- Ingress groups ----------------------------------------------------------------------------
    async def sync_group(self, group: str, c: dict) -> None:
        classes = self._classes()
        members = [i for i in self.ingresses.lister().list() if alb.group_key(i) == group and alb.is_alb(i, classes)]
        finalizer = ingress_finalizer(group)
        # Ingresses that left the group (another group, another class) or are being deleted.
        leaving = [i for i in self.ingresses.lister().list()
                   if finalizer in (i["metadata"].get("finalizers") or [])
                   and (i["metadata"].get("deletionTimestamp") or i not in members)]
        active = [i for i in members if not i["metadata"].get("deletionTimestamp")]
        owner = f"ingress/{group}"
        if not active:
            rk = self._record_key(owner)
            if rk is not None:
                await self.fleet.remove(rk)
            self._group_services.pop(group, None)
            self._instance_keys.discard(f"ingress:{group}")
        else:
            active = [await self._add_finalizer("ingresses", i, finalizer) for i in active]
            try:
                desired = alb.build(alb.Group(group, active), self.view, self.nodes.lister().list(),
                                    cluster=c["name"], certificate=self.certificate)
            except nlb.BuildError as e:
                for i in active:
                    self._report("ingresses", i, {Problem(ingress_key(i), nlb.FAILED_BUILD_MODEL,
                                                          f"Failed build model due to {e}")})
                return
            self._group_services[group] = {(g.lb_name.partition("/")[0], g.lb_name.partition("/")[2].rpartition(":")[0])
                                           for g in desired.target_groups} | _referenced_services(active)
            if any(t.target_type == "instance" for t in desired.target_groups):
                self._instance_keys.add(f"ingress:{group}")
            await self._apply("ingresses", active, desired, c)
        for i in leaving:
            if i["metadata"].get("deletionTimestamp") is None and _lb_status(i):
                await self._patch_status("ingresses", i, [])
            await self._remove_finalizer("ingresses", i, finalizer)

    # -- writes ------------------------------------------------------------------------------------
    def _report(self, plural: str, obj: dict, problems: set[Problem]) -> None:
        key = f"{plural}/{_key(obj)}"
        before = self._reported.get(key, set())
        for p in sorted(problems - before, key=lambda p: (p.reason, p.message)):
            self.event(_with_kind(plural, obj), p.type, p.reason, p.message)
            log.info("%s %s: %s: %s", plural, _key(obj), p.reason, p.message)
        self._reported[key] = problems

    async def _patch_status(self, plural: str, obj: dict, entries: list[dict]) -> None:
        md = obj["metadata"]
        try:
            await self.client.patch(plural, md["name"], {"status": {"loadBalancer": {"ingress": entries or None}}},
                                    namespace=md.get("namespace"), patch_type="merge", subresource="status")
        except errors.StatusError as e:
            if not errors.is_not_found(e):
                raise

    async def _add_finalizer(self, plural: str, obj: dict, finalizer: str) -> dict:
        md = obj["metadata"]
        have = list(md.get("finalizers") or [])
        if finalizer in have:
            return obj
        return await self.client.patch(plural, md["name"], {"metadata": {
            "finalizers": have + [finalizer], "resourceVersion": md["resourceVersion"]}},
            namespace=md.get("namespace"), patch_type="merge")

    async def _remove_finalizer(self, plural: str, obj: dict, finalizer: str) -> None:
        md = obj["metadata"]
        have = list(md.get("finalizers") or [])
        if finalizer not in have:
            return
        try:
            await self.client.patch(plural, md["name"], {"metadata": {
                "finalizers": [f for f in have if f != finalizer], "resourceVersion": md["resourceVersion"]}},
                namespace=md.get("namespace"), patch_type="merge")
        except errors.StatusError as e:
            if not errors.is_not_found(e):
                raise


def _with_kind(plural: str, obj: dict) -> dict:
    kind, api = ("Service", "v1") if plural == "services" else ("Ingress", "networking.k8s.io/v1")
    return {**obj, "kind": kind, "apiVersion": api}


def _key(obj: dict) -> str:
    md = obj["metadata"]
    return f"{md.get('namespace', '')}/{md['name']}"


def _lb_status(obj: dict) -> list[dict]:
    return list((((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")) or [])


def _referenced_services(ings: list[dict]) -> set[tuple[str, str]]:
    out = set()
    for ing in ings:
        ns = ing["metadata"].get("namespace", "default")
        spec = ing.get("spec") or {}
        for b in [spec.get("defaultBackend")] + [p.get("backend") for r in spec.get("rules") or []
                                                 for p in (r.get("http") or {}).get("paths") or []]:
            name = ((b or {}).get("service") or {}).get("name")
            if name:
                out.add((ns, name))
    return out


__all__ = ["LoadBalancerController"]
