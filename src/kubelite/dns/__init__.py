"""Cluster DNS (CoreDNS with the `kubernetes` and `forward` plugins): Service, endpoint and pod
names under the cluster domain, everything else forwarded to upstream resolvers.

Pure core, I/O at the edges:

- `records`: `ClusterRecords`, the Services, EndpointSlices and pod IPs DNS knows, kept current
  by informer events (no I/O).
- `resolve`: one question -> one answer, a forward, or a CNAME to follow (pure; dnslib wire
  types). A and SRV for Services (ClusterIP and headless), endpoint hostnames, ExternalName
  CNAMEs, pod A records, PTRs, NXDOMAIN/NODATA with the SOA, TTL 5 s.
- `upstream`: the `Forwarder` to upstream resolvers (UDP, TCP on truncation), host resolv.conf.
- `server`: `DNSServer(client, address=..., port=...).run()`: UDP and TCP listeners on one
  address (default the kube-dns Service IP of the address plan, port 53), informers, SERVFAIL
  when upstreams fail, truncation for large UDP answers.
- `resolvconf`: `pod_resolv_conf` / `pod_dns_config` (dnsPolicy and dnsConfig) and
  `pod_hosts_file` for the node agent (pure).

May import: `kubelite.client`, `kubelite.machinery`; third party: dnslib.
"""

from .records import ClusterRecords
from .resolvconf import PodDNSConfig, parse_resolv_conf, pod_dns_config, pod_hosts_file, pod_resolv_conf
from .resolve import DNSOptions, Resolution, resolve
from .server import DNSServer

__all__ = ["ClusterRecords", "DNSOptions", "DNSServer", "PodDNSConfig", "Resolution", "parse_resolv_conf",
           "pod_dns_config", "pod_hosts_file", "pod_resolv_conf", "resolve"]
