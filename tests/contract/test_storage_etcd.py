"""The Backend contract suite against a real etcd (Debian's etcd-server) on loopback."""

import asyncio
import shutil
import subprocess
import time
import uuid

import pytest

from kubelite.storage import testsuite
from kubelite.storage.etcd import EtcdBackend
from kubelite.testing import free_port

pytestmark = pytest.mark.skipif(shutil.which("etcd") is None, reason="etcd-server is not installed")


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    d = tmp_path_factory.mktemp("etcd")
    client, peer = free_port(), free_port()
    p = subprocess.Popen(["etcd", "--name", "t", "--data-dir", str(d / "data"),
                          "--listen-client-urls", f"http://127.0.0.1:{client}",
                          "--advertise-client-urls", f"http://127.0.0.1:{client}",
                          "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                          "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                          "--initial-cluster", f"t=http://127.0.0.1:{peer}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"etcd://127.0.0.1:{client}"
    deadline = time.monotonic() + 20
    while True:
        try:
            async def probe():
                b = EtcdBackend(url)
                await b.start()
                await b.close()
            asyncio.run(probe())
            break
        except Exception:
            if time.monotonic() > deadline:
                p.kill()
                raise
            time.sleep(0.2)
    yield url
    p.terminate()
    p.wait(10)


class Prefixed:
    """Each check runs under its own key prefix (etcd is shared by the module's checks)."""


@pytest.mark.parametrize("check", testsuite.CHECKS, ids=[c.__name__ for c in testsuite.CHECKS])
def test_etcd_backend_contract(etcd, check):
    async def run():
        b = EtcdBackend(etcd)
        await b.start()
        try:
            await check(_Namespaced(b, f"/t{uuid.uuid4().hex[:8]}"))
        finally:
            await b.close()

    asyncio.run(run())


class _Namespaced:
    """Wraps a backend so keys live under a unique prefix; revisions stay global (as in etcd)."""

    def __init__(self, b, p):
        self.b, self.p = b, p

    def _k(self, k):
        return self.p + k

    def _strip(self, kv):
        if kv is None:
            return None
        from kubelite.storage.interface import KeyValue
        return KeyValue(kv.key[len(self.p):], kv.value, kv.create_revision, kv.mod_revision, kv.lease)

    def _ev(self, e):
        from kubelite.storage.interface import Event
        return Event(e.type, self._strip(e.kv), self._strip(e.prev_kv))

    async def create(self, key, value, **kw):
        return await self.b.create(self._k(key), value, **kw)

    async def get(self, key, **kw):
        rev, kv = await self.b.get(self._k(key), **kw)
        return rev, self._strip(kv)

    async def list(self, prefix, *, start_key="", **kw):
        rev, kvs = await self.b.list(self._k(prefix), start_key=self._k(start_key) if start_key else "", **kw)
        return rev, [self._strip(k) for k in kvs]

    async def count(self, prefix):
        return await self.b.count(self._k(prefix))

    async def update(self, key, value, **kw):
        rev, kv, ok = await self.b.update(self._k(key), value, **kw)
        return rev, self._strip(kv), ok

    async def delete(self, key, **kw):
        rev, kv, ok = await self.b.delete(self._k(key), **kw)
        return rev, self._strip(kv), ok

    async def watch(self, prefix, *, start_revision):
        async for batch in self.b.watch(self._k(prefix), start_revision=start_revision):
            yield [self._ev(e) for e in batch]

    async def current_revision(self):
        return await self.b.current_revision()

    async def compact(self, revision):
        return await self.b.compact(revision)
