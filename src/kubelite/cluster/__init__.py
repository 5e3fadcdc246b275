"""Local multi-node clusters (`kubelite cluster create|delete|list`), as kind makes them with
containers: a control plane plus N node "hosts", each a network namespace on the host bridge
`kubelite0` running a real agent that joined with a bootstrap token.

- `layout`: names and addresses of a cluster (pure): netns `kl-<cluster>-node<X>`, node
  `<cluster>-node<X>` at 198.18.0.(10+16k+X), pod block 198.19.(16k).0/20 for cluster slot k.
- `netlink`: the `ip` commands (bridge, node namespaces, veths, routes), all async.
- `routes`: host-gw: the routes every node namespace (and the host) needs to reach the other
  nodes' pod CIDRs (pure), and `RouteSyncer`, which keeps them in sync with the Nodes.
- `state`: the state file (what was created, processes by PID and start time) and the index of
  clusters; `delete` uses it, and finds leftovers by name prefix when it is gone.
- `controlplane`: `ClusterControlPlane`, the in-process control plane with node joining
  (bootstrap tokens, CSR approval and signing) and short, configurable timings.
- `supervisor`: the detached process that runs the control plane and the route syncer.
- `node`: the per-node process (run inside the node namespace): join, then run the agent.
- `manager`: `create`, `delete`, `list_clusters`, `stop_node`, `start_node`, `cut_link`.
- `etcd`: `EtcdCluster`, N etcd members on loopback ports (tests and benchmarks).

May import everything below `cli`.
"""
