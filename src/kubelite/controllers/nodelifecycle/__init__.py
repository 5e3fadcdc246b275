"""The node lifecycle controller (Kubernetes' `pkg/controller/nodelifecycle`, with the taint
manager of `pkg/controller/tainteviction`): nodes whose Lease stops being renewed become
Ready=Unknown, are tainted `unreachable` (or `not-ready`), and their pods are evicted once their
tolerations of those NoExecute taints run out; taints go when the node recovers.

- `controller`: `NodeLifecycleController` (the monitor, `sync_node`, taints).
- `eviction`: `NoExecuteTaintManager`, taint-based eviction of pods.
- `health`: heartbeats, Unknown conditions, zone disruption states (pure).
- `taints`: taints from node state, tolerations of them (pure).

Options: `node_monitor_period`, `node_monitor_grace_period`, `node_startup_grace_period`,
`node_eviction_rate`, `secondary_node_eviction_rate`, `unhealthy_zone_threshold`,
`large_cluster_size_threshold` (seconds and rates as kube-controller-manager's flags).

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`.
"""

from .controller import NodeLifecycleController

__all__ = ["NodeLifecycleController"]
