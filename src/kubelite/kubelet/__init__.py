"""The node agent (Kubernetes' kubelet): runs the pods bound to its node with real containers.

- `runtime/`: the CRI-shaped `RuntimeService` (runc + conmon, and a fake) that runs pod
  sandboxes and containers, streams exec/attach, writes CRI logs and reports stats.
- `network/`: the CNI-shaped `NetworkPlugin` (Debian CNI plugins, and a fake) that gives each
  pod sandbox a wired network namespace and an IP from the node's pod CIDR.
- `server/`: the kubelet's HTTPS server (logs, exec, attach, port-forward, stats).
- `kubelet`: `Kubelet`, the main loop: pod informer (`spec.nodeName=<node>`) -> `pod_workers`
  (one worker per pod UID, latest update wins) -> `sync.PodSyncer`; `pleg` (runtime relist),
  probe results and housekeeping wake workers; orphans are killed and cleaned up.
- `kuberuntime/`: the decisions (`compute_pod_actions`), Pod spec -> CRI configs (sandbox,
  container, resources, securityContext) and `RuntimeManager` (start, kill, CrashLoopBackOff).
- `status/`: pure status generation as Kubernetes fills it, and the `StatusManager` that
  patches `pods/<name>/status` only when something changed.
- `prober/`: liveness, readiness and startup probes. `lifecycle`: postStart/preStop hooks.
- `volumes/`: emptyDir, configMap, secret, downwardAPI, projected, hostPath.
- `images`: pull policy, pulls and ImagePullBackOff. `env`, `envvars`: container environment.
- `dns`: resolv.conf and /etc/hosts. `serviceaccount`: the API access volume and tokens.
- `node`, `lease`, `sysinfo`: the Node object, its status and heartbeat. `logs`: log paths,
  rotation, `PodLookup` for the server. `stats`: usage for `kubectl top`.
- `config`: `KubeletConfig`. `testing`: `KubeletHarness` (fake runtime, fake API server).

Several agents can share one machine: each has its own runtime root, cgroup root and (for
networking) node network namespace. May import: `kubelite.client`, `kubelite.images`,
`kubelite.api`, `kubelite.machinery`.
"""
