"""The load balancer data plane: L4 (TCP, TLS) and L7 (HTTP, HTTPS) listeners with host/path
routing, TLS termination with SNI, target groups with health checks and connection draining.
One `LoadBalancer` is one instance, shaped like ELBv2's model so that the cloud layer can
provision NLBs and ALBs from it and the Ingress controller can run one for a plain cluster.

Pure core, I/O at the edges:

- `model`: the configuration (`LoadBalancerConfig`, `Listener`, `Rule`, `Forward`,
  `FixedResponse`, `Redirect`, `TargetGroup`, `HealthCheck`, `Certificate`) and `validate`.
- `routing`: host and path matching (Exact, Kubernetes' element-wise Prefix, ALB patterns),
  rules in priority order, `Router` (pure).
- `health`: the target health state machine with ELBv2's states and reasons (pure).
- `targets`: a target group at run time: registration diffs, choosing a target (round robin,
  least outstanding requests, fail-open), outstanding counts, draining, probe schedule; smooth
  weighted choice among target groups (pure).
- `http11`: HTTP/1.1 heads, body framing, chunked scanning, header rewriting (X-Forwarded-*),
  the load balancer's own responses and redirect URLs (pure).
- `tls`: certificate checks, SNI selection (pure), server contexts.
- `metrics`: counters and the state snapshot (values).
- `pool`, `pipe`, `prober`, `httpproxy`, `tcpproxy`, `runtime`: the asyncio data path.
- `loadbalancer`: `LoadBalancer` (run, apply, snapshot, describe_target_health).

May import: `kubelite.machinery`; third party: cryptography (in `tls` only). Never the client or
the API: callers translate Kubernetes or ELBv2 objects into a `LoadBalancerConfig`.
"""

from .health import ProbeResult, TargetHealthState
from .loadbalancer import LoadBalancer, listen_tcp
from .metrics import Counters, ListenerStatus, LoadBalancerState, TargetGroupStatus
from .model import (Action, Algorithm, Certificate, ConfigError, FixedResponse, Forward, HealthCheck, Listener,
                    ListenerProtocol, LoadBalancerConfig, PathMatch, PathMatchType, Redirect, Rule, Target,
                    TargetGroup, Timeouts, WeightedTargetGroup, check, validate)
from .prober import FakeProber, NetworkProber, Prober
from .routing import Router, host_matches, normalize_host, path_matches
from .runtime import AccessLogEntry
from .targets import TargetHealthDescription
from .tls import CertificateError, parse_certificate, self_signed

__all__ = [
    "AccessLogEntry", "Action", "Algorithm", "Certificate", "CertificateError", "ConfigError", "Counters",
    "FakeProber", "FixedResponse", "Forward", "HealthCheck", "Listener", "ListenerProtocol", "ListenerStatus",
    "LoadBalancer", "LoadBalancerConfig", "LoadBalancerState", "NetworkProber", "PathMatch", "PathMatchType",
    "ProbeResult", "Prober", "Redirect", "Router", "Rule", "Target", "TargetGroup", "TargetGroupStatus",
    "TargetHealthDescription", "TargetHealthState", "Timeouts", "WeightedTargetGroup", "check", "host_matches",
    "listen_tcp", "normalize_host", "parse_certificate", "path_matches", "self_signed", "validate",
]
