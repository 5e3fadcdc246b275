"""Volume contents (configMap, secret, downwardAPI, projected), the atomic writer, hostPath checks,
and the volume manager over plain directories (no mounts)."""

import asyncio
import base64
import os
import socket

import pytest

from kubelite.kubelet.env import PodRuntimeInfo
from kubelite.kubelet.objects import FakeObjectSource
from kubelite.kubelet.serviceaccount import MOUNT_PATH, with_service_account_volume
from kubelite.kubelet.testing import FakeTokenSource
from kubelite.kubelet.volumes import atomic_writer, hostpath
from kubelite.kubelet.volumes.atomic_writer import FileProjection
from kubelite.kubelet.volumes.manager import MountError, VolumeManager


def test_atomic_writer_swaps_and_prunes(tmp_path):
    t = tmp_path / "vol"
    assert atomic_writer.write(t, {"a": FileProjection(b"1"), "d/b": FileProjection(b"2", 0o600)})
    assert (t / "a").read_text() == "1" and os.readlink(t / "a") == "..data/a"
    assert (t / "d" / "b").read_text() == "2" and oct((t / "..data" / "d" / "b").stat().st_mode & 0o777) == "0o600"
    first = os.readlink(t / "..data")
    assert not atomic_writer.write(t, {"a": FileProjection(b"1"), "d/b": FileProjection(b"2", 0o600)})
    assert atomic_writer.write(t, {"a": FileProjection(b"new")})
    assert (t / "a").read_text() == "new" and not (t / "d").exists() and not (t / first).exists()
    with pytest.raises(ValueError):
        atomic_writer.write(t, {"../escape": FileProjection(b"x")})


def test_hostpath_checks(tmp_path):
    hostpath.check(str(tmp_path), "Directory")
    with pytest.raises(hostpath.HostPathError, match=f"hostPath type check failed: {tmp_path}/x is not a directory"):
        hostpath.check(str(tmp_path / "x"), "Directory")
    hostpath.check(str(tmp_path / "made"), "DirectoryOrCreate")
    assert (tmp_path / "made").is_dir()
    hostpath.check(str(tmp_path / "f"), "FileOrCreate")
    hostpath.check(str(tmp_path / "f"), "File")
    with pytest.raises(hostpath.HostPathError, match="is not a socket file"):
        hostpath.check(str(tmp_path / "f"), "Socket")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(tmp_path / "sock"))
    hostpath.check(str(tmp_path / "sock"), "Socket")
    s.close()
    hostpath.check("/nonexistent/whatever", "")


def objects():
    o = FakeObjectSource()
    o.add("configmap", "ns", {"metadata": {"name": "cm"}, "data": {"a.conf": "A", "b.conf": "B"},
                              "binaryData": {"bin": base64.b64encode(b"\x00\x01").decode()}})
    o.add("configmap", "ns", {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "CA"}})
    o.add("secret", "ns", {"metadata": {"name": "s"}, "data": {"pw": base64.b64encode(b"pw").decode()}})
    return o


def pod(volumes, **spec):
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "uid-1", "labels": {"app": "x"},
                         "annotations": {"note": "hi"}},
            "spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "32Mi"}}}], "volumes": volumes,
                     **spec}}


def mount(tmp_path, p, o=None):
    vm = VolumeManager(tmp_path / "pods", o or objects(), FakeTokenSource(), {"cpu": "2", "memory": "1Gi"},
                       tmpfs=False)
    return vm, asyncio.run(vm.mount(p, PodRuntimeInfo([], ["198.18.0.2"])))


def test_configmap_secret_downward_projected(tmp_path):
    p = pod([
        {"name": "cm", "configMap": {"name": "cm", "items": [{"key": "a.conf", "path": "conf/a", "mode": 0o400}]}},
        {"name": "all", "configMap": {"name": "cm"}},
        {"name": "sec", "secret": {"secretName": "s", "defaultMode": 0o440}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory",
                                                 "divisor": "1Mi"}}]}},
        {"name": "empty", "emptyDir": {}},
        {"name": "opt", "configMap": {"name": "absent", "optional": True}},
    ])
    vm, paths = mount(tmp_path, p)
    base = tmp_path / "pods" / "uid-1" / "volumes"
    assert paths["cm"] == str(base / "kubernetes.io~configmap" / "cm")
    assert (base / "kubernetes.io~configmap/cm/conf/a").read_text() == "A"
    assert oct(os.stat(base / "kubernetes.io~configmap/cm/conf/a").st_mode & 0o777) == "0o400"
    assert sorted(os.listdir(base / "kubernetes.io~configmap/all")) == sorted(
        ["..data", "a.conf", "b.conf", "bin", os.readlink(base / "kubernetes.io~configmap/all/..data")])
    assert (base / "kubernetes.io~configmap/all/bin").read_bytes() == b"\x00\x01"
    assert (base / "kubernetes.io~secret/sec/pw").read_text() == "pw"
    assert (base / "kubernetes.io~downward-api/info/labels").read_text() == 'app="x"'
    assert (base / "kubernetes.io~downward-api/info/mem").read_text() == "32"
    assert oct((base / "kubernetes.io~empty-dir/empty").stat().st_mode & 0o777) == "0o777"
    assert [n for n in os.listdir(base / "kubernetes.io~configmap/opt") if not n.startswith("..")] == []
    asyncio.run(vm.unmount("uid-1"))
    assert not (tmp_path / "pods" / "uid-1").exists()


def test_missing_objects_and_keys_fail_each_volume(tmp_path):
    p = pod([{"name": "a", "configMap": {"name": "missing"}},
             {"name": "b", "secret": {"secretName": "s", "items": [{"key": "nokey", "path": "x"}]}},
             {"name": "c", "hostPath": {"path": str(tmp_path / "none"), "type": "Directory"}},
             {"name": "d", "emptyDir": {}}])
    with pytest.raises(MountError) as e:
        mount(tmp_path, p)
    msgs = [f.message for f in e.value.failures]
    assert msgs == ['MountVolume.SetUp failed for volume "a" : configmap "missing" not found',
                    'MountVolume.SetUp failed for volume "b" : secret references non-existent secret key: nokey',
                    f'MountVolume.SetUp failed for volume "c" : hostPath type check failed: {tmp_path}/none is not a '
                    "directory"]


def test_service_account_volume(tmp_path):
    p = pod([], serviceAccountName="builder")
    p["spec"]["securityContext"] = {"runAsUser": 1000}
    eff = with_service_account_volume(p)
    assert eff is not p and eff["spec"]["containers"][0]["volumeMounts"][0]["mountPath"] == MOUNT_PATH
    assert with_service_account_volume(eff) is eff
    p2 = pod([], automountServiceAccountToken=False)
    assert with_service_account_volume(p2) is p2
    tokens = FakeTokenSource()
    vm = VolumeManager(tmp_path / "pods", objects(), tokens, {}, tmpfs=False)
    paths = asyncio.run(vm.mount(eff, PodRuntimeInfo([], [])))
    d = paths["kube-api-access-kubelite"]
    assert open(f"{d}/token").read() == "token-1" and open(f"{d}/ca.crt").read() == "CA"
    assert open(f"{d}/namespace").read() == "ns"
    assert tokens.requests == [("uid-1", "builder", "", 3607)]
    st = os.stat(f"{d}/token")
    assert st.st_uid == 1000 and oct(st.st_mode & 0o777) == "0o600"  # readable by the non-root user only
