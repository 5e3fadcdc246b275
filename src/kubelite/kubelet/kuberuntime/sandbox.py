"""Pod spec -> the runtime's `PodSandboxConfig` (Kubernetes' `generatePodSandboxConfig`). Pure."""

from __future__ import annotations

from pathlib import Path

from kubelite.api.helpers import pod_qos_class

from ..dns import ResolvConf
from ..logs import pod_log_dir
from ..network.interface import PortMapping
from ..runtime.interface import DNSConfig, PodSandboxConfig
from . import labels as lb
from .resources import pod_resources


def port_mappings(pod: dict) -> list[PortMapping]:
    out = []
    for c in ((pod.get("spec") or {}).get("containers") or []) + ((pod.get("spec") or {}).get("initContainers") or []):
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append(PortMapping(container_port=int(p.get("containerPort") or 0), host_port=int(p["hostPort"]),
                                       protocol=str(p.get("protocol") or "TCP"), host_ip=str(p.get("hostIP") or "")))
    return out


def sandbox_config(pod: dict, *, attempt: int, hostname: str, resolv: ResolvConf | None, log_root: Path,
                   pids_limit: int, cfs_quota: bool = True) -> PodSandboxConfig:
    md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    ns = md.get("namespace") or "default"
    sc = spec.get("securityContext") or {}
    sysctls = {str(s.get("name")): str(s.get("value")) for s in sc.get("sysctls") or [] if s.get("name")}
    dns = None if resolv is None else DNSConfig(servers=list(resolv.nameservers), searches=list(resolv.searches),
                                                options=list(resolv.options))
    return PodSandboxConfig(
        name=md.get("name", ""),
        namespace=ns,
        uid=md.get("uid", ""),
        attempt=attempt,
        hostname=hostname,
        log_directory=str(pod_log_dir(log_root, ns, md.get("name", ""), md.get("uid", ""))),
        dns_config=dns,
        port_mappings=port_mappings(pod),
        labels=lb.pod_labels(pod),
        annotations=lb.sandbox_annotations(pod),
        host_network=bool(spec.get("hostNetwork")),
        host_pid=bool(spec.get("hostPID")),
        host_ipc=bool(spec.get("hostIPC")),
        share_process_namespace=bool(spec.get("shareProcessNamespace")),
        qos_class=pod_qos_class(pod),
        sysctls=sysctls,
        resources=pod_resources(pod, pids_limit=pids_limit, cfs_quota=cfs_quota),
    )
