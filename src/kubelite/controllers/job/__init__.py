"""The Job controller (Kubernetes' `pkg/controller/job`): pods run to completion, counted through
the `batch.kubernetes.io/job-tracking` finalizer, with parallelism, completions (NonIndexed and
Indexed), `backoffLimit` with exponential backoff between retries, `activeDeadlineSeconds`,
`suspend`, the pod failure policy and the success policy, and 1.32's conditions
(`SuccessCriteriaMet`/`FailureTarget`, then `Complete`/`Failed`).

- `controller`: `JobController` (handlers, `sync_job`, `manage_job`, status writes, finalizers).
- `state`: the spec with defaults, conditions, pod states, the status-tracking plan (pure).
- `indexed`: completion indexes and their compressed form (pure).
- `policy`: pod failure policy, success policy, backoff records (pure).

Not yet: `backoffLimitPerIndex`/`maxFailedIndexes` (per-index backoff); Jobs without a selector
get the default selector and labels here, which Kubernetes' API server sets at creation.

May import: `kubelite.client`, `kubelite.api`, `kubelite.machinery`, `kubelite.controllers.base`,
`kubelite.controllers.util`.
"""

from .controller import JobController

__all__ = ["JobController"]
