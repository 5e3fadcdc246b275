"""Pod status as Kubernetes' kubelet fills it, and the manager that writes it.

- `generate`: pure. `generate_pod_status(...)` turns the runtime's view of a pod (sandboxes,
  container instances), probe results and the last sync errors into a `PodStatus`: phase,
  conditions (PodReadyToStartContainers, Initialized, ContainersReady, Ready, PodScheduled),
  containerStatuses / initContainerStatuses (state, lastState, ready, started, restartCount,
  image, imageID, containerID), pod and host IPs, qosClass. (`pkg/kubelet/kubelet_pods.go`
  `generateAPIPodStatus`, `getPhase`, `convertToAPIContainerStatuses`, `pkg/kubelet/status/generate.go`.)
- `manager`: `StatusManager` keeps the latest status per pod, keeps condition transition times
  and the start time, never moves a terminal phase back, and writes only what changed through
  `pods/<name>/status` (a merge patch with the pod's UID as precondition). It also deletes a
  terminated pod (`gracePeriodSeconds=0`) once its containers and volumes are gone.
"""
