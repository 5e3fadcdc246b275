import asyncio

import orjson
import pytest

from kubelite.client.rest import Client, error_from_response
from kubelite.client.testing import FakeAPIServer, wait_until
from kubelite.client.transport import FakeTransport, Response
from kubelite.machinery.clock import FakeClock
from kubelite.machinery.errors import (
    StatusError,
    StatusReason,
    is_conflict,
    is_gone,
    is_not_found,
    new_resource_expired,
    new_too_many_requests,
)


def run(coro):
    return asyncio.run(coro)


def pod(name, ns="default", labels=None, node=None):
    p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
         "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    if node:
        p["spec"]["nodeName"] = node
    return p


@pytest.mark.parametrize("spec,expected", [
    ("pods", ("", "v1", "pods")),
    ("po", ("", "v1", "pods")),
    ("Pod", ("", "v1", "pods")),
    ("pod", ("", "v1", "pods")),
    ("v1/pods", ("", "v1", "pods")),
    ("deployments.apps", ("apps", "v1", "deployments")),
    ("deployments.v1.apps", ("apps", "v1", "deployments")),
    ("apps/v1/deployments", ("apps", "v1", "deployments")),
    ("deploy", ("apps", "v1", "deployments")),
    ("events", ("", "v1", "events")),
    ("events.events.k8s.io", ("events.k8s.io", "v1", "events")),
    ("hpa", ("autoscaling", "v2", "horizontalpodautoscalers")),
    ("leases.coordination.k8s.io", ("coordination.k8s.io", "v1", "leases")),
    ("nodes", ("", "v1", "nodes")),
], ids=lambda v: v if isinstance(v, str) else None)
def test_resource_resolution(spec, expected):
    c = Client(FakeTransport(lambda r: Response(200)))
    r = c.resource(spec)
    assert (r.group, r.version, r.plural) == expected
    with pytest.raises(ValueError, match="doesn't have a resource type"):
        c.resource("widgets")


@pytest.mark.parametrize("args,path", [
    (("pods", "ns1", "web-0"), "/api/v1/namespaces/ns1/pods/web-0"),
    (("pods", None, None), "/api/v1/pods"),
    (("nodes", "ignored", "n1", "status"), "/api/v1/nodes/n1/status"),
    (("namespaces", None, "kube-system", "finalize"), "/api/v1/namespaces/kube-system/finalize"),
    (("deployments.apps", "a", "d", "scale"), "/apis/apps/v1/namespaces/a/deployments/d/scale"),
    (("configmaps", "a", "x y/z"), "/api/v1/namespaces/a/configmaps/x%20y%2Fz"),
], ids=["namespaced", "all-namespaces", "cluster-scoped", "namespace-itself", "group", "quoted"])
def test_paths(args, path):
    assert Client(FakeTransport(lambda r: Response(200))).path(*args) == path


def test_crud_round_trip_and_status_errors():
    async def main():
        api = FakeAPIServer()
        c = api.client(namespace="team")
        created = await c.create("pods", pod("a", ns=None))
        assert created["metadata"]["namespace"] == "team", "falls back to the client's namespace"
        assert created["metadata"]["resourceVersion"]
        got = await c.get("pods", "a")
        assert got == created
        with pytest.raises(StatusError) as ei:
            await c.create("pods", pod("a", ns="team"))
        assert ei.value.reason == StatusReason.ALREADY_EXISTS and ei.value.code == 409
        stale = dict(got, metadata=dict(got["metadata"]))
        got["metadata"]["labels"] = {"x": "1"}
        updated = await c.update("pods", got)
        assert updated["metadata"]["labels"] == {"x": "1"}
        with pytest.raises(StatusError) as ei:
            await c.update("pods", stale)
        assert is_conflict(ei.value)
        assert "the object has been modified" in str(ei.value)
        status = dict(updated, status={"phase": "Running"})
        assert (await c.update_status("pods", status))["status"] == {"phase": "Running"}
        deleted = await c.delete("pods", "a", propagation_policy="Background", grace_period_seconds=0)
        assert deleted["metadata"]["name"] == "a"
        body = orjson.loads(c.transport.requests[-1].body)
        assert body == {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background",
                        "gracePeriodSeconds": 0}
        with pytest.raises(StatusError) as ei:
            await c.get("pods", "a")
        assert is_not_found(ei.value)
        assert str(ei.value) == 'pods "a" not found'

    run(main())


def test_delete_preconditions():
    async def main():
        api = FakeAPIServer()
        c = api.client()
        p = await c.create("pods", pod("a"))
        with pytest.raises(StatusError) as ei:
            await c.delete("pods", "a", preconditions={"uid": "other"})
        assert is_conflict(ei.value) and "Precondition failed: UID" in str(ei.value)
        await c.delete("pods", "a", preconditions={"uid": p["metadata"]["uid"]})
        assert api.get_object("pods", "a", "default") is None

    run(main())


def test_error_without_status_body_uses_the_code():
    e = error_from_response(404, {}, b"404 page not found")
    assert is_not_found(e) and e.message == "the server could not find the requested resource"
    e = error_from_response(500, {"retry-after": "3"}, b"boom")
    assert e.code == 500 and e.reason == StatusReason.INTERNAL_ERROR and "boom" in e.message
    assert e.headers["Retry-After"] == "3"
    e = error_from_response(410, {}, orjson.dumps({"kind": "Status", "reason": "Expired", "message": "old"}))
    assert is_gone(e) and e.code == 410


def test_list_queries_selectors_and_fills_kinds():
    async def main():
        api = FakeAPIServer()
        c = api.client()
        await c.create("pods", pod("a", labels={"app": "web"}, node="n1"))
        await c.create("pods", pod("b", labels={"app": "db"}, node="n2"))
        await c.create("pods", pod("c", ns="other", labels={"app": "web"}))
        out = await c.list("pods", "default", label_selector={"app": "web"})
        assert [p["metadata"]["name"] for p in out["items"]] == ["a"]
        assert out["items"][0]["kind"] == "Pod" and out["items"][0]["apiVersion"] == "v1"
        out = await c.list("pods", field_selector="spec.nodeName=n2")
        assert [p["metadata"]["name"] for p in out["items"]] == ["b"]
        out = await c.list("pods", label_selector="app=web")
        assert sorted(p["metadata"]["name"] for p in out["items"]) == ["a", "c"]
        q = c.transport.requests[-1]
        assert q.path == "/api/v1/pods" and q.param("labelSelector") == "app=web"

    run(main())


def test_list_all_follows_continue_and_falls_back_when_expired():
    async def main():
        api = FakeAPIServer()
        c = api.client()
        for i in range(5):
            await c.create("configmaps", {"metadata": {"name": f"cm{i}", "namespace": "default"}})
        items, rv = await c.list_all("configmaps", page_size=2)
        assert [i["metadata"]["name"] for i in items] == [f"cm{i}" for i in range(5)]
        assert rv == str(api.resource_version)
        limits = [r.param("limit") for r in c.transport.requests if r.method == "GET"]
        assert limits == ["2", "2", "2"]

        first = await c.list("configmaps", limit=2)
        await c.create("configmaps", {"metadata": {"name": "cm5", "namespace": "default"}})
        api.compact()
        with pytest.raises(StatusError) as ei:
            await c.list("configmaps", limit=2, continue_=first["metadata"]["continue"])
        assert is_gone(ei.value)

        expired_once = []

        def expire_continue(req):
            if req.param("continue") and not expired_once:
                expired_once.append(1)
                raise new_resource_expired("The provided continue parameter is too old")
            return None

        api.prepend_reactor(expire_continue)
        items, _ = await c.list_all("configmaps", page_size=2)
        assert len(items) == 6 and expired_once
        assert c.transport.requests[-1].param("limit") is None, "the fallback list is not paged"

    run(main())


def test_patch_types_and_options():
    async def main():
        api = FakeAPIServer()
        c = api.client()
        await c.create("configmaps", {"metadata": {"name": "cm", "namespace": "default"}, "data": {"a": "1"}})
        out = await c.patch("configmaps", "cm", {"data": {"b": "2"}})
        assert out["data"] == {"a": "1", "b": "2"}
        assert c.transport.requests[-1].headers["Content-Type"] == "application/merge-patch+json"
        out = await c.patch("configmaps", "cm", [{"op": "remove", "path": "/data/a"}], patch_type="json")
        assert out["data"] == {"b": "2"}
        assert c.transport.requests[-1].headers["Content-Type"] == "application/json-patch+json"
        await c.patch("configmaps", "cm", {"data": {"c": "3"}}, patch_type="strategic")
        assert c.transport.requests[-1].headers["Content-Type"] == "application/strategic-merge-patch+json"
        await c.patch("configmaps", "new", {"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "new", "namespace": "default"}},
                      patch_type="apply", field_manager="kubelite", force=True)
        req = c.transport.requests[-1]
        assert req.headers["Content-Type"] == "application/apply-patch+yaml"
        assert (req.param("fieldManager"), req.param("force")) == ("kubelite", "true")
        assert api.get_object("configmaps", "new", "default") is not None
        with pytest.raises(ValueError, match="field_manager"):
            await c.patch("configmaps", "cm", {}, patch_type="apply")
        with pytest.raises(ValueError, match="unknown patch type"):
            await c.patch("configmaps", "cm", {}, patch_type="xml")

    run(main())


def test_subresources_logs_and_scale():
    async def main():
        api = FakeAPIServer()
        c = api.client()
        await c.create("pods", pod("a"))
        await c.create_subresource("pods", "a", "binding", {
            "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "a"},
            "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"}}, "default")
        assert (await c.get("pods", "a"))["spec"]["nodeName"] == "n1"
        api.logs[("default", "a")] = "line 1\nline 2\n"
        assert await c.read_log("a", "default", container="c", tail_lines=10, timestamps=True) == "line 1\nline 2\n"
        req = c.transport.requests[-1]
        assert req.path == "/api/v1/namespaces/default/pods/a/log"
        assert req.query == [("container", "c"), ("tailLines", "10"), ("timestamps", "true")]
        async with c.stream_log("a", "default") as lines:
            assert [line async for line in lines] == ["line 1", "line 2"]
        assert c.transport.requests[-1].param("follow") == "true"
        await c.create("deployments.apps", {"metadata": {"name": "d", "namespace": "default"},
                                            "spec": {"replicas": 1}})
        await c.scale("deployments.apps", "d", 3, "default")
        assert (await c.get("deployments.apps", "d", "default"))["spec"]["replicas"] == 3
        await c.create_subresource("pods", "a", "eviction", {"apiVersion": "policy/v1", "kind": "Eviction",
                                                              "metadata": {"name": "a", "namespace": "default"}})
        assert api.get_object("pods", "a", "default") is None

    run(main())


def test_retry_after_is_honoured_with_bounded_retries():
    async def main():
        clock = FakeClock()
        api = FakeAPIServer()
        throttled = []

        def throttle(req):
            if len(throttled) < 2:
                throttled.append(req)
                raise new_too_many_requests("slow down", retry_after=2)
            return None

        api.prepend_reactor(throttle)
        c = Client(api.transport(), clock=clock)
        task = asyncio.create_task(c.create("pods", pod("a")))
        for _ in range(2):
            await wait_until(lambda: clock.waiters() == 1)
            assert clock.next_deadline() == 2
            clock.step(2)
        created = await task
        assert created["metadata"]["name"] == "a"
        assert len(c.transport.requests) == 3

        always = Client(FakeTransport(lambda r: Response.from_json(
            429, new_too_many_requests("no", 1).status(), {"Retry-After": "0"})), max_retries=3)
        with pytest.raises(StatusError) as ei:
            await always.get("pods", "x", "default")
        assert ei.value.reason == StatusReason.TOO_MANY_REQUESTS
        assert len(always.transport.requests) == 4

        no_header = Client(FakeTransport(lambda r: Response(429)))
        with pytest.raises(StatusError):
            await no_header.get("pods", "x", "default")
        assert len(no_header.transport.requests) == 1, "no Retry-After: no retry (client-go)"

    run(main())


def test_client_side_qps_throttles():
    async def main():
        clock = FakeClock()
        c = Client(FakeTransport(lambda r: Response.from_json(200, {"items": []})), clock=clock, qps=1, burst=1)
        await c.list("pods")
        task = asyncio.create_task(c.list("pods"))
        await wait_until(lambda: clock.waiters() == 1)
        assert clock.next_deadline() == pytest.approx(1.0)
        clock.step(1)
        await task

    run(main())


def test_watch_events_bookmarks_errors_and_end():
    async def main():
        api = FakeAPIServer()
        c = api.client()
        await c.create("pods", pod("a"))
        rv = str(api.resource_version)
        seen = []

        async def consume():
            async with c.watch("pods", "default", resource_version=rv, timeout_seconds=300,
                               allow_watch_bookmarks=True) as w:
                async for etype, obj in w:
                    seen.append((etype, obj["metadata"].get("name")))
                return w.resource_version

        task = asyncio.create_task(consume())
        await wait_until(lambda: api.watchers() == 1)
        req = c.transport.requests[-1]
        assert (req.param("watch"), req.param("timeoutSeconds"), req.param("allowWatchBookmarks")) == \
            ("true", "300", "true")
        await c.create("pods", pod("b"))
        await c.delete("pods", "a")
        api.send_bookmark()
        await wait_until(lambda: len(seen) == 3)
        api.end_watches()
        last_rv = await task
        assert seen == [("ADDED", "b"), ("DELETED", "a"), ("BOOKMARK", None)]
        assert last_rv == str(api.resource_version)

        api.compact()
        with pytest.raises(StatusError) as ei:
            async for _ in c.watch("pods", resource_version="1"):
                pass
        assert is_gone(ei.value) and ei.value.code == 410 and "too old resource version" in str(ei.value)

        http410 = Client(FakeTransport(lambda r: Response.from_json(410, {
            "kind": "Status", "status": "Failure", "reason": "Expired", "message": "gone", "code": 410})))
        with pytest.raises(StatusError) as ei:
            async for _ in http410.watch("pods", resource_version="5"):
                pass
        assert is_gone(ei.value)

    run(main())


def test_watch_by_name_and_initial_events():
    async def main():
        api = FakeAPIServer()
        c = api.client()
        await c.create("pods", pod("a"))
        await c.create("pods", pod("b"))
        w = c.watch("pods", "default", name="b")
        it = aiter(w)
        etype, obj = await anext(it)
        assert (etype, obj["metadata"]["name"]) == ("ADDED", "b")
        assert c.transport.requests[-1].param("fieldSelector") == "metadata.name=b"
        await w.aclose()
        await wait_until(lambda: api.watchers() == 0)

    run(main())
