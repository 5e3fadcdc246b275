import asyncio

from kubelite.controllers.endpoint import EndpointsController

KEY = "default/web"


def service(selector=None, *, publish=False, cluster_ip="198.18.128.20", labels=None, ports=None):
    spec = {"clusterIP": cluster_ip,
            "ports": ports if ports is not None else [{"name": "http", "port": 80, "targetPort": "http"}]}
    if selector is not None:
        spec["selector"] = selector
    if publish:
        spec["publishNotReadyAddresses"] = True
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default", "labels": labels or {"team": "a"}}, "spec": spec}


def pod(name, ip, *, ready=True, port=8080, node="n1", phase="Running", hostname=None, labels=None):
    spec = {"nodeName": node, "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": port}]
                                              if port else []}]}
    if hostname:
        spec.update(hostname=hostname, subdomain="web")
    st = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                          "lastTransitionTime": "2025-01-01T00:00:00Z"}]}
    if ip:
        st.update(podIP=ip, podIPs=[{"ip": ip}])
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {"app": "web"}},
            "spec": spec, "status": st}


def ips(subset, field="addresses"):
    return [a["ip"] for a in subset.get(field) or []]


async def seed(h):
    await h.create("pods", pod("a", "198.19.0.5"))
    await h.create("pods", pod("b", "198.19.0.6", ready=False))
    await h.create("pods", pod("c", "198.19.0.7", port=9090))
    await h.create("pods", pod("d", "198.19.0.8", port=None))                # no port named "http"
    await h.create("pods", pod("e", None))                                   # no IP yet
    await h.create("pods", pod("f", "198.19.0.9", phase="Succeeded"))
    await h.create("pods", pod("g", "198.19.0.10", hostname="g"))
    await h.create("pods", pod("other", "198.19.0.11", labels={"app": "other"}))


def test_ready_and_not_ready_addresses_with_named_ports(harness):
    async def main():
        async with harness(EndpointsController) as h:
            await seed(h)
            await h.create("services", service({"app": "web"}))
            await h.sync(KEY)
            ep = h.get("endpoints", "web", "default")
            assert ep["metadata"]["labels"] == {"team": "a"}
            assert ep["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"]
            by_port = {s["ports"][0]["port"]: s for s in ep["subsets"]}
            assert sorted(by_port) == [8080, 9090]
            assert ips(by_port[8080]) == ["198.19.0.10", "198.19.0.5"]
            assert ips(by_port[8080], "notReadyAddresses") == ["198.19.0.6"]
            assert ips(by_port[9090]) == ["198.19.0.7"]
            assert by_port[8080]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
            g = next(a for a in by_port[8080]["addresses"] if a["ip"] == "198.19.0.10")
            assert g["hostname"] == "g" and g["nodeName"] == "n1"
            assert g["targetRef"]["kind"] == "Pod" and g["targetRef"]["name"] == "g"
            rv = ep["metadata"]["resourceVersion"]
            await h.sync(KEY)
            assert h.get("endpoints", "web", "default")["metadata"]["resourceVersion"] == rv   # no-op

            # A pod becoming ready moves to `addresses`.
            b = h.get("pods", "b", "default")
            b["status"]["conditions"][0].update(status="True", lastTransitionTime="2025-01-01T00:01:00Z")
            await h.update_status("pods", b)
            await h.sync(KEY)
            ep = h.get("endpoints", "web", "default")
            by_port = {s["ports"][0]["port"]: s for s in ep["subsets"]}
            assert ips(by_port[8080]) == ["198.19.0.10", "198.19.0.5", "198.19.0.6"]
            assert "notReadyAddresses" not in by_port[8080]
            assert ep["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"] == \
                "2025-01-01T00:01:00Z"

    asyncio.run(main())


def test_publish_not_ready_addresses_includes_terminating_and_unready(harness):
    async def main():
        async with harness(EndpointsController) as h:
            await h.create("pods", pod("b", "198.19.0.6", ready=False))
            terminating = pod("t", "198.19.0.12")
            terminating["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
            await h.create("pods", terminating)
            await h.create("services", service({"app": "web"}))
            await h.sync(KEY)
            [subset] = h.get("endpoints", "web", "default")["subsets"]
            assert ips(subset, "notReadyAddresses") == ["198.19.0.6"]       # terminating pod left out
            await h.patch("services", "web", {"spec": {"publishNotReadyAddresses": True}}, "default")
            await h.sync(KEY)
            [subset] = h.get("endpoints", "web", "default")["subsets"]
            assert ips(subset) == ["198.19.0.12", "198.19.0.6"]

    asyncio.run(main())


def test_headless_service_without_ports(harness):
    async def main():
        async with harness(EndpointsController) as h:
            await h.create("pods", pod("a", "198.19.0.5"))
            await h.create("services", service({"app": "web"}, cluster_ip="None", ports=[]))
            await h.sync(KEY)
            ep = h.get("endpoints", "web", "default")
            assert ep["subsets"] == [{"addresses": [{"ip": "198.19.0.5", "nodeName": "n1", "targetRef": {
                "kind": "Pod", "namespace": "default", "name": "a", "uid": ep["subsets"][0]["addresses"][0][
                    "targetRef"]["uid"]}}]}]
            assert ep["metadata"]["labels"]["service.kubernetes.io/headless"] == ""

    asyncio.run(main())


def test_services_without_selector_are_left_alone_and_deleted_services_cleaned_up(harness):
    async def main():
        async with harness(EndpointsController) as h:
            await h.create("services", service(None))
            manual = {"metadata": {"name": "web", "namespace": "default"},
                      "subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}
            await h.create("endpoints", manual)
            await h.sync(KEY)
            assert h.get("endpoints", "web", "default")["subsets"] == manual["subsets"]
            kubernetes = service({"app": "web"})
            kubernetes["metadata"]["name"] = "kubernetes"
            await h.create("services", kubernetes)
            await h.create("pods", pod("a", "198.19.0.5"))
            await h.sync("default/kubernetes")
            assert h.get("endpoints", "kubernetes", "default") is None

            await h.patch("services", "web", {"spec": {"selector": {"app": "web"}}}, "default")
            await h.sync(KEY)
            assert ips(h.get("endpoints", "web", "default")["subsets"][0]) == ["198.19.0.5"]
            await h.delete("services", "web", "default")
            await h.sync(KEY)
            assert h.get("endpoints", "web", "default") is None

    asyncio.run(main())


def test_over_capacity_is_truncated(harness):
    from kubelite.controllers.endpoint.subsets import truncate
    subsets = [{"addresses": [{"ip": f"10.0.{i // 250}.{i % 250}"} for i in range(900)],
                "notReadyAddresses": [{"ip": f"10.1.{i // 250}.{i % 250}"} for i in range(300)]}]
    assert truncate(subsets)
    assert len(subsets[0]["addresses"]) == 900 and len(subsets[0]["notReadyAddresses"]) == 100
