"""The kubelet's side of the container runtime (Kubernetes' `pkg/kubelet/kuberuntime`).

- `labels`: what the kubelet writes on sandboxes and containers (pod name, namespace, UID,
  container name, spec hash, restart count, termination-message settings, preStop hook), so a
  restarted agent can rebuild everything from the runtime alone.
- `types`: `RuntimePodStatus` (the runtime's view of one pod) and `ContainerInfo`.
- `actions`: the pure decision `compute_pod_actions` (what to kill, create, start) and
  `should_container_be_restarted`.
- `resources`, `security`, `sandbox`, `container_config`: Pod spec -> CRI configs (pure).
- `backoff`: the per-container CrashLoopBackOff (and image pull) backoff.
- `manager`: `RuntimeManager`, the I/O: pod status from the runtime, `sync_pod`, `kill_pod`.

May import: `kubelite.kubelet.runtime` (interface, errors), the kubelet's pure helpers,
`kubelite.api`, `kubelite.machinery`.
"""
