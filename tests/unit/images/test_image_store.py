"""The local image store: built-ins, records, tags, rmi, unpack cache, GC."""

import asyncio
import os
import shutil

import pytest

from kubelite.images.builtin import BUSYBOX_IMAGE, PAUSE_IMAGE
from kubelite.images.errors import ImageInUse
from kubelite.images.interface import ImageNotFound
from kubelite.images.store import LocalImageStore

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (layer extraction)"),
    pytest.mark.skipif(not shutil.which("busybox") or not os.path.exists("/usr/bin/catatonit"),
                       reason="needs busybox-static and catatonit"),
]


def test_builtins_are_reproducible(tmp_path):
    async def run():
        a = await LocalImageStore(tmp_path / "a").get("busybox")
        b = await LocalImageStore(tmp_path / "b").get("docker.io/library/busybox:latest")
        assert a is not None and b is not None
        assert (a.id, a.digest) == (b.id, b.digest)
        assert a.repo_tags == [BUSYBOX_IMAGE]
        assert a.container_config["Cmd"] == ["sh"]
        p = await LocalImageStore(tmp_path / "a").get(PAUSE_IMAGE)
        assert p.container_config["Entrypoint"] == ["/pause", "-P"]

    asyncio.run(run())


def test_unpack_once_under_concurrency(tmp_path):
    async def run():
        s = LocalImageStore(tmp_path)
        img = await s.get("busybox")
        results = await asyncio.gather(*(s.unpack(img) for _ in range(8)))
        assert all(r == results[0] for r in results)
        assert s.snapshots.extractions == 1
        root = results[0][0]
        assert os.readlink(root / "bin" / "sh") == "busybox"
        assert (root / "etc" / "passwd").read_text().startswith("root:x:0:0:")
        # a second store on the same root (another process) finds the snapshot
        s2 = LocalImageStore(tmp_path)
        assert await s2.unpack(await s2.get("busybox")) == results[0]
        assert s2.snapshots.extractions == 0

    asyncio.run(run())


def test_get_by_id_prefix_digest_and_tag(tmp_path):
    async def run():
        s = LocalImageStore(tmp_path)
        img = await s.get("busybox")
        assert (await s.get(img.id)).id == img.id
        assert (await s.get(img.id.removeprefix("sha256:")[:12])).id == img.id
        assert (await s.get(f"busybox@{img.digest}")).id == img.id
        assert await s.get("nothere:v1") is None
        await s.tag("busybox", "localhost:5000/team/bb:v1")
        got = await s.get("localhost:5000/team/bb:v1")
        assert got.id == img.id and set(got.repo_tags) == {BUSYBOX_IMAGE, "localhost:5000/team/bb:v1"}
        assert len(await s.list()) == 1

    asyncio.run(run())


def test_rmi_refuses_image_in_use(tmp_path):
    users = {}

    async def run():
        s = LocalImageStore(tmp_path, in_use=lambda image_id: users.get(image_id))
        img = await s.get("busybox")
        await s.tag("busybox", "other:v1")
        users[img.id] = "c0ffee"
        r = await s.remove("other:v1")  # other names remain: untag only
        assert r.untagged == ["docker.io/library/other:v1"] and not r.deleted
        with pytest.raises(ImageInUse) as e:
            await s.remove("busybox")
        assert "container c0ffee is using its referenced image" in str(e.value)
        users.clear()
        r = await s.remove("busybox")
        assert r.deleted == [img.id]
        assert await s.get(img.id) is None
        assert [p for p in (tmp_path / "blobs" / "sha256").iterdir()] == []
        with pytest.raises(ImageNotFound):
            await s.remove("busybox:nope")

    asyncio.run(run())


def test_gc_and_prune(tmp_path):
    async def run():
        s = LocalImageStore(tmp_path)
        img = await s.get("busybox")
        await s.unpack(img)
        stray = s.content.write_nowait(b"unreferenced")
        r = await s.gc(grace=None)
        assert r.blobs_deleted == 1 and not s.content.has(stray)
        assert s.content.has(img.digest)
        await s.tag("busybox", "keep:v1")
        r = await s.prune(all=True, grace=None)
        assert r.images_deleted == [img.id] and r.snapshots_deleted == 1
        assert await s.list() == []

    asyncio.run(run())


def test_save_load_roundtrip_both_formats(tmp_path):
    from kubelite.images import archive

    async def run():
        s = LocalImageStore(tmp_path / "a")
        img = await s.get("busybox")
        await s.tag("busybox", "localhost:5000/bb:v1")
        for fmt in ("oci", "docker"):
            out = tmp_path / f"bb-{fmt}.tar"
            await archive.save(s, ["localhost:5000/bb:v1"], out, format=fmt)
            other = LocalImageStore(tmp_path / f"b-{fmt}", builtins=False)
            result = await archive.load(other, out)
            assert result.names == ["localhost:5000/bb:v1"]
            got = await other.get("localhost:5000/bb:v1")
            assert (got.id, got.digest) == (img.id, img.digest)
            assert await other.get("busybox") is None  # only the saved name travels

    asyncio.run(run())


def test_overlay_usage_from_mountinfo(tmp_path):
    from kubelite.images.inuse import overlay_lowerdirs

    info = tmp_path / "mountinfo"
    info.write_text(
        "36 25 0:32 / /run/c1/rootfs rw,relatime shared:1 - overlay overlay "
        "rw,lowerdir=/var/lib/kubelite/images/snapshots/aaa:/var/lib/kubelite/images/snapshots/bbb,"
        "upperdir=/u,workdir=/w\n"
        "37 25 0:33 / /proc rw - proc proc rw\n")
    assert overlay_lowerdirs(str(info)) == [("/run/c1/rootfs", ["/var/lib/kubelite/images/snapshots/aaa",
                                                                 "/var/lib/kubelite/images/snapshots/bbb"])]
