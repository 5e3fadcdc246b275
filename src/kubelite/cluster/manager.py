"""Create, list and delete local clusters; stop, start and cut off their nodes (tests, chaos).

    st = await create(CreateOptions(name="dev", nodes=3))
    await stop_node(st, 2, cut_link=True)     # the agent dies and its link goes down
    await start_node(st, 2)                   # link up, agent back with its old identity
    await delete("dev")                       # everything, also after a crash

`create` records each thing in the state file *before* making it, so `delete` can always undo a
half-made cluster; `delete` also finds what is left by name (network namespaces
`kl-<cluster>-*`, veths `kl<hash>n*`, cgroups `/kl-<cluster>-*`), by network namespace
(every process inside one of the cluster's namespaces) and by start time (recorded PIDs).
Nothing is ever killed by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubelite.kubelet.runtime.runc.cgroups import kill_and_remove_tree

from . import netlink
from .layout import BRIDGE, MAX_NODES, Layout, LayoutError, check_name, in_block, pick_slot
from .state import ClusterState, Process, clusters_home, lookup, process_start_time, register, registered, unregister

log = logging.getLogger(__name__)

JOIN_TOKEN_FILE = "join-token"


class ClusterError(Exception):
    """A cluster cannot be created, found or deleted; the message says why."""


@dataclass
class CreateOptions:
    name: str = "kubelite"
    nodes: int = 1
    data_dir: Path | None = None
    write_kubeconfig: Path | None = None
    port: int | None = None
    timeout: float = 90.0
    datastore: str = ""
    controller_options: dict[str, Any] = field(default_factory=dict)
    kubelet: dict[str, Any] = field(default_factory=dict)
    wait_ready: bool = True
    retain: bool = False     # keep what was made when creation fails (to debug it)


# ----- helpers ----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def host_lock():
    Path("/run/kubelite").mkdir(parents=True, exist_ok=True)
    fd = os.open("/run/kubelite/cluster.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def load(name: str) -> ClusterState:
    d = lookup(name)
    if d is None or not (d / "cluster.json").exists():
        raise ClusterError(f'no cluster "{name}" (see `kubelite cluster list`)')
    return ClusterState.load(d / "cluster.json")


def node_dir(st: ClusterState, x: int) -> Path:
    """A node's files; the path names the node's namespace so that `delete` finds its mounts by name."""
    return Path(st.data_dir) / "nodes" / Layout(st.name, st.slot).netns(x)


def _port_free(address: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
            return True
        except OSError:
            return False


def pick_port(address: str, preferred: int = 6443, taken: set[int] = frozenset()) -> int:
    if preferred not in taken and _port_free(address, preferred):
        return preferred
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def spawn(argv: list[str], log_path: Path) -> int:
    """Start a detached process (own session, output to `log_path`); returns its PID."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True, close_fds=True)
    p.returncode = 0  # detached: never waited for here (kept from the ResourceWarning of Popen.__del__)
    return p.pid


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


async def terminate(proc: Process, timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; only if the PID still is the recorded process."""
    if not proc.alive():
        _reap(proc.pid)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while proc.alive() and time.monotonic() < deadline:
        _reap(proc.pid)
        await asyncio.sleep(0.05)
    if proc.alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        while proc.alive():
            _reap(proc.pid)
            await asyncio.sleep(0.02)
    _reap(proc.pid)
    return True


def tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


# ----- create -----------------------------------------------------------------------------------


async def _used_slots() -> tuple[set[str], list[str]]:
    used_ips = await netlink.addresses()
    for ns in netlink.list_netns("kl-"):
        used_ips |= await netlink.addresses(ns)
    used_routes = [r.get("dst", "") for r in await netlink.routes()]
    return used_ips, used_routes


def _taken_slots() -> set[int]:
    taken = set()
    for name in registered():
        with contextlib.suppress(ClusterError, OSError, ValueError, TypeError):
            taken.add(load(name).slot)
    return taken


def _taken_ports(me: str) -> set[int]:
    """API ports of the other registered clusters (their servers may not be listening yet)."""
    taken = set()
    for name in registered():
        if name != me:
            with contextlib.suppress(ClusterError, OSError, ValueError, TypeError):
                taken.add(load(name).port)
    return taken


async def create(opts: CreateOptions) -> ClusterState:
    name = check_name(opts.name)
    if not 1 <= opts.nodes <= MAX_NODES:
        raise ClusterError(f"--nodes must be between 1 and {MAX_NODES}")
    if lookup(name) is not None:
        raise ClusterError(f'cluster "{name}" already exists; delete it first (`kubelite cluster delete --name '
                           f'{name}`)')
    probe = Layout(name)
    leftovers = netlink.list_netns(probe.prefix)
    if leftovers:
        raise ClusterError(f'leftovers of a cluster "{name}" exist ({", ".join(leftovers)}); run `kubelite cluster '
                           f'delete --name {name}` first')
    if os.geteuid() != 0:
        raise ClusterError("a local cluster needs root (network namespaces, the host bridge, runc)")
    data_dir = Path(opts.data_dir or clusters_home() / name).absolute()
    created_dir = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    try:
        return await _build(opts, name, data_dir, created_dir)
    except BaseException:
        if not opts.retain and lookup(name) is not None:
            log.info("creating cluster %s failed: removing what was made", name)
            try:
                await delete(name)
            except Exception:  # noqa: BLE001 - the original error matters more
                log.exception("cleaning up cluster %s failed; run `kubelite cluster delete --name %s`", name, name)
        raise


async def _build(opts: CreateOptions, name: str, data_dir: Path, created_dir: bool) -> ClusterState:
    async with host_lock():
        used_ips, used_routes = await _used_slots()
        try:
            slot = pick_slot(used_ips, used_routes, _taken_slots(), name)
        except LayoutError as e:
            raise ClusterError(str(e)) from None
        lay = Layout(name, slot)
        st = ClusterState(name=name, data_dir=str(data_dir), slot=slot, nodes=opts.nodes,
                          created_data_dir=created_dir, datastore=opts.datastore,
                          controller_options=dict(opts.controller_options), kubelet=dict(opts.kubelet))
        st.save()
        register(name, data_dir)
        try:
            st.port = opts.port or 0
            st.created_bridge = await netlink.ensure_bridge(BRIDGE, lay.host_ip, lay.node_prefixlen)
            st.save()
            for x in range(1, opts.nodes + 1):
                await _make_node_host(st, lay, x)
            st.port = opts.port or pick_port(lay.host_ip, taken=_taken_ports(name))
            st.save()
        except BaseException:
            st.status = "failed"
            st.save()
            raise
    try:
        st.server_url = f"https://{lay.host_ip}:{st.port}"
        st.kubeconfig = str(data_dir / "server" / "admin.kubeconfig")
        st.save()
        argv = [sys.executable, "-m", "kubelite.cluster.supervisor", "--name", name, str(st.path)]
        st.set_process("supervisor", spawn(argv, data_dir / "control-plane.log"))
        st.save()
        await _wait_api(st, opts.timeout)
        token = await _join_token(st)
        for x in range(1, opts.nodes + 1):
            await _write_node_config(st, lay, x, token)
            await start_node(st, x, restore_link=False)
        if opts.write_kubeconfig:
            p = Path(opts.write_kubeconfig)
            p.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(st.kubeconfig, p)
            os.chmod(p, 0o600)
            st.extra_kubeconfig = str(p)
        st.status = "running"
        st.save()
        if opts.wait_ready:
            await wait_nodes_ready(st, [lay.node_name(x) for x in range(1, opts.nodes + 1)], opts.timeout)
    except BaseException:
        st.status = "failed"
        st.save()
        raise
    return st


async def _make_node_host(st: ClusterState, lay: Layout, x: int) -> None:
    ns, veth = lay.netns(x), lay.veth(x)
    st.netns.append(ns)
    st.veths.append(veth)
    st.save()
    await netlink.add_netns(ns)
    await netlink.add_node_link(ns, veth, BRIDGE, lay.node_ip(x), lay.node_prefixlen)
    await netlink.enable_forwarding(ns)
    # node-local processes reach ClusterIPs through the proxy's DNAT: give them a route to start
    # from (on-link, so nothing that is not translated ever leaves the bridge)
    await netlink.route_replace(lay.plan.service_cidr, dev="eth0", scope="link", netns=ns)


async def _wait_api(st: ClusterState, timeout: float) -> None:
    ca = Path(st.data_dir) / "server" / "tls" / "ca.crt"
    sup = st.process("supervisor")
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        if sup is not None and not sup.alive():
            raise ClusterError(f"the control plane exited; its log ({Path(st.data_dir) / 'control-plane.log'}):\n"
                               f"{tail(Path(st.data_dir) / 'control-plane.log')}")
        if ca.exists() and Path(st.kubeconfig).exists():
            try:
                ok = await asyncio.to_thread(_readyz, st.server_url, ca)
                if ok:
                    return
            except OSError as e:
                last = str(e)
        if time.monotonic() > deadline:
            raise ClusterError(f"the control plane did not become ready within {timeout:.0f}s ({last})")
        await asyncio.sleep(0.1)


def _readyz(url: str, ca: Path) -> bool:
    ctx = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(f"{url}/readyz", context=ctx, timeout=2) as r:
        return r.status == 200


def admin_client(st: ClusterState):
    from kubelite.client import Client, load_kubeconfig

    return Client.from_config(load_kubeconfig(st.kubeconfig))


async def _join_token(st: ClusterState) -> str:
    from datetime import timedelta

    from kubelite.bootstrap import tokenapi
    from kubelite.machinery import errors

    path = Path(st.data_dir) / JOIN_TOKEN_FILE
    client = admin_client(st)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                bt = await tokenapi.create_token(client, ttl=timedelta(hours=24),
                                                 description=f"kubelite cluster {st.name}")
                break
            except errors.StatusError as e:  # the kube-system namespace may not be there yet
                if time.monotonic() > deadline:
                    raise ClusterError(f"cannot create a join token: {e}") from None
                await asyncio.sleep(0.2)
    finally:
        await client.close()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(str(bt.token) + "\n")
    return str(bt.token)


async def _write_node_config(st: ClusterState, lay: Layout, x: int, token: str) -> None:
    from kubelite.bootstrap.tokens import ca_cert_hash

    d = node_dir(st, x)
    d.mkdir(parents=True, exist_ok=True)
    ca = (Path(st.data_dir) / "server" / "tls" / "ca.crt").read_bytes()
    kubelet = {"node_status_update_frequency": 2.0, **st.kubelet}
    cfg = {"node_name": lay.node_name(x), "node_ip": lay.node_ip(x), "netns_path": lay.netns_path(x),
           "server": st.server_url, "token_file": str(Path(st.data_dir) / JOIN_TOKEN_FILE),
           "kubeconfig": str(d / "kubelet.kubeconfig"), "data_dir": str(d / "data"), "run_dir": str(d / "run"),
           "log_dir": str(d / "logs"), "image_dir": str(d / "images"), "cgroup_root": lay.cgroup_root(x),
           "netns_prefix": lay.pod_netns_prefix(x), "ca_cert_hashes": [ca_cert_hash(ca)], "kubelet": kubelet}
    from .state import write_json

    write_json(d / "config.json", cfg)


# ----- nodes ------------------------------------------------------------------------------------


async def start_node(st: ClusterState, x: int, *, restore_link: bool = True) -> Process:
    lay = Layout(st.name, st.slot)
    if restore_link:
        await netlink.set_link(lay.veth(x), True)
    role = f"node{x}"
    cur = st.process(role)
    if cur is not None and cur.alive():
        return cur
    d = node_dir(st, x)
    argv = ["nsenter", f"--net={lay.netns_path(x)}", "--", sys.executable, "-m", "kubelite.cluster.node",
            str(d / "config.json")]
    p = st.set_process(role, spawn(argv, d / "agent.log"))
    st.save()
    return p


async def stop_node(st: ClusterState, x: int, *, kill: bool = True, cut_link: bool = False) -> None:
    """Stop a node's agent (SIGKILL by default: a crash) and optionally take its link down."""
    lay = Layout(st.name, st.slot)
    if cut_link:
        await netlink.set_link(lay.veth(x), False)
    p = st.process(f"node{x}")
    if p is not None and p.alive():
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
            while p.alive():
                _reap(p.pid)
                await asyncio.sleep(0.02)
            _reap(p.pid)
        else:
            await terminate(p)


async def cut_link(st: ClusterState, x: int, up: bool = False) -> None:
    await netlink.set_link(Layout(st.name, st.slot).veth(x), up)


def node_ready(node: dict) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


async def wait_nodes_ready(st: ClusterState, names: list[str], timeout: float) -> None:
    client = admin_client(st)
    deadline = time.monotonic() + timeout
    try:
        while True:
            nodes = {n["metadata"]["name"]: n for n in (await client.list("nodes"))["items"]}
            missing = [n for n in names if n not in nodes or not node_ready(nodes[n])]
            if not missing:
                return
            for x, n in enumerate(names, 1):
                p = st.process(f"node{x}")
                if n in missing and p is not None and not p.alive():
                    raise ClusterError(f"the agent of {n} exited; its log:\n{tail(node_dir(st, x) / 'agent.log')}")
            if time.monotonic() > deadline:
                raise ClusterError(f"nodes not Ready within {timeout:.0f}s: {', '.join(missing)}")
            await asyncio.sleep(0.1)
    finally:
        await client.close()


# ----- delete -----------------------------------------------------------------------------------


def _netns_inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def processes_in_netns(inodes: set[int]) -> list[int]:
    """PIDs of every process whose network namespace is one of `inodes`."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino in inodes:
                out.append(int(pid))
        except OSError:
            continue
    return out


def supervisor_pids(name: str) -> list[int]:
    """Supervisors of this cluster found by their own command line (`--name <cluster>`)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"kubelite.cluster.supervisor" in argv and b"--name" in argv:
            i = argv.index(b"--name")
            if i + 1 < len(argv) and argv[i + 1] == name.encode():
                out.append(int(pid))
    return out


def _kill_pids(pids: list[int]) -> None:
    procs = [(pid, process_start_time(pid)) for pid in pids]
    for pid, start in procs:
        if start is not None and process_start_time(pid) == start:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    for pid, start in procs:
        while start is not None and process_start_time(pid) == start and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.02)
        _reap(pid)


def _mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return sorted({p for p in points if p == path or p.startswith(path.rstrip("/") + "/")}, key=len, reverse=True)


def sockets_on(address: str) -> int:
    """How many TCP/UDP sockets on this host are bound to `address` (then the bridge stays)."""
    import ipaddress

    hexaddr = f"{int.from_bytes(ipaddress.ip_address(address).packed, 'little'):08X}"
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/udp"):
        try:
            with open(table) as f:
                for line in list(f)[1:]:
                    fields = line.split()
                    # bound UDP sockets; TCP listening (0A) or established (01), not TIME_WAIT and the like
                    if fields[1].split(":")[0] == hexaddr and (table.endswith("udp") or fields[3] in ("01", "0A")):
                        n += 1
        except OSError:
            continue
    return n


def _mounts_named(prefix: str) -> list[str]:
    """Mount points below a directory named `<prefix>node<X>` (a node's files)."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    marker = f"/nodes/{prefix}node"
    return sorted({p for p in points if marker in p}, key=len, reverse=True)


def _remove_cgroups(prefix: str) -> list[str]:
    removed = []
    root = Path("/sys/fs/cgroup")
    if not root.is_dir():
        return removed
    for hierarchy in root.iterdir():
        if not hierarchy.is_dir():
            continue
        try:
            tops = [d for d in hierarchy.iterdir() if d.is_dir() and d.name.startswith(prefix)]
        except OSError:
            continue
        for top in tops:
            kill_and_remove_tree(top)
            removed.append(str(top))
    return removed


async def delete(name: str) -> list[str]:
    """Remove everything cluster `name` made; returns what was removed. Works without its state."""
    check_name(name)
    removed: list[str] = []
    data_dir = lookup(name)
    st: ClusterState | None = None
    if data_dir is not None and (data_dir / "cluster.json").exists():
        with contextlib.suppress(OSError, ValueError, TypeError):
            st = ClusterState.load(data_dir / "cluster.json")
    lay = Layout(name, st.slot if st else 0)
    async with host_lock():
        if st is not None:
            st.status = "deleting"
            with contextlib.suppress(OSError):
                st.save()
        # 1. processes: agents (recorded), everything inside the cluster's namespaces, the control plane
        for p in (st.processes if st else []):
            if p.role != "supervisor" and await terminate(p, timeout=3.0):
                removed.append(f"process {p.pid} ({p.role})")
        all_ns = netlink.list_netns(lay.prefix)
        inodes = {i for i in (_netns_inode(f"{netlink.NETNS_DIR}/{n}") for n in all_ns) if i is not None}
        node_ips: set[str] = set()
        for ns in all_ns:
            if "-node" in ns:
                node_ips |= await netlink.addresses(ns)
        stray = processes_in_netns(inodes)
        await asyncio.to_thread(_kill_pids, stray)
        removed += [f"process {pid}" for pid in stray]
        sup = st.process("supervisor") if st else None
        if sup is not None and await terminate(sup, timeout=10.0):
            removed.append(f"process {sup.pid} (control plane)")
        extra = supervisor_pids(name)
        await asyncio.to_thread(_kill_pids, extra)
        removed += [f"process {pid} (control plane)" for pid in extra]
        # 2. containers, cgroups and mounts of every node
        from kubelite.kubelet.runtime.testsuite import force_cleanup

        for x in range(1, MAX_NODES + 1):
            d = node_dir(st, x) if st else None
            if d is not None and (d / "run").exists():
                await asyncio.to_thread(force_cleanup, d / "run" / "runtime", lay.cgroup_root(x))
        removed += await asyncio.to_thread(_remove_cgroups, lay.prefix)
        # 3. network: namespaces (pods' and nodes'), veths, host routes via the cluster's nodes
        for ns in netlink.list_netns(lay.prefix):
            if await netlink.delete_netns(ns):
                removed.append(f"netns {ns}")
        for veth in await netlink.list_links(lay.veth_prefix):
            if await netlink.delete_link(veth):
                removed.append(f"veth {veth}")
        if st is not None:
            node_ips |= {lay.node_ip(x) for x in range(1, MAX_NODES + 1)}
        for r in await netlink.routes():
            if r.get("gateway") in node_ips and in_block(r.get("dst", ""), lay.plan.cluster_cidr):
                if await netlink.route_delete(r["dst"], via=r["gateway"]):
                    removed.append(f"route {r['dst']} via {r['gateway']}")
        # 4. files: unmount whatever the nodes left mounted (found by name), and anything below the data
        #    dir, then remove it
        for point in _mounts_named(lay.prefix):
            rc, _, _ = await netlink.run("umount", "-l", point, check=False)
            if rc == 0:
                removed.append(f"mount {point}")
        if data_dir is not None and data_dir.exists():
            for point in _mounts_under(str(data_dir)):
                await netlink.run("umount", "-l", point, check=False)
            left = _mounts_under(str(data_dir))
            if left:
                raise ClusterError(f"mounts remain under {data_dir}: {', '.join(left)}; not removing it")
            if st is None or st.created_data_dir:
                await asyncio.to_thread(shutil.rmtree, data_dir, True)
            else:
                for part in ("server", "nodes", "control-plane.log", JOIN_TOKEN_FILE, "cluster.json"):
                    p = data_dir / part
                    if p.is_dir():
                        await asyncio.to_thread(shutil.rmtree, p, True)
                    else:
                        with contextlib.suppress(FileNotFoundError):
                            p.unlink()
            removed.append(f"data dir {data_dir}")
        if st is not None and st.extra_kubeconfig:
            with contextlib.suppress(FileNotFoundError):
                Path(st.extra_kubeconfig).unlink()
        unregister(name)
        # 5. the bridge, if this cluster made it and nothing uses it any more
        if st is not None and st.created_bridge and await netlink.link_exists(BRIDGE):
            others = [n for n in registered() if n != name]
            if not others and not await netlink.bridge_ports(BRIDGE) and not sockets_on(lay.host_ip):
                await netlink.delete_link(BRIDGE)
                removed.append(f"bridge {BRIDGE}")
            else:
                log.info("keeping bridge %s: other clusters, interfaces or sockets use it", BRIDGE)
    return removed


def leftovers(name: str) -> list[str]:
    """What of cluster `name` still exists on this host (empty after a clean delete)."""
    lay = Layout(name)
    out = [f"netns {n}" for n in netlink.list_netns(lay.prefix)]
    rc = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
    out += [f"link {line.split(':')[1].strip().split('@')[0]}" for line in rc.stdout.splitlines()
            if line.split(":")[1].strip().startswith(lay.veth_prefix)]
    root = Path("/sys/fs/cgroup")
    for hierarchy in (root.iterdir() if root.is_dir() else []):
        with contextlib.suppress(OSError):
            out += [f"cgroup {d}" for d in hierarchy.iterdir() if d.name.startswith(lay.prefix)]
    out += [f"process {pid}" for pid in supervisor_pids(name)]
    out += [f"mount {p}" for p in _mounts_named(lay.prefix)]
    if lookup(name) is not None:
        out.append(f"index entry {name}")
    return out


# ----- list -------------------------------------------------------------------------------------


def list_clusters() -> list[dict]:
    out = []
    for name in registered():
        try:
            st = load(name)
        except (ClusterError, OSError, ValueError, TypeError):
            out.append({"name": name, "status": "unknown", "nodes": 0, "server": "", "data_dir": ""})
            continue
        sup = st.process("supervisor")
        status = st.status
        if status == "running" and (sup is None or not sup.alive()):
            status = "stopped"
        alive = sum(1 for x in range(1, st.nodes + 1) if (p := st.process(f"node{x}")) and p.alive())
        out.append({"name": name, "status": status, "nodes": st.nodes, "agents": alive, "server": st.server_url,
                    "data_dir": st.data_dir, "kubeconfig": st.extra_kubeconfig or st.kubeconfig})
    return out
