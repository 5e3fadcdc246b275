"""The kubelet's HTTPS server (port 10250): container logs, exec, attach, port-forward, the
Summary API and resource metrics, for the API server to proxy to.

- `server`: `KubeletServer` (routes, client-certificate authorization, `run()`).
- `lookup`: the `PodLookup` seam to the kubelet core (and `FakePodLookup`).
- `logs`: reading CRI log files (tail, since, timestamps, limitBytes, follow across rotation).
- `portdial`: connecting to a pod's port inside its network namespace (and a loopback fake).
- `stats`: the Summary API document, CPU rates from samples, `/metrics/resource` text.

May import: `kubelite.kubelet.runtime`, `kubelite.streaming`, `kubelite.machinery`.
"""

from .lookup import ContainerRef, FakePodLookup, PodLookup, PodRef
from .portdial import LoopbackDialer, NetnsDialer, PortDialer
from .server import KubeletServer, KubeletServerOptions, serving_ssl_context
from .stats import FixedNodeStats, NodeStatsSource, ProcNodeStats

__all__ = [
    "ContainerRef", "FakePodLookup", "FixedNodeStats", "KubeletServer", "KubeletServerOptions", "LoopbackDialer",
    "NetnsDialer", "NodeStatsSource", "PodLookup", "PodRef", "PortDialer", "ProcNodeStats", "serving_ssl_context",
]
