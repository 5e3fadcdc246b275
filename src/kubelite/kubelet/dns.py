"""A pod's DNS settings (resolv.conf) and its /etc/hosts, as the kubelet writes them.

Kubernetes' `pkg/kubelet/network/dns`: dnsPolicy `ClusterFirst` (the default; `Default` for a
hostNetwork pod), `ClusterFirstWithHostNet`, `Default` (the node's resolv.conf) and `None`,
then `dnsConfig` appended. And `kubelet_pods.go`'s managed hosts file. Pure, apart from
`read_resolv_conf`. (Private versions: `kubelite.dns` may take these over.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_NAMESERVERS = 3
MAX_SEARCHES = 32


@dataclass
class ResolvConf:
    nameservers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


def parse_resolv_conf(text: str) -> ResolvConf:
    out = ResolvConf()
    for line in text.splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        word, *rest = line.split()
        if word == "nameserver" and rest:
            out.nameservers.append(rest[0])
        elif word in ("search", "domain"):
            out.searches = list(rest)
        elif word == "options":
            out.options += rest
    return out


def read_resolv_conf(path: str) -> ResolvConf:
    try:
        with open(path) as f:
            return parse_resolv_conf(f.read())
    except OSError:
        return ResolvConf()


def dns_type(pod: dict) -> str:
    """"cluster" | "host" | "none"."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        return "none"
    if policy == "ClusterFirstWithHostNet":
        return "cluster"
    if policy == "ClusterFirst" and not spec.get("hostNetwork"):
        return "cluster"
    return "host"


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _merge_options(base: list[str], extra: list[dict]) -> list[str]:
    opts: dict[str, str] = {}
    for o in base:
        name, sep, value = o.partition(":")
        opts[name] = o
    for o in extra:
        name = str(o.get("name") or "")
        if not name:
            continue
        value = o.get("value")
        opts[name] = f"{name}:{value}" if value not in (None, "") else name
    return list(opts.values())


def pod_resolv_conf(pod: dict, cluster_dns: list[str], cluster_domain: str, host: ResolvConf
                    ) -> tuple[ResolvConf, str]:
    """The pod's resolv.conf and a warning ("" if none) for a MissingClusterDNS event."""
    kind = dns_type(pod)
    warning = ""
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    if kind == "cluster" and not cluster_dns:
        policy = (pod.get("spec") or {}).get("dnsPolicy") or "ClusterFirst"
        warning = (f"kubelet does not have ClusterDNS IP configured and cannot create Pod using \"{policy}\" "
                   f"policy. Falling back to \"Default\" policy.")
        kind = "host"
    if kind == "none":
        conf = ResolvConf()
    elif kind == "cluster":
        searches = [f"{ns}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain] + host.searches
        conf = ResolvConf(list(cluster_dns), _dedupe(searches), ["ndots:5"])
    else:
        conf = ResolvConf(list(host.nameservers), list(host.searches), list(host.options))
    extra = (pod.get("spec") or {}).get("dnsConfig") or {}
    if extra:
        conf.nameservers = _dedupe(conf.nameservers + [str(s) for s in extra.get("nameservers") or []])
        conf.searches = _dedupe(conf.searches + [str(s) for s in extra.get("searches") or []])
        conf.options = _merge_options(conf.options, [o for o in extra.get("options") or [] if isinstance(o, dict)])
    conf.nameservers = conf.nameservers[:MAX_NAMESERVERS]
    conf.searches = conf.searches[:MAX_SEARCHES]
    return conf, warning


_HOSTS_HEADER = """# Kubernetes-managed hosts file.
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
fe00::0\tip6-mcastprefix
fe00::1\tip6-allnodes
fe00::2\tip6-allrouters
"""


def pod_hostname(pod: dict, node_hostname: str = "") -> tuple[str, str]:
    """(hostname, hostDomain): hostname = spec.hostname or the pod name (truncated to 63);
    the domain is `<subdomain>.<ns>.svc.<cluster domain>` when subdomain is set (without the
    cluster domain here: the caller appends it)."""
    spec = pod.get("spec") or {}
    md = pod.get("metadata") or {}
    if spec.get("hostNetwork"):
        return node_hostname, ""
    hostname = spec.get("hostname") or md.get("name", "")
    hostname = hostname[:63].rstrip("-.")
    subdomain = spec.get("subdomain") or ""
    return hostname, subdomain


def _aliases(host_aliases: list[dict]) -> str:
    if not host_aliases:
        return ""
    lines = ["", "# Entries added by HostAliases."]
    for a in host_aliases:
        names = [str(h) for h in a.get("hostnames") or []]
        if a.get("ip") and names:
            lines.append(f"{a['ip']}\t" + "\t".join(names))
    return "\n".join(lines) + "\n"


def pod_hosts_file(pod: dict, pod_ips: list[str], cluster_domain: str, *, node_hosts: str = "") -> str:
    """The pod's /etc/hosts (the node's own, plus aliases, for a hostNetwork pod)."""
    spec = pod.get("spec") or {}
    aliases = [a for a in spec.get("hostAliases") or [] if isinstance(a, dict)]
    if spec.get("hostNetwork"):
        return "# Kubernetes-managed hosts file (host network).\n" + node_hosts + _aliases(aliases)
    out = _HOSTS_HEADER
    hostname, subdomain = pod_hostname(pod)
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    for ip in pod_ips:
        if subdomain:
            out += f"{ip}\t{hostname}.{subdomain}.{ns}.svc.{cluster_domain}\t{hostname}\n"
        else:
            out += f"{ip}\t{hostname}\n"
    return out + _aliases(aliases)
