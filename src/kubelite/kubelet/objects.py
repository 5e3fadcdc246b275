"""ConfigMaps, Secrets and Services as pods consume them (Kubernetes' kubelet configmap and secret
managers): fetched from the API when a pod needs them, cached for a short TTL so that a burst of
pods or containers reads each object once.

Errors are the kubelet's: `configmap "x" not found`, `secret "x" not found`.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from kubelite.client import Clock, RealClock
from kubelite.machinery.errors import StatusError, is_not_found


class ObjectNotFound(Exception):
    def __init__(self, kind: str, name: str):
        super().__init__(f'{kind} "{name}" not found')
        self.kind = kind
        self.name = name


class ObjectSource(Protocol):
    async def configmap(self, namespace: str, name: str) -> dict: ...

    async def secret(self, namespace: str, name: str) -> dict: ...


class APIObjectSource:
    """Reads through a `kubelite.client.Client`, with a TTL cache and one request per object
    in flight."""

    def __init__(self, client: Any, *, ttl: float = 1.0, clock: Clock | None = None):
        self.client = client
        self.ttl = ttl
        self.clock = clock or RealClock()
        self._cache: dict[tuple[str, str, str], tuple[float, dict | None]] = {}
        self._inflight: dict[tuple[str, str, str], asyncio.Future] = {}

    async def _get(self, resource: str, kind: str, namespace: str, name: str) -> dict:
        key = (resource, namespace, name)
        hit = self._cache.get(key)
        now = self.clock.monotonic()
        if hit is not None and now - hit[0] < self.ttl:
            if hit[1] is None:
                raise ObjectNotFound(kind, name)
            return hit[1]
        fut = self._inflight.get(key)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._inflight[key] = fut
            try:
                obj: dict | None = await self.client.get(resource, name, namespace)
            except StatusError as e:
                if not is_not_found(e):
                    fut.set_exception(e)
                    raise
                obj = None
            except BaseException as e:
                fut.set_exception(e)
                raise
            finally:
                self._inflight.pop(key, None)
            self._cache[key] = (self.clock.monotonic(), obj)
            fut.set_result(obj)
            if len(self._cache) > 4096:
                self._cache.clear()
        else:
            obj = await asyncio.shield(fut)
        if obj is None:
            raise ObjectNotFound(kind, name)
        return obj

    def invalidate(self) -> None:
        self._cache.clear()

    async def configmap(self, namespace: str, name: str) -> dict:
        return await self._get("configmaps", "configmap", namespace, name)

    async def secret(self, namespace: str, name: str) -> dict:
        return await self._get("secrets", "secret", namespace, name)


class FakeObjectSource:
    """In-memory objects for tests: `objects[("configmap", ns, name)] = {...}`."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict] = {}

    def add(self, kind: str, namespace: str, obj: dict) -> None:
        self.objects[(kind, namespace, obj["metadata"]["name"])] = obj

    async def configmap(self, namespace: str, name: str) -> dict:
        obj = self.objects.get(("configmap", namespace, name))
        if obj is None:
            raise ObjectNotFound("configmap", name)
        return obj

    async def secret(self, namespace: str, name: str) -> dict:
        obj = self.objects.get(("secret", namespace, name))
        if obj is None:
            raise ObjectNotFound("secret", name)
        return obj
