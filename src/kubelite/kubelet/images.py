"""Images for containers (Kubernetes' `pkg/kubelet/images`): the pull policy, pulls through the
image store's distribution client (one at a time per image, whatever the number of pods
waiting), the per-image backoff behind ImagePullBackOff, and the events Kubernetes writes.

Registries: only loopback registries and those in `KubeletConfig.pull_registries` ("*" = any)
are contacted; an image from anywhere else must already be in the store. That keeps a test
machine from reaching the network while `imagePullPolicy: Always` images still run from the
store.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kubelite.images.errors import InvalidReference
from kubelite.images.interface import Image, ImageStore
from kubelite.images.reference import parse_reference

from . import events as ev
from .kuberuntime.backoff import Backoff
from .podutil import go_duration, uid
from .runtime.interface import ContainerImage

log = logging.getLogger(__name__)

PRESENT_TTL = 10.0  # seconds an image found in the store is assumed to stay there

Recorder = Callable[[dict, dict | None, str, str, str], None]  # (pod, container, type, reason, message)


class ImagePullError(Exception):
    """`reason` is the container's waiting reason (ErrImagePull, ImagePullBackOff, ...)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class Credentials:
    """Registry credentials from imagePullSecrets (dockerconfigjson / dockercfg), shaped like the
    distribution client's `DockerConfig` (`get(domain) -> (user, password) | None`)."""

    def __init__(self, auths: dict[str, dict], fallback: Any = None):
        self.auths = auths
        self.fallback = fallback

    @classmethod
    def from_secrets(cls, secrets: list[dict], fallback: Any = None) -> Credentials:
        auths: dict[str, dict] = {}
        for s in secrets:
            data = s.get("data") or {}
            raw = data.get(".dockerconfigjson") or data.get(".dockercfg")
            if not raw:
                continue
            try:
                doc = json.loads(base64.b64decode(raw))
            except ValueError:
                continue
            entries = doc.get("auths", doc) if isinstance(doc, dict) else {}
            for k, v in entries.items():
                if isinstance(v, dict):
                    auths.setdefault(k, v)
        return cls(auths, fallback)

    @staticmethod
    def _host(key: str) -> str:
        key = key.removeprefix("https://").removeprefix("http://")
        return key.split("/", 1)[0]

    def get(self, domain: str) -> tuple[str, str] | None:
        wanted = {domain}
        if domain in ("docker.io", "index.docker.io", "registry-1.docker.io"):
            wanted |= {"docker.io", "index.docker.io", "registry-1.docker.io"}
        for key, entry in self.auths.items():
            if self._host(key) in wanted:
                if entry.get("auth"):
                    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                    return user, password
                if entry.get("username"):
                    return entry["username"], entry.get("password", "")
        return self.fallback.get(domain) if self.fallback is not None else None


class Puller(Protocol):
    async def pull(self, ref: str, credentials: Credentials | None) -> Image: ...


class DistributionPuller:
    """Pulls into a `LocalImageStore` with `kubelite.images.distribution`."""

    def __init__(self, store: Any, registries: str | None = None,
                 warn: Callable[[str], None] | None = None):
        from kubelite.images.distribution.config import RegistryHosts

        self.store = store
        # mirrors, rewrites and credentials of the registries file (re-read when it changes)
        self.hosts = RegistryHosts.from_file(registries)
        self.warn = warn

    def has_mirror(self, domain: str) -> bool:
        return self.hosts.has_mirror(domain)

    async def pull(self, ref: str, credentials: Credentials | None) -> Image:
        from kubelite.images.distribution import Transfer, pull
        from kubelite.images.distribution.config import DockerConfig

        transfer = Transfer(hosts=self.hosts, config=credentials if credentials is not None else DockerConfig(),
                            warn=self.warn)  # type: ignore[arg-type]
        return await pull(self.store, ref, transfer)


def is_loopback_domain(domain: str) -> bool:
    host = domain.rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def pull_policy(container: dict) -> str:
    policy = container.get("imagePullPolicy")
    if policy:
        return policy
    image = str(container.get("image") or "")
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    return "IfNotPresent" if ":" in last and not last.endswith(":latest") else "Always"


@dataclass
class _Pull:
    future: asyncio.Future


class ImageManager:
    def __init__(self, store: ImageStore, record: Recorder, *, puller: Puller | None = None,
                 backoff: Backoff | None = None, allowed_registries: list[str] | None = None,
                 clock_now: Callable[[], float] = time.time):
        self.store = store
        self.record = record
        self.puller = puller
        self.backoff = backoff or Backoff(10.0, 300.0, clock_now)
        self.allowed = list(allowed_registries or [])
        self._now = clock_now
        self._pulls: dict[str, asyncio.Future] = {}
        self._unpacked: dict[str, list[str]] = {}
        self._repo_digests: dict[str, list[str]] = {}
        self._present: dict[str, tuple[float, Image]] = {}
        self._lookups: dict[str, asyncio.Future] = {}

    def allowed_to_pull(self, domain: str) -> bool:
        """Loopback registries, the ones the node was told about, and any with a configured mirror
        (`image: nginx` pulls through the docker.io mirror)."""
        if is_loopback_domain(domain) or "*" in self.allowed or domain in self.allowed:
            return True
        has_mirror = getattr(self.puller, "has_mirror", None)
        return bool(has_mirror and has_mirror(domain))

    async def ensure_image(self, pod: dict, container: dict, pull_secrets: list[dict] | None = None
                           ) -> ContainerImage:
        image = str(container.get("image") or "")
        try:
            ref = parse_reference(image)
        except InvalidReference as e:
            msg = f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": {e}'
            self.record(pod, container, "Warning", ev.FAILED_TO_INSPECT_IMAGE, msg)
            raise ImagePullError(ev.INVALID_IMAGE_NAME, msg) from None
        normalized = str(ref)
        policy = pull_policy(container)
        present = await self._lookup(normalized)
        if present is not None and policy != "Always":
            self.record(pod, container, "Normal", ev.PULLED_IMAGE,
                        f'Container image "{image}" already present on machine')
            return await self._container_image(present, normalized)
        if policy == "Never":
            msg = f'Container image "{image}" is not present with pull policy of Never'
            self.record(pod, container, "Warning", ev.ERR_IMAGE_NEVER_PULL_POLICY, msg)
            raise ImagePullError(ev.ERR_IMAGE_NEVER_PULL, msg)
        allowed = self.allowed_to_pull(ref.domain) and self.puller is not None
        if not allowed and present is not None:  # Always, but the registry is out of bounds: the store's copy
            self.record(pod, container, "Normal", ev.PULLED_IMAGE,
                        f'Container image "{image}" already present on machine')
            return await self._container_image(present, normalized)
        key = f"{uid(pod)}_{image}"
        if self.backoff.in_backoff_since_update(key):
            self.record(pod, container, "Normal", ev.BACKOFF_PULL_IMAGE, f'Back-off pulling image "{image}"')
            raise ImagePullError(ev.IMAGE_PULL_BACK_OFF, f'Back-off pulling image "{image}"')
        if not allowed:
            why = (f"pulling from {ref.domain} is not enabled on this node" if self.puller is not None
                   else "this node has no registry client")
            self.backoff.next(key, self._now())
            err = f'failed to pull and unpack image "{normalized}": {why}'
            self.record(pod, container, "Warning", ev.FAILED_TO_PULL_IMAGE, f'Failed to pull image "{image}": {err}')
            raise ImagePullError(ev.ERR_IMAGE_PULL, err)
        self.record(pod, container, "Normal", ev.PULLING_IMAGE, f'Pulling image "{image}"')
        started = time.monotonic()
        try:
            pulled, pull_time = await self._pull_once(normalized, Credentials.from_secrets(pull_secrets or [],
                                                                                           fallback=_docker_config()))
        except Exception as e:
            self.backoff.next(key, self._now())
            err = f'failed to pull and unpack image "{normalized}": {e}'
            self.record(pod, container, "Warning", ev.FAILED_TO_PULL_IMAGE, f'Failed to pull image "{image}": {err}')
            raise ImagePullError(ev.ERR_IMAGE_PULL, err) from e
        self.backoff.reset(key)
        self._present[normalized] = (time.monotonic(), pulled)
        waited = time.monotonic() - started
        self.record(pod, container, "Normal", ev.PULLED_IMAGE,
                    f'Successfully pulled image "{image}" in {go_duration(pull_time)} '
                    f'({go_duration(waited)} including waiting). Image size: {pulled.size} bytes.')
        return await self._container_image(pulled, normalized)

    async def _lookup(self, ref: str) -> Image | None:
        """The store's image for `ref`, remembered for a few seconds (a burst of pods asks once)."""
        hit = self._present.get(ref)
        now = time.monotonic()
        if hit is not None and now - hit[0] < PRESENT_TTL:
            return hit[1]
        fut = self._lookups.get(ref)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._lookups[ref] = fut
            try:
                image = await self.store.get(ref)
                fut.set_result(image)
            except BaseException as e:
                fut.set_exception(e)
                fut.exception()
                raise
            finally:
                self._lookups.pop(ref, None)
            if image is not None:
                self._present[ref] = (time.monotonic(), image)
            return image
        return await asyncio.shield(fut)

    async def _pull_once(self, ref: str, credentials: Credentials) -> tuple[Image, float]:
        """One pull per image at a time; concurrent callers share it. Returns (image, pull time)."""
        fut = self._pulls.get(ref)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._pulls[ref] = fut
            t0 = time.monotonic()
            try:
                assert self.puller is not None
                image = await self.puller.pull(ref, credentials)
                fut.set_result((image, time.monotonic() - t0))
            except BaseException as e:
                fut.set_exception(e)
                fut.exception()  # retrieved: no "never retrieved" warning when nobody else waits
                raise
            finally:
                self._pulls.pop(ref, None)
        return await asyncio.shield(fut)

    async def _container_image(self, image: Image, ref: str) -> ContainerImage:
        dirs = self._unpacked.get(image.id)
        if dirs is None:
            dirs = [str(d) for d in await self.store.unpack(image)]
            self._unpacked[image.id] = dirs
        if image.repo_digests:
            self._repo_digests[image.id] = list(image.repo_digests)
        return ContainerImage(image=ref, image_id=image.id, config=dict(image.container_config),
                              lowerdirs=list(dirs))

    async def image_id_for_status(self, image_id: str, image: str = "") -> str:
        """What `containerStatuses[].imageID` shows: the repo digest (`name@sha256:...`) of the
        container's repository when the store knows one, else the image ID."""
        digests = self._repo_digests.get(image_id)
        if digests is None:
            try:
                found = await self.store.get(image_id) if image_id else None
            except Exception:  # an ID the store cannot parse: show it as it is
                found = None
            digests = self._repo_digests[image_id] = list(found.repo_digests) if found else []
        if not digests:
            return image_id
        try:
            repo = parse_reference(image).name if image else ""
        except InvalidReference:
            repo = ""
        return next((d for d in digests if d.split("@", 1)[0] == repo), digests[0])
        try:
            image = await self.store.get(image_id) if image_id else None
        except Exception:  # an ID the store cannot parse: show it as it is
            image = None
        self._repo_digests[image_id] = image.repo_digests[0] if image and image.repo_digests else image_id
        return self._repo_digests[image_id]


def _docker_config() -> Any:
    """Credentials from ~/.docker/config.json (what `kubelite login` wrote) after pull secrets."""
    from kubelite.images.distribution.config import DockerConfig

    try:
        return DockerConfig()
    except Exception:  # noqa: BLE001 - an unreadable config must not stop pulls
        return None
