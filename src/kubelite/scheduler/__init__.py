"""The scheduler: assigns pending pods to nodes, as kube-scheduler does, in Kubernetes' words.

Layout (Kubernetes' `pkg/scheduler`, Pythonic; the deciding parts are pure, style guide H12):

- `framework/`: the plugin Protocols (PreFilter, Filter, PostFilter, PreScore, Score), `Status`,
  `CycleState`, `PodInfo`/`NodeInfo`, `Snapshot`, and `Framework`, which runs a profile.
- `plugins/`: one module per in-tree plugin of the default profile, and its weights.
- `schedule_one`: choose a node for one pod from a snapshot (or raise `FitError`, whose message
  is the FailedScheduling message).
- `cache`: nodes and the pods on them, assumed pods included, updated incrementally.
- `queue`: activeQ, backoffQ and the unschedulable pool; the nominator.
- `scheduler`: the I/O: informers in, bindings, status conditions, events and evictions out.
  `run_scheduler(client)` is the entry point.

Only `scheduler` awaits; everything else is synchronous and testable without a server.

May import: `kubelite.machinery`, `kubelite.api`, `kubelite.client`.
"""

from .scheduler import Scheduler, run_scheduler

__all__ = ["Scheduler", "run_scheduler"]
