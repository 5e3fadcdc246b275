import asyncio

from kubelite.controllers.endpointslice import EndpointSliceController

KEY = "default/web"
SLICES = "endpointslices.discovery.k8s.io"


def service(*, publish=False, labels=None):
    spec = {"clusterIP": "198.18.128.20", "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
    if publish:
        spec["publishNotReadyAddresses"] = True
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default", "labels": labels or {"team": "a"}}, "spec": spec}


def pod(name, ip, *, ready=True, port=8080, node="n1", terminating=False, hostname=None):
    spec = {"nodeName": node, "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": port}]}]}
    if hostname:
        spec.update(hostname=hostname, subdomain="web")
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
         "spec": spec,
         "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                    "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                    "lastTransitionTime": "2025-01-01T00:00:00Z"}]}}
    if terminating:
        p["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:30Z"
    return p


def endpoints_by_ip(h):
    out = {}
    for s in h.objects(SLICES):
        for ep in s["endpoints"] or []:
            out[ep["addresses"][0]] = (s, ep)
    return out


def test_conditions_ports_and_labels(harness):
    async def main():
        async with harness(EndpointSliceController) as h:
            await h.create("nodes", {"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "z1"}}})
            await h.create("pods", pod("a", "198.19.0.5", hostname="a"))
            await h.create("pods", pod("b", "198.19.0.6", ready=False))
            await h.create("pods", pod("t", "198.19.0.7", terminating=True))
            await h.create("pods", pod("c", "198.19.0.8", port=9090))
            await h.create("services", service())
            await h.sync(KEY)
            slices = h.objects(SLICES)
            assert len(slices) == 2                                 # one per resolved port set
            s = slices[0]
            assert s["metadata"]["labels"] == {"team": "a", "kubernetes.io/service-name": "web",
                                               "endpointslice.kubernetes.io/managed-by":
                                                   "endpointslice-controller.k8s.io"}
            assert s["metadata"]["generateName"] == "web-" and s["addressType"] == "IPv4"
            assert s["metadata"]["ownerReferences"][0]["kind"] == "Service"
            assert s["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"]
            eps = endpoints_by_ip(h)
            sa, a = eps["198.19.0.5"]
            assert sa["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
            assert a["conditions"] == {"ready": True, "serving": True, "terminating": False}
            assert a["hostname"] == "a" and a["nodeName"] == "n1" and a["zone"] == "z1"
            assert a["targetRef"]["name"] == "a"
            assert eps["198.19.0.6"][1]["conditions"] == {"ready": False, "serving": False, "terminating": False}
            assert eps["198.19.0.7"][1]["conditions"] == {"ready": False, "serving": True, "terminating": True}
            assert eps["198.19.0.8"][0]["ports"][0]["port"] == 9090

            names = sorted(s["metadata"]["name"] for s in h.objects(SLICES))
            await h.sync(KEY)
            assert sorted(s["metadata"]["name"] for s in h.objects(SLICES)) == names

            # Removing a pod updates its slice in place.
            await h.delete("pods", "b", "default")
            await h.sync(KEY)
            assert sorted(s["metadata"]["name"] for s in h.objects(SLICES)) == names
            assert "198.19.0.6" not in endpoints_by_ip(h)

            await h.patch("services", "web", {"spec": {"publishNotReadyAddresses": True}}, "default")
            await h.sync(KEY)
            assert endpoints_by_ip(h)["198.19.0.7"][1]["conditions"] == {"ready": True, "serving": True,
                                                                         "terminating": True}

    asyncio.run(main())


def test_slices_hold_at_most_max_endpoints(harness):
    async def main():
        async with harness(EndpointSliceController) as h:
            for i in range(250):
                await h.client.create("pods", pod(f"p{i}", f"198.19.{i // 200}.{i % 200 + 1}"))
            await h.create("services", service())
            await h.sync(KEY)
            sizes = sorted(len(s["endpoints"]) for s in h.objects(SLICES))
            assert sizes == [50, 100, 100]
            for i in range(0, 250, 2):
                await h.client.delete("pods", f"p{i}", "default")
            await h.settle()
            await h.sync(KEY)
            slices = h.objects(SLICES)
            assert sum(len(s["endpoints"]) for s in slices) == 125
            assert all(len(s["endpoints"]) <= 100 for s in slices)

    asyncio.run(main())


def test_placeholder_when_nothing_is_selected_and_cleanup(harness):
    async def main():
        async with harness(EndpointSliceController) as h:
            await h.create("services", service())
            await h.sync(KEY)
            [s] = h.objects(SLICES)
            assert s["endpoints"] == [] and s["addressType"] == "IPv4"
            await h.create("pods", pod("a", "198.19.0.5"))
            await h.sync(KEY)
            [s2] = h.objects(SLICES)
            assert s2["metadata"]["name"] == s["metadata"]["name"] and len(s2["endpoints"]) == 1   # reused
            await h.delete("services", "web", "default")
            await h.sync(KEY)
            assert h.objects(SLICES) == []

    asyncio.run(main())


def test_small_slices_option(harness):
    async def main():
        async with harness(EndpointSliceController, options={"max_endpoints_per_slice": 3}) as h:
            for i in range(7):
                await h.client.create("pods", pod(f"p{i}", f"198.19.0.{i + 1}"))
            await h.create("services", service())
            await h.sync(KEY)
            assert sorted(len(s["endpoints"]) for s in h.objects(SLICES)) == [1, 3, 3]

    asyncio.run(main())
