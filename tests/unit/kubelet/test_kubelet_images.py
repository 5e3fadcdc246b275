"""Image pull policy, pulls (one per image at a time), backoff, pull secrets, events."""

import asyncio
import base64
import json

import pytest

from kubelite.images.fake import FakeImageStore
from kubelite.images.interface import Image
from kubelite.kubelet.images import Credentials, ImageManager, ImagePullError, pull_policy
from kubelite.kubelet.kuberuntime.backoff import Backoff

POD = {"metadata": {"name": "p", "namespace": "d", "uid": "u1"}}


@pytest.mark.parametrize("image,policy", [
    ("busybox", "Always"), ("busybox:latest", "Always"), ("busybox:1.36", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v1", "IfNotPresent"), ("busybox@sha256:" + "a" * 64,
                                                                                  "IfNotPresent"),
])
def test_default_pull_policy(image, policy):
    assert pull_policy({"image": image}) == policy


class Puller:
    def __init__(self, store, fail=None):
        self.store = store
        self.calls = []
        self.fail = fail

    async def pull(self, ref, credentials):
        self.calls.append((ref, credentials.get("localhost:5000") if credentials else None))
        await asyncio.sleep(0.05)
        if self.fail:
            raise RuntimeError(self.fail)
        img = Image(id="sha256:" + "1" * 64, digest="sha256:" + "2" * 64, repo_tags=[ref],
                    repo_digests=[ref.split(":")[0] + ":5000/app@sha256:" + "2" * 64], size=42)
        self.store.add(img, [])
        return img


def manager(puller=None, allowed=None, now=None):
    store = FakeImageStore()
    events = []
    clock = now or (lambda: 1000.0)
    m = ImageManager(store, lambda pod, c, t, r, msg: events.append((r, msg)), puller=puller(store) if puller else None,
                     backoff=Backoff(10, 300, clock), allowed_registries=allowed, clock_now=clock)
    return m, store, events


def test_one_pull_for_many_pods_and_events():
    m, store, events = manager(lambda s: Puller(s))
    c = {"name": "c", "image": "localhost:5000/app:v1"}

    async def run():
        return await asyncio.gather(*(m.ensure_image({"metadata": {"uid": f"u{i}"}}, c) for i in range(5)))

    images = asyncio.run(run())
    assert len(m.puller.calls) == 1 and {i.image for i in images} == {"localhost:5000/app:v1"}
    pulled = [msg for r, msg in events if r == "Pulled"]
    assert len(pulled) == 5 and pulled[0].startswith('Successfully pulled image "localhost:5000/app:v1" in ')
    assert pulled[0].endswith("including waiting). Image size: 42 bytes.")
    assert ("Pulling", 'Pulling image "localhost:5000/app:v1"') in events


def test_failures_back_off():
    t = [1000.0]
    m, store, events = manager(lambda s: Puller(s, fail="manifest unknown"), now=lambda: t[0])
    c = {"name": "c", "image": "localhost:5000/app:v1"}
    with pytest.raises(ImagePullError) as e:
        asyncio.run(m.ensure_image(POD, c))
    assert e.value.reason == "ErrImagePull"
    assert e.value.message == 'failed to pull and unpack image "localhost:5000/app:v1": manifest unknown'
    with pytest.raises(ImagePullError) as e:
        asyncio.run(m.ensure_image(POD, c))
    assert e.value.reason == "ImagePullBackOff" and e.value.message == 'Back-off pulling image "localhost:5000/app:v1"'
    t[0] += 11
    with pytest.raises(ImagePullError) as e:
        asyncio.run(m.ensure_image(POD, c))
    assert e.value.reason == "ErrImagePull" and len(m.puller.calls) == 2


def test_never_and_not_allowed_registries():
    m, store, events = manager(lambda s: Puller(s))
    with pytest.raises(ImagePullError) as e:
        asyncio.run(m.ensure_image(POD, {"name": "c", "image": "nginx", "imagePullPolicy": "Never"}))
    assert e.value.reason == "ErrImageNeverPull"
    assert e.value.message == 'Container image "nginx" is not present with pull policy of Never'
    with pytest.raises(ImagePullError) as e:
        asyncio.run(m.ensure_image(POD, {"name": "c", "image": "nginx:1.27"}))
    assert e.value.reason == "ErrImagePull" and "pulling from docker.io is not enabled on this node" in e.value.message
    assert not m.puller.calls
    with pytest.raises(ImagePullError) as e:
        asyncio.run(m.ensure_image(POD, {"name": "c", "image": "UPPER/Case"}))
    assert e.value.reason == "InvalidImageName"


def test_always_uses_the_store_copy_when_the_registry_is_off_limits():
    m, store, events = manager(lambda s: Puller(s))
    store.add(Image(id="sha256:" + "3" * 64, digest="sha256:" + "4" * 64,
                    repo_tags=["docker.io/library/busybox:latest"]), [])
    img = asyncio.run(m.ensure_image(POD, {"name": "c", "image": "busybox", "imagePullPolicy": "Always"}))
    assert img.image == "docker.io/library/busybox:latest" and not m.puller.calls
    assert events == [("Pulled", 'Container image "busybox" already present on machine')]


def test_credentials_from_pull_secrets():
    cfg = {"auths": {"https://localhost:5000/v1/": {"auth": base64.b64encode(b"me:pw").decode()},
                     "docker.io": {"username": "u", "password": "p"}}}
    secret = {"data": {".dockerconfigjson": base64.b64encode(json.dumps(cfg).encode()).decode()}}
    creds = Credentials.from_secrets([secret])
    assert creds.get("localhost:5000") == ("me", "pw") and creds.get("docker.io") == ("u", "p")
    assert creds.get("other.example") is None
    m, store, events = manager(lambda s: Puller(s))
    asyncio.run(m.ensure_image(POD, {"name": "c", "image": "localhost:5000/app:v1"}, [secret]))
    assert m.puller.calls == [("localhost:5000/app:v1", ("me", "pw"))]
