"""The async Kubernetes client every kubelite component uses to talk to the API server.

In the spirit of client-go, Pythonic and async (one event loop, `TaskGroup`s, no threads).
Objects are plain JSON dicts; the scheme (`kubelite.api.resources.SCHEME`) maps resources to
paths; failures are `kubelite.machinery.errors.StatusError` (test them with `is_not_found`,
`is_conflict`, ...) or `transport.TransportError`.

- `config`: `ClientConfig`, `load_kubeconfig()`, `in_cluster_config()`.
- `auth`: the Authorization header (token, rotating token file, exec plugin, basic).
- `transport`: the HTTP seam: `Transport` Protocol, `AiohttpTransport`, `FakeTransport`.
- `rest`: `Client` with the generic verbs (get, list, watch, create, update, patch, delete,
  subresources, logs, scale) on any resource.
- `informers`: `Reflector`, `Indexer`, `SharedInformer`, `InformerFactory`, `Lister`.
- `workqueue`: `WorkQueue` (dirty/processing sets, delays, rate limiters).
- `events`: `EventRecorder` (core/v1 Events with client-go's correlation).
- `leaderelection`: `LeaderElector` on a coordination.k8s.io Lease.
- `Clock`, `RealClock`, `FakeClock` and the object keys (`meta_namespace_key`,
  `split_meta_namespace_key`) are `kubelite.machinery`'s, exported here too; token buckets and
  backoff are `kubelite.machinery.backoff`.
- `pki`: the cluster's certificates: a CA, serving and client certificates as PEM files
  (client-go's `util/cert` and `keyutil`), for the API server, the agent and the CSR signer.
- `testing`: `FakeAPIServer` for `FakeTransport`, `wait_until`.

Long-lived pieces (`SharedInformer`, `InformerFactory`, `EventRecorder`, `LeaderElector`) have
`async def run()` and are started in the caller's `TaskGroup`; none starts tasks of its own
outside a group it owns.

May import: `kubelite.machinery`, `kubelite.api`; third party: aiohttp (in `transport` only),
orjson, PyYAML (in `config` only), cryptography (in `pki` only).
"""

from ..machinery.clock import Clock, FakeClock, RealClock
from .config import ClientConfig, ConfigError, in_cluster_config, load_kubeconfig
from .events import EventRecorder
from .informers import InformerFactory, Lister, SharedInformer, meta_namespace_key, split_meta_namespace_key
from .leaderelection import LeaderElectionLost, LeaderElector
from .rest import Client, Watch
from .transport import AiohttpTransport, FakeTransport, Request, Response, Transport, TransportError
from .workqueue import ShutDown, WorkQueue

__all__ = [
    "AiohttpTransport", "Client", "ClientConfig", "Clock", "ConfigError", "EventRecorder", "FakeClock",
    "FakeTransport", "InformerFactory", "LeaderElectionLost", "LeaderElector", "Lister", "RealClock", "Request",
    "Response", "SharedInformer", "ShutDown", "Transport", "TransportError", "Watch", "WorkQueue",
    "in_cluster_config", "load_kubeconfig", "meta_namespace_key", "split_meta_namespace_key",
]
