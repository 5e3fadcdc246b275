"""IngressController.sync against a fake API server (the load balancer is not started: its
configuration is read from `controller.lb.config`)."""

import asyncio

import pytest

from kubelite.controllers.ingress import IngressController
from kubelite.controllers.ingress.controller import CLASS_KEY, CONFIG_KEY, FRONTEND_KEY
from kubelite.lb import FixedResponse, Forward, Router

TEST_OPTIONS = {"ingress_bind_address": "127.0.0.1", "ingress_http_port": 0, "ingress_https_port": 0,
                "ingress_publish_address": "127.0.0.1"}


def ing(name, svc="web", cls="kubelite", annotations=None, host="a.example"):
    spec = {"rules": [{"host": host, "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": svc, "port": {"number": 80}}}}]}}]}
    if cls:
        spec["ingressClassName"] = cls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": spec}


def svc(name="web"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}


def ingress_class(name, controller, default=False):
    md = {"name": name}
    if default:
        md["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": md,
            "spec": {"controller": controller}}


def route(ctl, host="a.example", path="/"):
    http = next(li for li in ctl.lb.config.listeners if li.name == "http")
    return Router(http.rules, http.default_action).route(host, path).action


def lb_ips(obj):
    return [i.get("ip") for i in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]


def test_creates_the_default_ingress_class(harness):
    async def run():
        async with harness(IngressController, options=TEST_OPTIONS) as h:
            await h.sync(CLASS_KEY)
            ic = h.get("ingressclasses", "kubelite")
            assert ic["spec"]["controller"] == "kubelite.io/ingress-controller"
            assert ic["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
            await h.sync(CLASS_KEY)  # idempotent
    asyncio.run(run())


def test_serves_its_ingresses_writes_status_and_reports_missing_services_once(harness):
    async def run():
        async with harness(IngressController, options=TEST_OPTIONS) as h:
            await h.create("ingressclasses", ingress_class("kubelite", "kubelite.io/ingress-controller"))
            await h.create("ingressclasses", ingress_class("other", "example.com/other"))
            await h.create("services", svc(), "default")
            await h.create("ingresses", ing("mine"), "default")
            await h.create("ingresses", ing("legacy", svc="gone", cls=None, host="b.example",
                                            annotations={"kubernetes.io/ingress.class": "kubelite"}), "default")
            await h.create("ingresses", ing("theirs", cls="other", host="c.example"), "default")
            await h.create("ingresses", ing("classless", cls=None, host="d.example"), "default")
            await h.sync(CONFIG_KEY)
            ctl = h.controller
            assert isinstance(route(ctl), Forward)
            assert route(ctl, "b.example") == FixedResponse(503, "503 Service Unavailable\n")
            assert route(ctl, "c.example") == FixedResponse(404, "404 Not Found\n")   # another controller's
            assert route(ctl, "d.example") == FixedResponse(404, "404 Not Found\n")   # no default class
            assert lb_ips(h.get("ingresses", "mine", "default")) == ["127.0.0.1"]
            assert lb_ips(h.get("ingresses", "theirs", "default")) == []
            warnings = [(e[1], e[2], e[3]) for e in h.recorder.events if e[0] == "Warning"]
            assert warnings == [("ServiceNotFound", 'service "default/gone" not found; answering 503', "legacy")]
            assert sorted(e[3] for e in h.recorder.events if e[1] == "Sync") == ["legacy", "mine"]
            await h.sync(CONFIG_KEY)
            assert len(h.recorder.events) == 3   # nothing new to say
            # the Service appears: the rule forwards, and no new warning
            await h.create("services", svc("gone"), "default")
            assert CONFIG_KEY in h.queued()
            await h.sync(CONFIG_KEY)
            assert isinstance(route(ctl, "b.example"), Forward)
            # becoming the default class takes the class-less Ingress in
            await h.patch("ingressclasses", "kubelite", {"metadata": {"annotations": {
                "ingressclass.kubernetes.io/is-default-class": "true"}}})
            await h.sync(CONFIG_KEY)
            assert isinstance(route(ctl, "d.example"), Forward)
            assert lb_ips(h.get("ingresses", "classless", "default")) == ["127.0.0.1"]
            # moving an Ingress to another class gives its status back
            await h.patch("ingresses", "mine", {"spec": {"ingressClassName": "other"}}, "default")
            await h.sync(CONFIG_KEY)
            assert lb_ips(h.get("ingresses", "mine", "default")) == []
    asyncio.run(run())


def test_endpoint_slices_of_referenced_services_trigger_a_rebuild(harness):
    async def run():
        async with harness(IngressController, options=TEST_OPTIONS) as h:
            await h.create("services", svc(), "default")
            await h.create("ingresses", ing("mine"), "default")
            await h.sync(CONFIG_KEY)
            h.take(CONFIG_KEY)
            slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
                      "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                      "endpoints": [{"addresses": ["198.19.0.5"], "conditions": {"ready": True}}]}
            await h.create("endpointslices", slice_, "default")
            assert h.queued() == [CONFIG_KEY]
            await h.sync(CONFIG_KEY)
            (tg,) = h.controller.lb.config.target_groups
            assert [t.id for t in tg.targets] == ["198.19.0.5:8080"]
            h.take(CONFIG_KEY)
            other = {**slice_, "metadata": {"name": "x-1", "labels": {"kubernetes.io/service-name": "unrelated"}}}
            await h.create("endpointslices", other, "default")
            assert h.queued() == []
    asyncio.run(run())


@pytest.mark.parametrize("with_address", [False, True])
def test_frontend_service_gives_the_pool_address(harness, with_address):
    async def run():
        opts = {"ingress_bind_address": "198.18.0.1", "ingress_http_port": 80, "ingress_https_port": 443}
        async with harness(IngressController, options=opts) as h:
            await h.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
            await h.sync(FRONTEND_KEY)
            fe = h.get("services", "kubelite-ingress", "kube-system")
            assert fe["spec"]["type"] == "LoadBalancer" and "selector" not in fe["spec"]
            assert [(p["port"], p["targetPort"]) for p in fe["spec"]["ports"]] == [(80, 80), (443, 443)]
            (es,) = h.objects("endpointslices", "kube-system")
            assert es["endpoints"][0]["addresses"] == ["198.18.0.1"]
            assert es["metadata"]["labels"]["kubernetes.io/service-name"] == "kubelite-ingress"
            await h.create("services", svc(), "default")
            await h.create("ingresses", ing("mine"), "default")
            await h.sync(CONFIG_KEY)
            assert lb_ips(h.get("ingresses", "mine", "default")) == []   # no pool address yet
            if with_address:
                fe["status"] = {"loadBalancer": {"ingress": [{"ip": "198.18.192.7"}]}}
                await h.update_status("services", fe)
                assert CONFIG_KEY in h.queued()
                await h.sync(CONFIG_KEY)
                assert lb_ips(h.get("ingresses", "mine", "default")) == ["198.18.192.7"]
            await h.sync(FRONTEND_KEY)   # idempotent
            assert len(h.objects("endpointslices", "kube-system")) == 1
    asyncio.run(run())
