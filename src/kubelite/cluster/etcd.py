"""`EtcdCluster`: N etcd members (Debian's etcd-server 3.4) on loopback ports, for tests and
benchmarks. Members are started, killed and restarted by PID; `close()` removes their data.

    with EtcdCluster(tmp_path, members=3) as etcd:
        url = etcd.url            # etcd://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
        etcd.kill(0); etcd.restart(0)
"""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"


class EtcdCluster:
    def __init__(self, base: Path, members: int = 3, *, binary: str = "etcd", client_ports: list[int] | None = None):
        self.base = Path(base)
        self.binary = binary
        self.token = f"kubelite-{secrets.token_hex(4)}"
        ports = client_ports or [_free_port() for _ in range(members)]
        self.members = [Member(f"m{i}", ports[i], _free_port(), self.base / f"m{i}", self.base / f"m{i}.log")
                        for i in range(members)]

    @property
    def url(self) -> str:
        return "etcd://" + ",".join(f"127.0.0.1:{m.client_port}" for m in self.members)

    @property
    def initial_cluster(self) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def _argv(self, m: Member, state: str) -> list[str]:
        return [self.binary, "--name", m.name, "--data-dir", str(m.data_dir),
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", self.initial_cluster, "--initial-cluster-state", state,
                "--initial-cluster-token", self.token, "--heartbeat-interval", "100", "--election-timeout", "1000"]

    def _start(self, m: Member, state: str) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        with open(m.log_path, "ab") as log:
            m.proc = subprocess.Popen(self._argv(m, state), stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT)

    def start(self, timeout: float = 30.0) -> EtcdCluster:
        for m in self.members:
            self._start(m, "new")
        self.wait_healthy(timeout)
        return self

    def healthy(self, m: Member) -> bool:
        try:
            with urllib.request.urlopen(f"{m.client_url}/health", timeout=1) as r:
                return json.loads(r.read()).get("health") == "true"
        except (OSError, ValueError):
            return False

    def wait_healthy(self, timeout: float = 30.0, members: list[Member] | None = None) -> None:
        deadline = time.monotonic() + timeout
        for m in members or [m for m in self.members if m.proc is not None]:
            while not self.healthy(m):
                if m.proc is not None and m.proc.poll() is not None:
                    raise RuntimeError(f"etcd {m.name} exited: {m.log_path.read_text(errors='replace')[-2000:]}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"etcd {m.name} not healthy within {timeout}s")
                time.sleep(0.1)

    def leader(self) -> int | None:
        """Index of the member that is the raft leader, if one answers."""
        for i, m in enumerate(self.members):
            try:
                req = urllib.request.Request(f"{m.client_url}/v3/maintenance/status", data=b"{}", method="POST")
                with urllib.request.urlopen(req, timeout=1) as r:
                    st = json.loads(r.read())
                if st.get("leader") and st.get("leader") == st.get("header", {}).get("member_id"):
                    return i
            except (OSError, ValueError):
                continue
        return None

    def kill(self, i: int) -> None:
        m = self.members[i]
        if m.proc is not None and m.proc.poll() is None:
            m.proc.send_signal(signal.SIGKILL)
            m.proc.wait(10)
        m.proc = None

    def restart(self, i: int, timeout: float = 30.0) -> None:
        m = self.members[i]
        self._start(m, "existing")
        self.wait_healthy(timeout, [m])

    def close(self) -> None:
        for m in self.members:
            if m.proc is not None and m.proc.poll() is None:
                m.proc.terminate()
                try:
                    m.proc.wait(10)
                except subprocess.TimeoutExpired:
                    m.proc.kill()
                    m.proc.wait(5)
            m.proc = None
            shutil.rmtree(m.data_dir, ignore_errors=True)

    def __enter__(self) -> EtcdCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
