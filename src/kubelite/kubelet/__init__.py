"""The node agent (Kubernetes' kubelet): runs the pods bound to its node with real containers.

- `runtime/`: the CRI-shaped `RuntimeService` (runc + conmon, and a fake) that runs pod
  sandboxes and containers, streams exec/attach, writes CRI logs and reports stats.
- `network/`: the CNI-shaped `NetworkPlugin` (Debian CNI plugins, and a fake) that gives each
  pod sandbox a wired network namespace and an IP from the node's pod CIDR.
- Above them (to come): the sync loop, one pod worker per pod UID, PLEG (relisting the runtime),
  probes, volumes and the status manager writing Pod status to the API server.

Several agents can share one machine: each has its own runtime root, cgroup root and (for
networking) node network namespace. May import: `kubelite.client`, `kubelite.images`,
`kubelite.api`, `kubelite.machinery`.
"""
