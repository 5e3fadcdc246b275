"""The container runtime seam of the node agent, in CRI roles.

- `interface`: `RuntimeService` (sandboxes, containers, exec/attach, stats, status) and its
  dataclasses (`PodSandboxConfig`, `ContainerConfig`, `ContainerStatus`, ...); `errors`.
- `resolve`: Kubernetes'/Docker's rules for command/args, env, working dir, user, stop signal.
- `crilog`: the CRI log line format, written by the runtime and read by `kubectl logs`.
- `runc/`: the real runtime (OCI bundles, runc 1.1, conmon monitors, cgroup v1, overlayfs).
- `fake`: `FakeRuntime`, in memory, for kubelet tests and simulated nodes.
- `testsuite`: the contract both pass (tests/contract/test_runtime.py).

Containers are made from `ContainerImage` (an image config plus the layer directories that
`kubelite.images` `ImageStore.unpack` returns). Pod networking is the injected
`kubelite.kubelet.network.NetworkPlugin`.

May import: `kubelite.kubelet.network` (interface, fake), `kubelite.images.interface`,
`kubelite.machinery`. The kubelet proper (pod workers, status) sits above this package.
"""

from .errors import (
    AlreadyExists,
    CommandFailed,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RuntimeServiceError,
)
from .interface import (
    Container,
    ContainerConfig,
    ContainerFilter,
    ContainerImage,
    ContainerReason,
    ContainerState,
    ContainerStats,
    ContainerStatus,
    PodSandbox,
    PodSandboxConfig,
    PodSandboxFilter,
    PodSandboxState,
    PodSandboxStatus,
    ProcessHandle,
    RuntimeService,
)

__all__ = [
    "AlreadyExists", "CommandFailed", "Container", "ContainerConfig", "ContainerFilter", "ContainerImage",
    "ContainerReason", "ContainerState", "ContainerStats", "ContainerStatus", "DeadlineExceeded",
    "FailedPrecondition", "InvalidArgument", "NotFound", "PodSandbox", "PodSandboxConfig", "PodSandboxFilter",
    "PodSandboxState", "PodSandboxStatus", "ProcessHandle", "RuntimeService", "RuntimeServiceError",
]
