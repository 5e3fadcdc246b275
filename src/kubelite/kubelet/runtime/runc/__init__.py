"""The real `RuntimeService`: OCI bundles run by runc 1.1, each container watched by conmon.

- `runtime.RuncRuntime` (the facade) over `sandboxes`, `containers`, `streaming`;
- `spec` (pure: config.json), `seccomp` (pure: Docker profile -> OCI), `resolve` rules from the
  parent package; `cgroups`, `mounts`, `conmon`, `runc`, `command` at the I/O edge;
- `state`: records on disk under the runtime root, so a restarted agent adopts what runs.

May import: `kubelite.kubelet.runtime` (interface, errors, resolve, codec),
`kubelite.kubelet.network.interface`, `kubelite.images.interface`, `kubelite.machinery`.
"""

from .context import RuncOptions
from .runtime import RuncRuntime

__all__ = ["RuncOptions", "RuncRuntime"]
