"""The registries file (k3s registries.yaml and containerd hosts.toml shapes) and RegistryHosts."""

import os

import pytest

from kubelite.images import oci
from kubelite.images.distribution import RegistryHosts
from kubelite.images.distribution.registries import (
    RegistriesError,
    RegistriesFile,
    parse_hosts_dir,
    parse_registries,
    rewrite_repository,
)

DOC = """
mirrors:
  docker.io:
    endpoint:
      - "http://127.0.0.1:5000"
      - "mirror.example.com/v2"
    rewrite:
      "^library/(.*)": "hub/$1"
  "*":
    endpoint: ["https://all.example.com"]
configs:
  "127.0.0.1:5000":
    auth: {username: u, password: p}
  mirror.example.com:
    auth: {auth: dTI6cDI=}
    insecure: true
  secure.example.com:
    tls: {insecure_skip_verify: true}
"""


def test_parse_registries_yaml():
    cfg = parse_registries(DOC)
    hub = cfg.mirrors["docker.io"]
    assert hub.endpoints == ("http://127.0.0.1:5000", "https://mirror.example.com")
    assert rewrite_repository(hub, "library/nginx") == "hub/nginx"
    assert rewrite_repository(hub, "user/app") == "user/app"
    assert cfg.configs["127.0.0.1:5000"].credentials == ("u", "p")
    assert cfg.configs["mirror.example.com"].credentials == ("u2", "p2")
    assert cfg.configs["secure.example.com"].tls.insecure_skip_verify
    assert cfg.mirror_for("quay.io").endpoints == ("https://all.example.com",)


def test_registry_hosts_endpoints_in_order():
    hosts = RegistryHosts(registries=parse_registries(DOC))
    eps = hosts.pull_endpoints("docker.io", "library/nginx")
    assert [(e.url, e.repository, e.mirror) for e in eps] == [
        ("http://127.0.0.1:5000", "hub/nginx", True),
        ("http://mirror.example.com", "hub/nginx", True),  # insecure: plain HTTP
        ("https://registry-1.docker.io", "library/nginx", False),
    ]
    assert eps[0].host_config.credentials == ("u", "p")
    assert hosts.has_mirror("docker.io") and hosts.has_mirror("quay.io")
    assert [e.url for e in hosts.pull_endpoints("quay.io", "a/b")] == ["https://all.example.com", "https://quay.io"]
    assert hosts.endpoint("mirror.example.com") == "http://mirror.example.com"
    assert hosts.endpoint("127.0.0.1:5001") == "http://127.0.0.1:5001"  # loopback: plain HTTP
    only = RegistryHosts(registries=parse_registries(
        "mirrors: {docker.io: {endpoint: [http://m], disable_default_endpoint: true}}"))
    assert [e.url for e in only.pull_endpoints("docker.io", "library/x")] == ["http://m"]


@pytest.mark.parametrize("doc,message", [
    ("mirrors: [a]", "mirrors: must be a mapping"),
    ("mirrors: {docker.io: {endpoint: [ftp://x]}}", "is not an http(s) URL"),
    ("mirrors: {docker.io: {endpoint: 5}}", "endpoint: must be a list of URLs"),
    ("mirrors: {docker.io: {rewrite: {'(': x}}}", "invalid regular expression"),
    ("configs: {h: {insecure: 'yes'}}", "configs['h'].insecure: must be true or false"),
    ("configs: {h: {auth: {auth: '%%%'}}}", "not base64"),
    ("mirror: {}", "unknown field(s) mirror"),
    ("mirrors: {a: [}", "invalid YAML"),
])
def test_parse_errors_name_the_field(doc, message):
    with pytest.raises(RegistriesError) as e:
        parse_registries(doc, "r.yaml")
    assert message in str(e.value) and str(e.value).startswith("r.yaml")


def test_hosts_toml_directory(tmp_path):
    (tmp_path / "docker.io").mkdir()
    (tmp_path / "docker.io" / "hosts.toml").write_text('''
server = "https://registry-1.docker.io"
[host."http://127.0.0.1:5000"]
  capabilities = ["pull", "resolve"]
[host."https://m.example.com"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
''')
    (tmp_path / "127.0.0.1_5001_").mkdir()
    (tmp_path / "127.0.0.1_5001_" / "hosts.toml").write_text('[host."http://127.0.0.1:6000"]\n')
    cfg = parse_hosts_dir(tmp_path)
    assert cfg.mirrors["docker.io"].endpoints == ("http://127.0.0.1:5000", "https://m.example.com")
    assert cfg.configs["m.example.com"].tls.insecure_skip_verify
    assert cfg.mirrors["127.0.0.1:5001"].endpoints == ("http://127.0.0.1:6000",)
    hosts = RegistryHosts.from_file(tmp_path)
    assert [e.url for e in hosts.pull_endpoints("docker.io", "library/a")][0] == "http://127.0.0.1:5000"


def test_registries_file_reload_if_changed(tmp_path):
    f = tmp_path / "registries.yaml"
    rf = RegistriesFile(f, check_interval=3600)
    assert rf.current().mirrors == {} and rf.generation == 1  # missing: no mirrors
    f.write_text("mirrors: {docker.io: {endpoint: ['http://a']}}\n")
    assert rf.current().mirrors == {}  # not checked yet (interval)
    assert rf.reload_if_changed() and rf.current().mirrors["docker.io"].endpoints == ("http://a",)
    assert not rf.reload_if_changed()
    f.write_text("mirrors: {docker.io: {endpoint: [ftp://bad]}}\n")
    assert not rf.reload_if_changed()
    assert rf.current().mirrors["docker.io"].endpoints == ("http://a",) and "ftp://bad" in rf.error
    st = f.stat()
    f.write_text("mirrors: {docker.io: {endpoint: ['http://b']}}\n")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: the content hash still tells
    assert rf.reload_if_changed() and rf.current().mirrors["docker.io"].endpoints == ("http://b",)
    assert rf.error == ""


@pytest.mark.parametrize("text,want", [
    ("linux/amd64", {"os": "linux", "architecture": "amd64"}),
    ("linux/arm64", {"os": "linux", "architecture": "arm64", "variant": "v8"}),
    ("linux/arm/v7", {"os": "linux", "architecture": "arm", "variant": "v7"}),
    ("arm64", {"os": "linux", "architecture": "arm64", "variant": "v8"}),
    ("linux/x86_64", {"os": "linux", "architecture": "amd64"}),
])
def test_parse_platform(text, want):
    assert oci.parse_platform(text) == want


def test_select_platform():
    index = {"manifests": [
        {"digest": "a", "platform": {"os": "linux", "architecture": "arm64"}},
        {"digest": "b", "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "c", "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
    ]}
    assert oci.select_platform(index)["digest"] == "b"
    assert oci.select_platform(index, oci.parse_platform("linux/arm64/v8"))["digest"] == "a"
    assert oci.select_platform(index, oci.parse_platform("linux/s390x")) is None
    assert oci.format_platform(oci.parse_platform("linux/arm64")) == "linux/arm64/v8"
