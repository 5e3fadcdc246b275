"""Rootfs tars → reproducible layers and diff layers; recipes and the mmdebstrap command line."""

import gzip
import hashlib
import io
import tarfile

from kubelite.images.bootstrap import RECIPES, recipe_for, with_dependencies
from kubelite.images.bootstrap.debian import apt_sources, mmdebstrap_argv
from kubelite.images.bootstrap.layer import index_layer_blob, parse_dpkg_status, write_rootfs_layer
from kubelite.images.bootstrap.recipes import SOURCE_DATE_EPOCH as SDE

NOW = SDE + 10_000_000  # files that maintainer scripts wrote "now"


def rootfs(path, entries):
    """entries: (name, kind, data_or_target, mtime) with kind file|dir|sym|link|chr."""
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tf:
        for name, kind, payload, mtime in entries:
            info = tarfile.TarInfo("./" + name)
            info.mtime, info.uname, info.gname = mtime, "root", "root"
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(info)
            elif kind == "file":
                info.size, info.mode = len(payload), 0o644
                tf.addfile(info, io.BytesIO(payload))
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, payload
                tf.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, "./" + payload
                tf.addfile(info)
            elif kind == "chr":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
                tf.addfile(info)


BASE = [("", "dir", None, NOW), ("dev", "dir", None, NOW), ("dev/null", "chr", None, NOW),
        ("etc", "dir", None, NOW), ("etc/hostname", "file", b"builder\n", NOW),
        ("etc/passwd", "file", b"root:x:0:0::/root:/bin/sh\n", NOW), ("usr", "dir", None, 1000),
        ("usr/bin", "dir", None, 1000), ("usr/bin/perl", "file", b"PERL", 1000),
        ("usr/bin/perl5", "link", "usr/bin/perl", 1000), ("usr/share", "dir", None, 1000),
        ("usr/share/doc", "dir", None, 1000), ("usr/share/doc/a", "file", b"doc", 1000),
        ("var", "dir", None, NOW)]


def layer(tmp_path, name, entries, base=None):
    rootfs(tmp_path / f"{name}.tar", entries)
    out = io.BytesIO()
    diff_id, digest, size, n, wh = write_rootfs_layer(tmp_path / f"{name}.tar", out, sde=SDE, base=base)
    blob = out.getvalue()
    assert digest == "sha256:" + hashlib.sha256(blob).hexdigest() and size == len(blob)
    assert diff_id == "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest()
    return blob, digest


def members(blob):
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tf:
        return [(m.name, m.type, m.mtime, m.linkname, m.uname) for m in tf.getmembers()]


def test_full_layer_is_clean_sorted_and_reproducible(tmp_path):
    blob, digest = layer(tmp_path, "a", BASE)
    got = members(blob)
    names = [m[0] for m in got]
    assert names == ["dev", "etc", "etc/passwd", "usr", "usr/bin", "usr/bin/perl", "usr/bin/perl5", "usr/share",
                     "usr/share/doc", "usr/share/doc/a", "var"]
    assert all(m[2] <= SDE for m in got) and all(m[4] == "" for m in got)
    assert got[names.index("usr/bin/perl5")][1:4:2] == (tarfile.LNKTYPE, "usr/bin/perl")
    assert gzip.decompress(blob)[:0] == b"" and blob[4:8] == b"\0\0\0\0"  # gzip mtime 0
    assert layer(tmp_path, "b", BASE)[1] == digest


def test_diff_layer_has_changes_and_whiteouts_only(tmp_path):
    base_blob, _ = layer(tmp_path, "base", BASE)
    base = index_layer_blob(lambda: io.BytesIO(base_blob), SDE)
    derived = [e for e in BASE if e[0] not in ("usr/share/doc/a", "usr/share/doc", "usr/bin/perl")]
    derived += [("usr/bin/perl", "file", b"PERL2", 1000), ("usr/bin/python3", "file", b"PY", 2000),
                ("usr/bin/python", "sym", "python3", 2000), ("etc/passwd", "file", b"root:x:0:0::/root:/bin/sh\n",
                                                               NOW + 5)]
    blob, _ = layer(tmp_path, "derived", derived, base)
    names = [m[0] for m in members(blob)]
    # perl changed (and perl5, its hard link, with it); doc dir gone (one whiteout for the subtree)
    assert names == ["usr/bin/perl", "usr/bin/perl5", "usr/bin/python", "usr/bin/python3",
                     "usr/share/.wh.doc"]


def test_hard_link_sorting_before_its_target_carries_the_data(tmp_path):
    entries = [("a", "dir", None, 0), ("a/z", "file", b"DATA", 0), ("a/b", "link", "a/z", 0)]
    blob, _ = layer(tmp_path, "h", entries)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tf:
        b, z = tf.getmember("a/b"), tf.getmember("a/z")
        assert b.isreg() and tf.extractfile(b).read() == b"DATA"
        assert z.islnk() and z.linkname == "a/b"


def test_parse_dpkg_status():
    text = ("Package: python3\nStatus: install ok installed\nVersion: 3.11.2-1+b1\n\n"
            "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
            "Package: nginx\nStatus: install ok installed\nVersion: 1.22.1-9\nDescription: x\n more\n")
    assert parse_dpkg_status(text) == {"nginx": "1.22.1-9", "python3": "3.11.2-1+b1"}


def test_recipes_and_argv(tmp_path):
    py = recipe_for("python:3.11-slim")
    assert [r.name for r in with_dependencies([py, recipe_for("nginx")])] == [
        "docker.io/library/debian:bookworm-slim", "docker.io/library/python:3.11-slim",
        "docker.io/library/nginx:latest"]
    argv = mmdebstrap_argv(py, "/t/rootfs.tar", ["/etc/apt/sources.list.d/debian.sources"])
    assert argv[:3] == ["mmdebstrap", "--variant=minbase", "--format=tar"]
    assert "--dpkgopt=path-exclude=/usr/share/doc/*" in argv
    assert "--include=python3,python3-pip,python3-venv,python-is-python3" in argv
    assert argv[-3:] == ["bookworm", "/t/rootfs.tar", "/etc/apt/sources.list.d/debian.sources"]
    assert RECIPES["docker.io/library/nginx:latest"].config["ExposedPorts"] == {"80/tcp": {}}
    assert recipe_for("busybox").kind == "busybox" and recipe_for("alpine") is None
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "b.sources").write_text("Types: deb\n")
    (d / "a.list").write_text("deb http://x bookworm main\n")
    assert apt_sources(d, tmp_path / "none") == [str(d / "b.sources")]
    (d / "b.sources").unlink()
    assert apt_sources(d, tmp_path / "none") == [str(d / "a.list")]
