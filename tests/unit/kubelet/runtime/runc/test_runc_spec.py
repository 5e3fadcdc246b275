import pytest

from kubelite.kubelet.runtime.interface import (
    ContainerConfig,
    LinuxContainerResources,
    Mount,
    MountPropagation,
    PodSandboxConfig,
    SecurityContext,
)
from kubelite.kubelet.runtime.resolve import User
from kubelite.kubelet.runtime.errors import InvalidArgument
from kubelite.kubelet.runtime.runc import spec
from kubelite.kubelet.runtime.runc.spec import (
    DEFAULT_CAPABILITIES,
    Host,
    PodPaths,
    ProcessInputs,
    capabilities_for,
    capabilities_from_mask,
)

ALL = capabilities_from_mask(0x1FFFEFFFFFF)  # this machine: everything but CAP_SYS_RESOURCE
HOST = Host(capabilities=ALL, oom_score_adj_floor=0, has_memsw=True)
PATHS = PodPaths(hostname="/s/hostname", hosts="/s/hosts", resolv_conf="/s/resolv.conf", shm="/s/shm")


def ns(s):
    return {n["type"]: n.get("path") for n in s["linux"]["namespaces"]}


def test_capability_mask():
    assert "CAP_SYS_RESOURCE" not in ALL and "CAP_SYS_ADMIN" in ALL and len(ALL) == 40


@pytest.mark.parametrize(
    "sec,want",
    [
        (SecurityContext(), sorted(DEFAULT_CAPABILITIES)),
        (SecurityContext(capabilities_drop=["ALL"], capabilities_add=["NET_BIND_SERVICE"]), ["CAP_NET_BIND_SERVICE"]),
        (SecurityContext(capabilities_add=["net_admin"], capabilities_drop=["CAP_KILL"]),
         sorted(set(DEFAULT_CAPABILITIES) - {"CAP_KILL"} | {"CAP_NET_ADMIN"})),
        (SecurityContext(capabilities_add=["SYS_RESOURCE"]), sorted(DEFAULT_CAPABILITIES)),  # not ours to give
    ],
    ids=["default", "drop-all-add-one", "add-drop", "unavailable"],
)
def test_capabilities_for(sec, want):
    assert capabilities_for(sec, ALL) == want


def test_privileged_gets_every_available_cap():
    assert capabilities_for(SecurityContext(privileged=True), ALL) == sorted(ALL)


def test_sandbox_spec_namespaces_and_limits():
    cfg = PodSandboxConfig(name="web-0", namespace="ns", uid="u", sysctls={"net.core.somaxconn": "1024"})
    s = spec.sandbox_spec(sandbox_id="sb", config=cfg, rootfs="/pause", netns="/var/run/netns/cni-sb",
                          cgroups_path="/klt/besteffort/podu/sb", host=HOST, paths=PATHS)
    assert ns(s) == {"pid": None, "ipc": None, "uts": None, "mount": None, "network": "/var/run/netns/cni-sb"}
    assert s["hostname"] == "web-0" and s["root"] == {"path": "/pause", "readonly": True}
    assert s["process"]["args"] == ["/pause", "-P"] and s["process"]["oomScoreAdj"] == 0  # -998 clamped (M2)
    assert "rlimits" not in s["process"]
    assert s["linux"]["sysctl"]["net.core.somaxconn"] == "1024"
    assert s["linux"]["sysctl"]["net.ipv4.ip_unprivileged_port_start"] == "0"
    shm = next(m for m in s["mounts"] if m["destination"] == "/dev/shm")
    assert shm["source"] == "/s/shm" and "ro" in shm["options"]


def test_sandbox_spec_host_namespaces():
    cfg = PodSandboxConfig(name="h", namespace="ns", uid="u", host_network=True, host_pid=True, host_ipc=True)
    s = spec.sandbox_spec(sandbox_id="sb", config=cfg, rootfs="/pause", netns="", cgroups_path="/x",
                          host=Host(ALL, node_netns="/run/netns/node1"), paths=PATHS)
    assert ns(s) == {"mount": None, "network": "/run/netns/node1"}
    assert "hostname" not in s and s["linux"]["sysctl"] == {}
    with pytest.raises(InvalidArgument):
        spec.sandbox_sysctls(PodSandboxConfig(name="h", namespace="n", uid="u", host_network=True,
                                              sysctls={"net.ipv4.ip_forward": "1"}))


def _container(sandbox=None, **kw):
    sandbox = sandbox or PodSandboxConfig(name="web-0", namespace="ns", uid="u")
    cfg = ContainerConfig(name="app", **kw)
    proc = ProcessInputs(args=["sh"], env=["PATH=/bin"], cwd="/", user=User(33, 33, [50]),
                         seccomp={"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []})
    return spec.container_spec(sandbox_id="sb", config=cfg, sandbox=sandbox, rootfs="/c/rootfs", pause_pid=42,
                               cgroups_path="/klt/besteffort/podu/c1", host=HOST, paths=PATHS, process=proc)


def test_container_joins_pause_namespaces():
    s = _container()
    assert ns(s) == {"pid": None, "ipc": "/proc/42/ns/ipc", "uts": "/proc/42/ns/uts", "mount": None,
                     "network": "/proc/42/ns/net"}
    shared = _container(PodSandboxConfig(name="p", namespace="n", uid="u", share_process_namespace=True))
    assert ns(shared)["pid"] == "/proc/42/ns/pid"
    assert "hostname" not in s
    assert s["process"]["user"] == {"uid": 33, "gid": 33, "additionalGids": [50]}
    assert s["process"]["noNewPrivileges"] is False
    assert s["linux"]["maskedPaths"] == spec.DEFAULT_MASKED_PATHS and "seccomp" in s["linux"]


def test_container_resources_and_oom_clamp():
    s = _container(resources=LinuxContainerResources(cpu_shares=512, cpu_quota=50000, cpu_period=100000,
                                                     memory_limit_in_bytes=64 << 20, pids_limit=100,
                                                     oom_score_adj=-997))
    r = s["linux"]["resources"]
    assert r["cpu"] == {"shares": 512, "quota": 50000, "period": 100000}
    assert r["memory"] == {"limit": 64 << 20, "swap": 64 << 20} and r["pids"] == {"limit": 100}
    assert r["devices"][0] == {"allow": False, "access": "rwm"}
    assert s["process"]["oomScoreAdj"] == 0


def test_container_mounts_order_propagation_and_overrides():
    s = _container(mounts=[
        Mount("/data/sub", "/h/sub"),
        Mount("/data", "/h/data", readonly=True, propagation=MountPropagation.HOST_TO_CONTAINER),
        Mount("/etc/hosts", "/kubelet/etc-hosts"),
    ], termination_message_path="/dev/termination-log")
    dests = [m["destination"] for m in s["mounts"]]
    assert dests.index("/data") < dests.index("/data/sub")
    assert dests.count("/etc/hosts") == 1
    hosts = next(m for m in s["mounts"] if m["destination"] == "/etc/hosts")
    assert hosts["source"] == "/kubelet/etc-hosts"
    data = next(m for m in s["mounts"] if m["destination"] == "/data")
    assert data["options"] == ["rbind", "rslave", "ro"] and s["linux"]["rootfsPropagation"] == "rslave"
    assert "/dev/termination-log" not in dests  # no host file given


def test_privileged_and_readonly_rootfs():
    s = _container(security=SecurityContext(privileged=True, readonly_rootfs=True))
    assert "seccomp" not in s["linux"] and "maskedPaths" not in s["linux"]
    assert s["root"]["readonly"] is True
    sysfs = next(m for m in s["mounts"] if m["destination"] == "/sys")
    assert "ro" not in sysfs["options"]
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    etc = next(m for m in s["mounts"] if m["destination"] == "/etc/resolv.conf")
    assert "ro" in etc["options"]
