"""A pod's /etc/resolv.conf and /etc/hosts, as the kubelet writes them (pure).

- `pod_dns_config(pod, cluster_dns, cluster_domain, host_resolv)` -> `PodDNSConfig` (the CRI
  `DNSConfig`: servers, searches, options), and `pod_resolv_conf(...)` -> its file text.
  dnsPolicy (kubelet `pkg/kubelet/network/dns`):
  - `ClusterFirst` (the default): the cluster DNS, search `<ns>.svc.<domain> svc.<domain>
    <domain>` plus the host's searches, `options ndots:5`. A hostNetwork pod, or a node with no
    cluster DNS configured, falls back to `Default`.
  - `ClusterFirstWithHostNet`: like ClusterFirst, also for hostNetwork pods.
  - `Default`: the node's resolv.conf (nameservers, searches, options).
  - `None`: nothing but `dnsConfig`.
  Then `dnsConfig` is merged: its nameservers and searches are appended (duplicates dropped),
  its options override same-named ones. Limits as the kubelet applies them: 3 nameservers, 32
  search domains and 2048 characters of search list.
- `pod_hosts_file(pod, pod_ips, host_aliases)` -> the kubelet-managed /etc/hosts text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_CHARS = 2048
CLUSTER_NDOTS = "ndots:5"


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class PodDNSConfig:
    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def render(self) -> str:
        lines = []
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        lines += [f"nameserver {s}" for s in self.servers]
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "\n".join(lines) + "\n" if lines else ""


def parse_resolv_conf(text: str | None) -> ResolvConf:
    """Nameservers, searches (trailing dots and "." dropped) and options of a resolv.conf."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in (text or "").splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0]
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            servers.append(fields[1])
        elif fields[0] in ("search", "domain"):
            searches = [s.rstrip(".") for s in fields[1:] if s != "."]     # the last one wins
        elif fields[0] == "options":
            options += fields[1:]
    return ResolvConf(tuple(servers), tuple(searches), tuple(options))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _merge_options(existing: Sequence[str], extra: Iterable[Mapping]) -> list[str]:
    merged: dict[str, str | None] = {}
    for o in existing:
        name, sep, value = o.partition(":")
        merged[name] = value if sep else None
    for o in extra:
        name = o.get("name")
        if not name:
            continue
        merged[name] = o.get("value") if o.get("value") is not None else None
    return [f"{k}:{v}" if v is not None else k for k, v in merged.items()]


def _fit_searches(searches: list[str], warnings: list[str]) -> list[str]:
    out: list[str] = []
    total = 0
    for s in searches:
        if len(out) >= MAX_SEARCH_PATHS or total + len(s) + (1 if out else 0) > MAX_SEARCH_CHARS:
            warnings.append("Search Line limits were exceeded, some search paths have been omitted")
            break
        total += len(s) + (1 if out else 0)
        out.append(s)
    return out


def pod_dns_config(pod: Mapping, cluster_dns: str | Sequence[str] | None, cluster_domain: str = "cluster.local",
                   host_resolv: str | None = None) -> PodDNSConfig:
    spec = pod.get("spec") or {}
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    cluster = [cluster_dns] if isinstance(cluster_dns, str) else list(cluster_dns or [])
    cluster = [c for c in cluster if c]
    host = parse_resolv_conf(host_resolv)
    warnings: list[str] = []
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet") and not cluster:
        warnings.append(f"pod: {policy!r} policy specified but no cluster DNS configured: falling back to "
                        "\"Default\" policy")
        policy = "Default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        domain = cluster_domain.strip(".")
        servers = list(cluster)
        searches = [f"{ns}.svc.{domain}", f"svc.{domain}", domain, *host.searches]
        options = [CLUSTER_NDOTS]
    elif policy == "Default":
        servers, searches, options = list(host.nameservers), list(host.searches), list(host.options)
    else:   # None
        servers, searches, options = [], [], []
    cfg = spec.get("dnsConfig") or {}
    servers = _unique([*servers, *(cfg.get("nameservers") or [])])
    searches = _unique([*searches, *(s.rstrip(".") for s in cfg.get("searches") or [])])
    options = _merge_options(options, cfg.get("options") or [])
    if len(servers) > MAX_NAMESERVERS:
        warnings.append("Nameserver limits were exceeded, some nameservers have been omitted, the applied "
                        f"nameserver line is: {' '.join(servers[:MAX_NAMESERVERS])}")
        servers = servers[:MAX_NAMESERVERS]
    searches = _fit_searches(searches, warnings)
    return PodDNSConfig(tuple(servers), tuple(searches), tuple(options), tuple(warnings))


def pod_resolv_conf(pod: Mapping, cluster_dns: str | Sequence[str] | None, cluster_domain: str = "cluster.local",
                    host_resolv: str | None = None) -> str:
    """The text of the pod's /etc/resolv.conf."""
    return pod_dns_config(pod, cluster_dns, cluster_domain, host_resolv).render()


HOSTS_HEADER = "# Kubernetes-managed hosts file.\n"
HOSTS_DEFAULTS = ("127.0.0.1\tlocalhost\n"
                  "::1\tlocalhost ip6-localhost ip6-loopback\n"
                  "fe00::0\tip6-localnet\n"
                  "fe00::0\tip6-mcastprefix\n"
                  "fe00::1\tip6-allnodes\n"
                  "fe00::2\tip6-allrouters\n")
HOST_ALIASES_HEADER = "# Entries added by HostAliases.\n"
HOST_NETWORK_HEADER = "# Kubernetes-managed hosts file (host network).\n"


def pod_hostname(pod: Mapping) -> str:
    spec = pod.get("spec") or {}
    return (spec.get("hostname") or (pod.get("metadata") or {}).get("name") or "")[:63].rstrip("-.")


def pod_hosts_file(pod: Mapping, pod_ips: Sequence[str], host_aliases: Sequence[Mapping] | None = None,
                   cluster_domain: str = "cluster.local", *, node_hosts: str = "") -> str:
    """The kubelet-managed /etc/hosts of a pod: localhost lines, one line per pod IP with its
    hostname (and FQDN when the pod has a subdomain), then hostAliases (default: the pod's).
    A hostNetwork pod gets the node's hosts file (`node_hosts`) plus its hostAliases."""
    spec = pod.get("spec") or {}
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    aliases = spec.get("hostAliases") if host_aliases is None else host_aliases
    if spec.get("hostNetwork"):
        out = [HOST_NETWORK_HEADER, node_hosts]
    else:
        hostname = pod_hostname(pod)
        fqdn = f"{hostname}.{spec['subdomain']}.{ns}.svc.{cluster_domain.strip('.')}" if spec.get("subdomain") else ""
        out = [HOSTS_HEADER, HOSTS_DEFAULTS]
        for ip in pod_ips:
            out.append(f"{ip}\t{fqdn}\t{hostname}\n" if fqdn else f"{ip}\t{hostname}\n")
    if aliases:
        out.append("\n" + HOST_ALIASES_HEADER)
        for a in aliases:
            names = a.get("hostnames") or []
            if a.get("ip") and names:
                out.append(f"{a['ip']}\t" + "\t".join(names) + "\n")
    return "".join(out)
