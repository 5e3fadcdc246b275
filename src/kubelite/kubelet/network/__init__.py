"""Pod networking for the node agent, behind the CNI-shaped `NetworkPlugin` seam.

- `interface`: `NetworkPlugin`, `PodNetworkRequest`, `PodNetworkStatus`, `PortMapping`.
- `cni`: the real plugin (pinned netns, loopback + bridge/host-local/portmap, cached results,
  plugins run in the agent's netns or a given "node" netns).
- `fake`: `FakeNetworkPlugin` for unit tests and simulated nodes.

The runtime calls it while running a pod sandbox. May import: `kubelite.machinery`.
"""

from .interface import NetworkError, NetworkPlugin, NetworkStatus, PodNetworkRequest, PodNetworkStatus, PortMapping

__all__ = ["NetworkError", "NetworkPlugin", "NetworkStatus", "PodNetworkRequest", "PodNetworkStatus", "PortMapping"]
