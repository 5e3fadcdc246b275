import pytest

from kubelite.images.errors import InvalidReference
from kubelite.images.reference import familiar, normalize, parse_reference

H = "a" * 64


@pytest.mark.parametrize("ref,want", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("user/app", "docker.io/user/app:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/busybox", "docker.io/library/busybox:latest"),
    ("localhost/app", "localhost/app:latest"),
    ("localhost:5000/app:v1", "localhost:5000/app:v1"),
    ("127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:latest"),
    ("Registry/app", "Registry/app:latest"),
    ("quay.io/org/app@sha256:" + H, "quay.io/org/app@sha256:" + H),
    ("app:v2@sha256:" + H, "docker.io/library/app:v2@sha256:" + H),
    ("kubelite.local/pause:3.10", "kubelite.local/pause:3.10"),
    ("a__b/c-d.e", "docker.io/a__b/c-d.e:latest"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_normalize(ref, want):
    assert normalize(ref) == want


@pytest.mark.parametrize("ref", ["", "BusyBox", "a" * 64, "app:", ":tag", "app@sha256:abc", "a//b", "-a",
                                 "app:tag with space", "app@md5:" + H])
def test_invalid(ref):
    with pytest.raises(InvalidReference):
        parse_reference(ref)


def test_familiar():
    assert familiar("docker.io/library/busybox:latest") == "busybox:latest"
    assert familiar("docker.io/user/app:v1") == "user/app:v1"
    assert familiar("localhost:5000/app:v1") == "localhost:5000/app:v1"


def test_parts():
    r = parse_reference("localhost:5000/team/app:v1")
    assert (r.domain, r.path, r.tag, r.digest, r.object) == ("localhost:5000", "team/app", "v1", "", "v1")
    assert str(r.with_tag("v2")) == "localhost:5000/team/app:v2"
    assert parse_reference("busybox", default_tag=False).tag == ""
