"""Liveness, readiness and startup probes (Kubernetes' `pkg/kubelet/prober`).

- `probe`: runs one probe (exec in the container, HTTP GET or TCP connect to the pod, from the
  node's network namespace) and returns success or failure with its output.
- `worker`: one task per container and probe type: initial delay, period, timeout, success and
  failure thresholds; a failed liveness or startup probe puts the worker on hold until the
  container is replaced. `Unhealthy` events as Kubernetes writes them.
- `manager`: `ProbeManager` starts and stops workers with pods, keeps results by container ID,
  tells the kubelet when a result changes, and answers `ready`/`started` for pod status.

May import: `kubelite.kubelet` (runtime interface, netutil, podutil), `kubelite.client` (Clock).
"""

from .manager import ProbeManager, ProbeResult

__all__ = ["ProbeManager", "ProbeResult"]
