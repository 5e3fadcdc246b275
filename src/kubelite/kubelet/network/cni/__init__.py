"""The CNI `NetworkPlugin` with the Debian plugins (bridge, host-local, portmap, loopback).

- `config`: conflists and per-plugin requests (pure); `node_conflist` for a node's pod CIDR.
- `invoke`: runs one plugin, optionally inside a "node" netns (`nsenter --net`).
- `netns`: pinned pod network namespaces; `cache`: results on disk for DEL after a restart.
- `plugin.CNINetworkPlugin`: ADD/DEL/CHECK of loopback + the node list.
"""

from .config import node_conflist
from .invoke import CNIError
from .plugin import CNINetworkPlugin, CNIOptions

__all__ = ["CNIError", "CNINetworkPlugin", "CNIOptions", "node_conflist"]
