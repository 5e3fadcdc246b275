"""Options of `kubelite server`."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

from kubelite.machinery.addressplan import DEFAULT, AddressPlan

DEFAULT_DATA_DIR = Path("/var/lib/kubelite")


@dataclass
class ServerConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    bind_address: str = "0.0.0.0"
    port: int = 6443
    advertise_address: str = DEFAULT.host_address
    datastore: str = ""                      # default: sqlite:///<data_dir>/state.db
    write_kubeconfig: Path | None = None     # default: <data_dir>/admin.kubeconfig
    agent: bool = True
    node_name: str = field(default_factory=socket.gethostname)
    plan: AddressPlan = DEFAULT
    extra_sans: list[str] = field(default_factory=list)
    controllers: bool = True
    controller_names: str = "*"              # kube-controller-manager's --controllers syntax: "*,-deployment"
    scheduler: bool = True
    leader_elect: bool = False
    cluster_dns: bool = True
    cluster_dns_address: str = ""
    registries: str = ""                     # registries file for the host agent's pulls            # where cluster DNS listens (default: the plan's host address)
    controller_options: dict = field(default_factory=dict)   # extra ControllerContext options
    join_ca_from: Path | None = None         # share CA, service-account key, encryption keys with that data dir
    audit_log: Path | None = None            # default: <data_dir>/audit.log
    audit_policy: Path | None = None

    @property
    def datastore_url(self) -> str:
        return self.datastore or f"sqlite://{self.data_dir / 'state.db'}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.write_kubeconfig or (self.data_dir / "admin.kubeconfig")

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def server_url(self) -> str:
        host = "127.0.0.1" if self.bind_address in ("0.0.0.0", "::", "127.0.0.1") else self.bind_address
        return f"https://{host}:{self.port}"
