import asyncio
import random

import pytest

from kubelite.client.informers import (
    NODE_NAME_INDEX,
    CacheMutationError,
    Indexer,
    InformerFactory,
    Reflector,
    SharedInformer,
    index_by_namespace,
    index_by_node_name,
    meta_namespace_key,
    split_meta_namespace_key,
)
from kubelite.client.testing import FakeAPIServer, wait_until
from kubelite.machinery.clock import FakeClock
from kubelite.machinery.errors import is_not_found, new_resource_expired


def run(coro):
    return asyncio.run(coro)


def pod(name, ns="default", node=None, labels=None):
    p = {"metadata": {"name": name, "namespace": ns, "labels": labels or {}}, "spec": {}}
    if node:
        p["spec"]["nodeName"] = node
    return p


# ----- store


def test_keys():
    assert meta_namespace_key(pod("a", "ns")) == "ns/a"
    assert meta_namespace_key({"metadata": {"name": "n1"}}) == "n1"
    assert split_meta_namespace_key("ns/a") == ("ns", "a")
    assert split_meta_namespace_key("n1") == ("", "n1")
    with pytest.raises(ValueError):
        split_meta_namespace_key("a/b/c")


def test_indexer_keeps_indexes_current():
    idx = Indexer({"namespace": index_by_namespace, NODE_NAME_INDEX: index_by_node_name})
    idx.add(pod("a", "x", node="n1"))
    idx.add(pod("b", "x", node="n2"))
    idx.add(pod("c", "y", node="n1"))
    assert idx.index_keys(NODE_NAME_INDEX, "n1") == ["x/a", "y/c"]
    assert [o["metadata"]["name"] for o in idx.by_index("namespace", "x")] == ["a", "b"]
    idx.update(pod("a", "x", node="n2"))
    assert idx.index_keys(NODE_NAME_INDEX, "n1") == ["y/c"]
    assert idx.index_keys(NODE_NAME_INDEX, "n2") == ["x/a", "x/b"]
    idx.delete(pod("b", "x"))
    assert idx.get_by_key("x/b") is None
    assert idx.index_keys(NODE_NAME_INDEX, "n2") == ["x/a"]
    assert idx.list_index_values("namespace") == ["x", "y"]
    idx.replace([pod("z", "q")])
    assert idx.list_keys() == ["q/z"] and idx.index_keys(NODE_NAME_INDEX, "n1") == []
    idx.add_indexers({"label": lambda o: list((o["metadata"].get("labels") or {}).values())})
    idx.add(pod("l", "q", labels={"app": "web"}))
    assert idx.index_keys("label", "web") == ["q/l"]
    with pytest.raises(KeyError):
        idx.by_index("nope", "x")


def test_mutation_detector():
    idx = Indexer(detect_mutations=True)
    obj = pod("a")
    idx.add(obj)
    idx.check_mutations()
    obj["metadata"]["labels"]["changed"] = "yes"
    with pytest.raises(CacheMutationError, match="default/a"):
        idx.check_mutations()
    with pytest.raises(CacheMutationError):
        idx.update(pod("a"))
    quiet = Indexer(detect_mutations=False)
    o = pod("b")
    quiet.add(o)
    o["spec"]["x"] = 1
    quiet.check_mutations()


# ----- reflector


class RecordingSink:
    def __init__(self):
        self.calls = []
        self.replaces = 0

    def replace(self, objs, rv):
        self.replaces += 1
        self.calls.append(("replace", sorted(o["metadata"]["name"] for o in objs), rv))

    def add(self, obj):
        self.calls.append(("add", obj["metadata"]["name"]))

    def update(self, obj):
        self.calls.append(("update", obj["metadata"]["name"]))

    def delete(self, obj):
        self.calls.append(("delete", obj["metadata"]["name"]))


def test_reflector_resumes_from_bookmark_and_relists_on_410():
    async def main():
        clock = FakeClock()
        api = FakeAPIServer()
        c = api.client(clock=clock)
        await c.create("pods", pod("a", "watched"))
        sink = RecordingSink()
        r = Reflector(c, "pods", sink, namespace="watched", clock=clock, rng=random.Random(1))
        lists = lambda: [q for q in c.transport.requests if q.method == "GET" and not q.param("watch")]  # noqa
        watches = lambda: [q for q in c.transport.requests if q.param("watch")]  # noqa

        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(r.run())
            await wait_until(lambda: api.watchers() == 1)
            assert sink.calls == [("replace", ["a"], "1")]
            assert (lists()[0].param("resourceVersion"), lists()[0].param("limit")) == ("0", "500")
            w = watches()[0]
            assert w.param("resourceVersion") == "1" and w.param("allowWatchBookmarks") == "true"
            assert 300 <= int(w.param("timeoutSeconds")) <= 600

            await c.create("pods", pod("b", "watched"))
            await c.create("pods", pod("x", "elsewhere"))       # not seen by this reflector
            await wait_until(lambda: ("add", "b") in sink.calls)
            assert r.last_sync_resource_version == "2"
            api.send_bookmark()
            await wait_until(lambda: r.last_sync_resource_version == "3")

            api.end_watches()                                     # server closes the stream
            await wait_until(lambda: len(watches()) == 2)
            assert watches()[1].param("resourceVersion") == "3", "re-watch from the bookmark RV"
            assert len(lists()) == 1, "a normal stream end does not relist"

            await c.create("pods", pod("y", "elsewhere"))        # rv 4
            api.compact()                                         # history before 4 is gone
            api.end_watches()
            await wait_until(lambda: clock.waiters() == 1)        # backing off after 410
            assert len(lists()) == 1
            clock.step(2.0)
            await wait_until(lambda: sink.replaces == 2 and api.watchers() == 1)
            assert lists()[1].param("resourceVersion") == "3", "relist from the last synced RV"
            assert sink.calls[-1] == ("replace", ["a", "b"], "4")
            assert watches()[-1].param("resourceVersion") == "4"
            task.cancel()

    run(main())


def test_reflector_lists_at_latest_when_its_rv_is_too_old():
    async def main():
        clock = FakeClock()
        api = FakeAPIServer()
        c = api.client(clock=clock)
        sink = RecordingSink()
        r = Reflector(c, "configmaps", sink, clock=clock, rng=random.Random(2))
        r.last_sync_resource_version = "7"

        def too_old(req):
            if not req.param("watch") and req.param("resourceVersion") == "7":
                raise new_resource_expired("too old resource version: 7 (9)")
            return None

        api.prepend_reactor(too_old)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(r.run())
            await wait_until(lambda: sink.replaces == 1)
            rvs = [q.param("resourceVersion") for q in c.transport.requests if not q.param("watch")]
            assert rvs == ["7", ""]
            task.cancel()

    run(main())


def test_reflector_backs_off_when_the_server_fails():
    async def main():
        clock = FakeClock()
        api = FakeAPIServer()
        c = api.client(clock=clock)
        failures = []

        def broken(req):
            if len(failures) < 3:
                failures.append(req)
                from kubelite.machinery.errors import new_internal_error
                raise new_internal_error("etcd is down")
            return None

        api.prepend_reactor(broken)
        sink = RecordingSink()
        r = Reflector(c, "pods", sink, clock=clock, rng=random.Random(3))
        delays = []
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(r.run())
            for _ in range(3):
                await wait_until(lambda: clock.waiters() == 1)
                delays.append(clock.next_deadline())
                clock.step(delays[-1])
            await wait_until(lambda: sink.replaces == 1)
            task.cancel()
        assert 0.8 <= delays[0] < 1.6 and 1.6 <= delays[1] < 3.2 and 3.2 <= delays[2] < 6.4

    run(main())


# ----- shared informer


class Recorder:
    def __init__(self):
        self.events = []

    def handlers(self):
        return dict(on_add=lambda o: self.events.append(("add", o["metadata"]["name"])),
                    on_update=lambda old, new: self.events.append(
                        ("update", new["metadata"]["name"], old["metadata"].get("resourceVersion"),
                         new["metadata"].get("resourceVersion"))),
                    on_delete=lambda o: self.events.append(("delete", o["metadata"]["name"],
                                                            (o.get("spec") or {}).get("nodeName"))))


def test_informer_handlers_relist_deletes_with_last_known_state():
    async def main():
        clock = FakeClock()
        api = FakeAPIServer()
        c = api.client(clock=clock)
        await c.create("pods", pod("a", node="n1"))
        await c.create("pods", pod("gone", node="n9"))
        inf = SharedInformer(c, "pods", clock=clock, rng=random.Random(4), detect_mutations=True)
        rec = Recorder()
        reg = inf.add_event_handler(**rec.handlers())
        assert not inf.has_synced() and not reg.has_synced()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(inf.run())
            await asyncio.wait_for(inf.wait_for_cache_sync(), 5)
            assert reg.has_synced()
            assert sorted(rec.events) == [("add", "a"), ("add", "gone")]
            rec.events.clear()
            await wait_until(lambda: api.watchers() == 1)

            a = await c.get("pods", "a")
            a["metadata"]["labels"] = {"v": "2"}
            await c.update("pods", a)
            await c.delete("pods", "gone")
            await wait_until(lambda: len(rec.events) == 2)
            assert rec.events[0][:2] == ("update", "a") and rec.events[0][2] < rec.events[0][3]
            assert rec.events[1] == ("delete", "gone", "n9")
            assert inf.lister().get("a", "default")["metadata"]["labels"] == {"v": "2"}
            rec.events.clear()

            # While the watch is down, "b" is created and "a" deleted; the relist reports both.
            gate = asyncio.Event()

            async def hold_watches(req):
                if req.param("watch"):
                    await gate.wait()

            api.prepend_reactor(hold_watches)
            api.end_watches()
            await c.create("pods", pod("b"))
            await c.delete("pods", "a")
            api.compact()
            gate.set()
            await wait_until(lambda: clock.waiters() == 1)     # the re-watch got 410: backing off
            clock.step(2)
            await wait_until(lambda: len(rec.events) == 2)
            assert sorted(rec.events) == [("add", "b"), ("delete", "a", "n1")]
            assert [o["metadata"]["name"] for o in inf.lister().list()] == ["b"]

            late = Recorder()
            late_reg = inf.add_event_handler(**late.handlers())
            assert late.events == [("add", "b")] and late_reg.has_synced()
            inf.remove_event_handler(late_reg)
            await c.create("pods", pod("c"))
            await wait_until(lambda: ("add", "c") in rec.events)
            assert late.events == [("add", "b")]
            task.cancel()

    run(main())


def test_informer_filter_turns_updates_into_adds_and_deletes():
    async def main():
        api = FakeAPIServer()
        c = api.client()
        inf = SharedInformer(c, "pods")
        rec = Recorder()
        inf.add_event_handler(**rec.handlers(), filter=lambda o: (o.get("spec") or {}).get("nodeName") == "n1")
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(inf.run())
            await inf.wait_for_cache_sync()
            await wait_until(lambda: api.watchers() == 1)
            await c.create("pods", pod("p"))                               # filtered out
            await c.patch("pods", "p", {"spec": {"nodeName": "n1"}}, "default")   # now matches: add
            await c.patch("pods", "p", {"spec": {"nodeName": "n2"}}, "default")   # no longer: delete
            await wait_until(lambda: len(rec.events) == 2)
            assert rec.events == [("add", "p"), ("delete", "p", "n1")]
            task.cancel()

    run(main())


def test_informer_resync_and_handler_errors_are_contained():
    async def main():
        clock = FakeClock()
        api = FakeAPIServer()
        c = api.client(clock=clock)
        await c.create("configmaps", {"metadata": {"name": "cm", "namespace": "default"}})
        inf = SharedInformer(c, "configmaps", resync_period=30, clock=clock)
        rec = Recorder()

        def explode(obj):
            raise RuntimeError("handler bug")

        inf.add_event_handler(on_add=explode)
        inf.add_event_handler(**rec.handlers())
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(inf.run())
            await inf.wait_for_cache_sync()
            await wait_until(lambda: clock.waiters() >= 1 and api.watchers() == 1)
            clock.step(30)
            await wait_until(lambda: len(rec.events) == 2)
            assert rec.events[0] == ("add", "cm")
            assert rec.events[1][:2] == ("update", "cm") and rec.events[1][2] == rec.events[1][3]
            task.cancel()

    run(main())


def test_informer_mutation_by_a_handler_is_fatal_in_tests():
    async def main():
        api = FakeAPIServer()
        c = api.client()
        await c.create("pods", pod("a"))
        inf = SharedInformer(c, "pods", detect_mutations=True)
        inf.add_event_handler(on_add=lambda o: o["metadata"].__setitem__("labels", {"oops": "1"}))
        with pytest.raises(ExceptionGroup) as ei:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(inf.run())
                await inf.wait_for_cache_sync()
                await wait_until(lambda: api.watchers() == 1)
                await c.patch("pods", "a", {"metadata": {"labels": {"x": "y"}}}, "default")
                await asyncio.wait_for(asyncio.Event().wait(), 5)   # the group fails first
        assert ei.group_contains(CacheMutationError)

    run(main())


# ----- factory and listers


def test_factory_shares_informers_and_starts_late_ones():
    async def main():
        api = FakeAPIServer()
        c = api.client()
        await c.create("pods", pod("a", "x", node="n1", labels={"app": "web"}))
        await c.create("pods", pod("b", "y", node="n1", labels={"app": "db"}))
        await c.create("nodes", {"metadata": {"name": "n1"}})
        f = InformerFactory(c)
        pods = f.informer_for("pods", indexers={NODE_NAME_INDEX: index_by_node_name})
        assert f.informer_for("po") is pods
        assert f.informer_for("pods", label_selector="app=web") is not pods
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(f.run())
            await asyncio.wait_for(f.wait_for_cache_sync(), 5)
            assert f.has_synced()
            nodes = f.lister_for("nodes")                       # created after run(): started now
            await asyncio.wait_for(f.informer_for("nodes").wait_for_cache_sync(), 5)
            assert nodes.get("n1")["metadata"]["name"] == "n1"
            lister = pods.lister()
            assert [p["metadata"]["name"] for p in lister.list("x")] == ["a"]
            assert sorted(p["metadata"]["name"] for p in lister.list(selector={"app": "db"})) == ["b"]
            assert [p["metadata"]["name"] for p in lister.list(selector="app in (web)")] == ["a"]
            assert pods.indexer.index_keys(NODE_NAME_INDEX, "n1") == ["x/a", "y/b"]
            with pytest.raises(Exception) as ei:
                lister.get("nope", "x")
            assert is_not_found(ei.value) and str(ei.value) == 'pod "nope" not found'
            selected = f.informer_for("pods", label_selector="app=web")
            await selected.wait_for_cache_sync()
            assert [p["metadata"]["name"] for p in selected.lister().list()] == ["a"]
            task.cancel()

    run(main())
