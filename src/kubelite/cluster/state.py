"""What a local cluster created, kept in `<data dir>/cluster.json`, and the index of clusters.

The state file is written before each thing is made (so a crash leaves a record of it) and
lists processes by PID *and* start time, so `delete` never signals a recycled PID. The index
(`$KUBELITE_CLUSTERS_HOME`, default /var/lib/kubelite/clusters, one `<name>.json` per cluster)
points at each cluster's data dir.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

DEFAULT_HOME = Path("/var/lib/kubelite/clusters")
STATE_FILE = "cluster.json"


def clusters_home() -> Path:
    return Path(os.environ.get("KUBELITE_CLUSTERS_HOME") or DEFAULT_HOME)


@dataclass
class Process:
    pid: int
    start_time: int  # /proc/<pid>/stat field 22: identifies this process, not a later one
    role: str        # "supervisor" or "node<X>"

    def alive(self) -> bool:
        return process_start_time(self.pid) == self.start_time


@dataclass
class ClusterState:
    name: str
    data_dir: str
    slot: int = 0
    nodes: int = 0
    port: int = 0
    status: str = "creating"   # creating, running, failed, deleting
    created_data_dir: bool = False
    created_bridge: bool = False
    netns: list[str] = field(default_factory=list)
    veths: list[str] = field(default_factory=list)
    host_routes: list[str] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)
    kubeconfig: str = ""
    extra_kubeconfig: str = ""
    server_url: str = ""
    datastore: str = ""
    controller_options: dict = field(default_factory=dict)
    kubelet: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.data_dir) / STATE_FILE

    def save(self) -> None:
        write_json(self.path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> ClusterState:
        doc = json.loads(path.read_text())
        procs = [Process(**p) for p in doc.pop("processes", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in doc.items() if k in known}, processes=procs)

    def process(self, role: str) -> Process | None:
        for p in self.processes:
            if p.role == role:
                return p
        return None

    def set_process(self, role: str, pid: int) -> Process:
        self.processes = [p for p in self.processes if p.role != role]
        p = Process(pid, process_start_time(pid) or 0, role)
        self.processes.append(p)
        return p


def write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def process_start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    if fields and fields[0] == "Z":
        return None  # a zombie is as good as gone
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


# ----- the index ------------------------------------------------------------------------------


def index_path(name: str, home: Path | None = None) -> Path:
    return (home or clusters_home()) / f"{name}.json"


def register(name: str, data_dir: Path, home: Path | None = None) -> None:
    write_json(index_path(name, home), {"name": name, "data_dir": str(data_dir)})


def unregister(name: str, home: Path | None = None) -> None:
    try:
        index_path(name, home).unlink()
    except FileNotFoundError:
        pass


def lookup(name: str, home: Path | None = None) -> Path | None:
    """The data dir of a registered cluster."""
    try:
        return Path(json.loads(index_path(name, home).read_text())["data_dir"])
    except (OSError, ValueError, KeyError):
        return None


def registered(home: Path | None = None) -> list[str]:
    h = home or clusters_home()
    if not h.is_dir():
        return []
    return sorted(p.stem for p in h.glob("*.json") if not p.name.endswith(".tmp"))


@contextmanager
def host_lock() -> Iterator[None]:
    """Serialise cluster creation and deletion on this host (slots, the bridge)."""
    Path("/run/kubelite").mkdir(parents=True, exist_ok=True)
    fd = os.open("/run/kubelite/cluster.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
