"""Layer extraction (whiteouts, opaque dirs, escapes, symlinked parents, hard links) and upper → layer."""

import gzip
import io
import os
import stat
import tarfile

import pytest

from kubelite.images.errors import DigestMismatch, LayerError
from kubelite.images.layers import LayerWriter, apply_layer, write_upper
from kubelite.images.layers.apply import OVERLAY_OPAQUE_XATTR

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mknod, trusted.* xattrs, chown)")]


def make_tar(entries, *, compress=True) -> bytes:
    """entries: (name, kind, extra) with kind in file/dir/sym/link; extra = data or link target."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            name, kind = e[0], e[1]
            extra = e[2] if len(e) > 2 else b""
            info = tarfile.TarInfo(name)
            info.mtime = 1000
            if kind == "file":
                info.size = len(extra)
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(extra))
                continue
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, extra
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, extra
            tf.addfile(info)
    data = buf.getvalue()
    return gzip.compress(data, mtime=0) if compress else data


def merged(layers) -> dict[str, str]:
    """What overlayfs would show for layer dirs (lowest first): path -> kind or file content."""
    view: dict[str, str] = {}
    for layer in layers:
        for dirpath, dirnames, filenames in os.walk(layer):
            rel = os.path.relpath(dirpath, layer)
            rel = "" if rel == "." else rel
            if rel and os.getxattr(dirpath, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y" \
                    if _has_xattr(dirpath) else False:
                for k in [k for k in view if k.startswith(rel + "/")]:
                    del view[k]
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                key = os.path.join(rel, n) if rel else n
                st = os.lstat(p)
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    view.pop(key, None)
                    for k in [k for k in view if k.startswith(key + "/")]:
                        del view[k]
                elif stat.S_ISDIR(st.st_mode):
                    if key in view and view[key] != "dir":
                        for k in [k for k in view if k.startswith(key + "/")]:
                            del view[k]
                    view[key] = "dir"
                elif stat.S_ISLNK(st.st_mode):
                    view[key] = "-> " + os.readlink(p)
                    for k in [k for k in view if k.startswith(key + "/")]:
                        del view[k]
                else:
                    with open(p, "rb") as f:
                        view[key] = f.read().decode()
                    for k in [k for k in view if k.startswith(key + "/")]:
                        del view[k]
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return view


def _has_xattr(p):
    try:
        return OVERLAY_OPAQUE_XATTR in os.listxattr(p, follow_symlinks=False)
    except OSError:
        return False


def apply(tmp_path, name, data, lowers=()):
    dest = tmp_path / name
    apply_layer(io.BytesIO(data), dest, list(lowers))
    return dest


def test_whiteout_and_opaque(tmp_path):
    l0 = apply(tmp_path, "l0", make_tar([
        ("bin", "dir"), ("bin/ls", "file", b"ls"), ("bin/cat", "file", b"cat"),
        ("tmp", "dir"), ("tmp/a", "file", b"a"), ("tmp/sub", "dir"), ("tmp/sub/b", "file", b"b"),
        ("etc", "dir"), ("etc/motd", "file", b"old"),
    ]))
    # opaque marker listed *after* an entry of the same layer: that entry must survive
    l1 = apply(tmp_path, "l1", make_tar([
        ("bin/.wh.ls", "file"), ("tmp/new", "file", b"new"), ("tmp/.wh..wh..opq", "file"),
        ("etc/motd", "file", b"new"),
    ]), [l0])
    st = os.lstat(l1 / "bin" / "ls")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(l1 / "tmp", OVERLAY_OPAQUE_XATTR) == b"y"
    assert merged([l0, l1]) == {
        "bin": "dir", "bin/cat": "cat", "tmp": "dir", "tmp/new": "new", "etc": "dir", "etc/motd": "new",
    }


def test_whiteout_does_not_remove_same_layer_entry(tmp_path):
    l0 = apply(tmp_path, "l0", make_tar([("a", "file", b"old")]))
    l1 = apply(tmp_path, "l1", make_tar([("a", "file", b"new"), (".wh.a", "file")]), [l0])
    assert merged([l0, l1]) == {"a": "new"}


def test_dir_replacing_whiteout_is_opaque(tmp_path):
    l0 = apply(tmp_path, "l0", make_tar([("d", "dir"), ("d/old", "file", b"o")]))
    l1 = apply(tmp_path, "l1", make_tar([(".wh.d", "file"), ("d", "dir"), ("d/new", "file", b"n")]), [l0])
    assert merged([l0, l1]) == {"d": "dir", "d/new": "n"}


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "./../../../etc/evil"])
def test_rejects_escapes(tmp_path, name):
    with pytest.raises(LayerError):
        apply(tmp_path, "l", make_tar([(name, "file", b"x")]))
    assert not (tmp_path / "evil").exists()


def test_absolute_names_stay_inside(tmp_path):
    l0 = apply(tmp_path, "l0", make_tar([("/abs", "file", b"x")]))
    assert (l0 / "abs").read_bytes() == b"x"


def test_symlink_parent_is_resolved_inside_root(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    l0 = apply(tmp_path, "l0", make_tar([("etc", "dir"), ("a", "sym", str(outside)), ("rel", "sym", "../../../..")]))
    l1 = apply(tmp_path, "l1", make_tar([("a/passwd", "file", b"pw"), ("rel/x", "file", b"x")]), [l0])
    assert list(outside.iterdir()) == []
    assert (l1 / str(outside).lstrip("/") / "passwd").read_bytes() == b"pw"
    assert (l1 / "x").read_bytes() == b"x"


def test_symlink_planted_in_same_layer(tmp_path):
    l0 = apply(tmp_path, "l0", make_tar([("usr", "dir"), ("usr/bin", "dir"), ("bin", "sym", "usr/bin"),
                                          ("bin/sh", "file", b"sh"), ("up", "sym", "/etc"), ("up/shadow", "file", b"s")]))
    assert (l0 / "usr/bin/sh").read_bytes() == b"sh"
    assert (l0 / "etc/shadow").read_bytes() == b"s"


def test_parent_created_with_lower_attributes(tmp_path):
    l0 = apply(tmp_path, "l0", make_tar([("opt", "dir")]))
    os.chmod(l0 / "opt", 0o711)
    os.chown(l0 / "opt", 7, 8)
    l1 = apply(tmp_path, "l1", make_tar([("opt/f", "file", b"f")]), [l0])
    st = os.stat(l1 / "opt")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o711, 7, 8)


def test_hardlinks(tmp_path):
    l0 = apply(tmp_path, "l0", make_tar([("a", "file", b"data"), ("b", "link", "a")]))
    assert os.stat(l0 / "a").st_ino == os.stat(l0 / "b").st_ino
    l1 = apply(tmp_path, "l1", make_tar([("c", "link", "a")]), [l0])
    assert (l1 / "c").read_bytes() == b"data"
    with pytest.raises(LayerError):
        apply(tmp_path, "l2", make_tar([("d", "link", "missing")]), [l0])


def test_diff_id_checked(tmp_path):
    data = make_tar([("a", "file", b"x")])
    with pytest.raises(DigestMismatch):
        apply_layer(io.BytesIO(data), tmp_path / "l", [], expected_diff_id="sha256:" + "0" * 64)
    r = apply_layer(io.BytesIO(data), tmp_path / "l2", [])
    import hashlib
    assert r.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest()


def test_plain_tar_and_garbage(tmp_path):
    apply(tmp_path, "plain", make_tar([("a", "file", b"x")], compress=False))
    with pytest.raises(LayerError):
        apply(tmp_path, "bad", gzip.compress(b"not a tar" * 100))


def test_upper_to_layer_roundtrip(tmp_path):
    """A hand-made overlay upper (whiteout, opaque dir, new file) → layer → applied gives the same view."""
    l0 = apply(tmp_path, "l0", make_tar([
        ("etc", "dir"), ("etc/keep", "file", b"k"), ("etc/gone", "file", b"g"),
        ("var", "dir"), ("var/old", "file", b"o"), ("bin", "dir"), ("bin/x", "file", b"x"),
    ]))
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    os.mknod(upper / "etc" / "gone", stat.S_IFCHR, os.makedev(0, 0))
    (upper / "etc" / "added").write_text("added")
    (upper / "var").mkdir()
    os.setxattr(upper / "var", OVERLAY_OPAQUE_XATTR, b"y")
    os.setxattr(upper / "etc", "trusted.overlay.origin", b"junk")
    (upper / "var" / "fresh").write_text("f")
    os.mknod(upper / "bin", stat.S_IFCHR, os.makedev(0, 0))
    out = io.BytesIO()
    w = LayerWriter(out)
    write_upper(w, upper)
    digests = w.close()
    names = tarfile.open(fileobj=io.BytesIO(gzip.decompress(out.getvalue()))).getnames()
    assert names == [".wh.bin", "etc", "etc/.wh.gone", "etc/added", "var", "var/.wh..wh..opq", "var/fresh"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(out.getvalue()))) as tf:
        assert not any(k.startswith("SCHILY.xattr.trusted.overlay") for m in tf for k in m.pax_headers)
    l1 = apply(tmp_path, "l1", out.getvalue(), [l0])
    assert merged([l0, l1]) == {"etc": "dir", "etc/keep": "k", "etc/added": "added", "var": "dir", "var/fresh": "f"}
    assert digests.digest.startswith("sha256:") and digests.diff_id != digests.digest


def test_writer_is_reproducible(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "f").write_text("same")
    outs = []
    for _ in range(2):
        out = io.BytesIO()
        w = LayerWriter(out, mtime=0)
        write_upper(w, tmp_path / "t")
        outs.append((w.close(), out.getvalue()))
    assert outs[0][1] == outs[1][1] and outs[0][0] == outs[1][0]


def test_xattrs_owners_and_hardlinks_roundtrip(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "bin").write_bytes(b"binary")
    os.setxattr(src / "bin", "user.cap", b"\x01\x00\xff\xfe")
    os.chown(src / "bin", 1234, 5678)
    os.link(src / "bin", src / "bin-link")
    os.symlink("bin", src / "sym")
    out = io.BytesIO()
    w = LayerWriter(out)
    write_upper(w, src)
    w.close()
    dest = apply(tmp_path, "dest", out.getvalue())
    assert os.getxattr(dest / "bin", "user.cap") == b"\x01\x00\xff\xfe"
    st = os.stat(dest / "bin")
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    assert st.st_ino == os.stat(dest / "bin-link").st_ino
    assert os.readlink(dest / "sym") == "bin"


def test_forged_overlay_xattrs_are_dropped(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("d")
        info.type = tarfile.DIRTYPE
        info.pax_headers = {"SCHILY.xattr.trusted.overlay.opaque": "y"}
        tf.addfile(info)
    l0 = apply(tmp_path, "l0", make_tar([("d", "dir"), ("d/keep", "file", b"k")]))
    l1 = apply(tmp_path, "l1", buf.getvalue(), [l0])
    assert merged([l0, l1]) == {"d": "dir", "d/keep": "k"}
