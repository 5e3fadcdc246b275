import pytest

from kubelite.images.errors import InvalidReference
from kubelite.images.reference import familiar, normalize, parse_reference

H = "a" * 64


@pytest.mark.parametrize("ref,want", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("nginx", "docker.io/library/nginx:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("user/app", "docker.io/user/app:latest"),
    ("user/app:Tag_1.0", "docker.io/user/app:Tag_1.0"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/library/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/user/app:v1", "docker.io/user/app:v1"),
    ("localhost/app", "localhost/app:latest"),
    ("localhost:5000/app:v1", "localhost:5000/app:v1"),
    ("127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:latest"),
    ("[::1]:5000/app", "[::1]:5000/app:latest"),
    ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
    ("Registry/app", "Registry/app:latest"),  # an upper-case first component is a host
    ("host:5000", "docker.io/library/host:5000"),  # no slash: name:tag on Docker Hub
    ("quay.io/org/app@sha256:" + H, "quay.io/org/app@sha256:" + H),
    ("app:v2@sha256:" + H, "docker.io/library/app:v2@sha256:" + H),
    ("app@sha512:" + "b" * 128, "docker.io/library/app@sha512:" + "b" * 128),
    ("kubelite.local/pause:3.10", "kubelite.local/pause:3.10"),
    ("a__b/c-d.e", "docker.io/a__b/c-d.e:latest"),
    ("a/b---c", "docker.io/a/b---c:latest"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_normalize(ref, want):
    assert normalize(ref) == want


# Docker's messages (`docker pull X`), from distribution/reference and go-digest.
@pytest.mark.parametrize("ref,message", [
    ("", "invalid reference format"),
    ("Nginx", "invalid reference format: repository name (library/Nginx) must be lowercase"),
    ("User/App:v1", "invalid reference format: repository name (App) must be lowercase"),  # User: a host
    ("user/App", "invalid reference format: repository name (user/App) must be lowercase"),
    ("localhost:5000/App", "invalid reference format: repository name (App) must be lowercase"),
    ("a" * 64, f"invalid repository name ({'a' * 64}), cannot specify 64-byte hexadecimal strings"),
    ("app:", "invalid reference format"),
    (":tag", "invalid reference format"),
    ("app@sha256:abc", "invalid reference format"),
    ("a//b", "invalid reference format"),
    ("-a", "invalid reference format"),
    ("a_", "invalid reference format"),
    ("app:tag with space", "invalid reference format"),
    ("app:" + "t" * 129, "invalid reference format"),
    ("app@md5:" + H, "unsupported digest algorithm"),
    ("app@sha256:" + "a" * 40, "invalid checksum digest length"),
    ("app@sha256:" + "A" * 64, "invalid checksum digest format"),
    ("a/" + "b" * 250, "repository name must not be more than 255 characters"),
], ids=lambda v: v[:30] if isinstance(v, str) else None)
def test_invalid_with_dockers_message(ref, message):
    with pytest.raises(InvalidReference) as e:
        parse_reference(ref)
    assert str(e.value) == message


def test_familiar():
    assert familiar("docker.io/library/busybox:latest") == "busybox:latest"
    assert familiar("docker.io/user/app:v1") == "user/app:v1"
    assert familiar("docker.io/library/a/b:v1") == "library/a/b:v1"
    assert familiar("localhost:5000/app:v1") == "localhost:5000/app:v1"


def test_parts():
    r = parse_reference("localhost:5000/team/app:v1")
    assert (r.domain, r.path, r.tag, r.digest, r.object) == ("localhost:5000", "team/app", "v1", "", "v1")
    assert str(r.with_tag("v2")) == "localhost:5000/team/app:v2"
    assert parse_reference("busybox", default_tag=False).tag == ""
    d = parse_reference("app:v1@sha256:" + H)
    assert (d.tag, d.object) == ("v1", "sha256:" + H)
