"""The node agent for one node: container runtime (runc), pod network (CNI), image store and
kubelet, wired together (`Agent(AgentConfig(...)).run()`), with the node's network bootstrap.

- `config`: `AgentConfig` (directories, node address and network namespace, pod CIDR, DNS).
- `network`: `DeferredNetwork`, the pod network that exists once the node has a pod CIDR.
- `hostnet`: the node network bootstrap: the host's `kubelite0` bridge with the host's node
  address when the node is the host itself; IPv4 forwarding inside a node network namespace.
- `agent`: `Agent` and `run_host_agent(client, server_config)` (the agent `kubelite server`
  embeds for its own host).

May import: `kubelite.kubelet` (and its runtime and network), `kubelite.images`,
`kubelite.client`, `kubelite.machinery`.
"""

from .agent import Agent, run_host_agent
from .config import AgentConfig

__all__ = ["Agent", "AgentConfig", "run_host_agent"]
