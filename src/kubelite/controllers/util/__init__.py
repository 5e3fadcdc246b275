"""Code shared by the workload controllers (Kubernetes' `pkg/controller/controller_utils.go` and
`controller_ref_manager.go`), one concept per module:

- `pods`: pod predicates (`is_pod_active`, `is_pod_ready`, `is_pod_available`, `is_terminating`,
  `is_pod_terminal`), conditions and keys.
- `ownerrefs`: controller references (`get_controller_of`, `new_controller_ref`) and the
  owner-reference patches adoption and release send.
- `ref_manager`: `ControllerRefManager`, which adopts matching orphans and releases owned
  objects that stopped matching (`claim`; optional filters, finalizers dropped on release), and
  `selector_of`.
- `expectations`: `ControllerExpectations` and `UIDTrackingControllerExpectations`, so a sync
  never acts twice on creates or deletes its informer has not seen yet.
- `pod_control`: the `PodControl` seam (create from a template, delete, patch) with
  `RealPodControl` (API calls plus SuccessfulCreate/FailedCreate/SuccessfulDelete events) and
  `FakePodControl` (records calls).
- `ranking`: which pods go first when scaling down (`get_pods_to_delete`; `active_pods_rank`).
- `batch`: `slow_start_batch` (1, 2, 4, ... calls at a time, stop at the first failure).
- `hashing`: `compute_hash` (FNV-32a, safe-encoded) for the pod-template-hash label.
- `history`: ControllerRevisions (names, hashes, data) for DaemonSets and StatefulSets.
- `endpoint`: pod addresses, ports, hostnames and trigger times for Endpoints and EndpointSlices.
- `testing`: `ControllerHarness` and `SyncHarness` (fake API server, fake clock, informers,
  recording events).

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`.
"""

from .batch import slow_start_batch
from .expectations import EXPECTATIONS_TIMEOUT, ControllerExpectations, UIDTrackingControllerExpectations
from .hashing import compute_hash, fnv32a, safe_encode_string
from .ownerrefs import get_controller_of, has_status_cause, new_controller_ref
from .pod_control import FakePodControl, PodControl, RealPodControl, pod_from_template
from .pods import filter_active_pods, is_pod_active, is_pod_available, is_pod_ready, pod_key
from .ranking import get_pods_to_delete, sort_pods_for_deletion
from .ref_manager import ControllerRefManager, recheck_deletion_timestamp

__all__ = [
    "EXPECTATIONS_TIMEOUT", "ControllerExpectations", "ControllerRefManager", "FakePodControl", "PodControl",
    "RealPodControl", "UIDTrackingControllerExpectations", "compute_hash", "filter_active_pods", "fnv32a",
    "get_controller_of", "get_pods_to_delete", "has_status_cause", "is_pod_active", "is_pod_available",
    "is_pod_ready", "new_controller_ref", "pod_from_template", "pod_key", "recheck_deletion_timestamp",
    "safe_encode_string", "slow_start_batch", "sort_pods_for_deletion",
]
