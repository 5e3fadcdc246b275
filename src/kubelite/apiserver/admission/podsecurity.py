"""Pod Security admission: the Pod Security Standards (privileged, baseline, restricted), chosen per
namespace by the labels `pod-security.kubernetes.io/{enforce,audit,warn}`, with Kubernetes'
messages. `enforce` refuses pods; `warn` adds a Warning header (also for workload templates);
`audit` annotates the audit event.

The checks are pure functions of a pod spec: `check(level, pod_spec, metadata)` returns the list
of violations in Kubernetes' words.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from kubelite.machinery import errors
from kubelite.registry.generic.store import AdmissionAttributes

LABEL = "pod-security.kubernetes.io/"
LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPS = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                 "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"}
WORKLOAD_TEMPLATES = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
                      ("batch", "Job"), ("", "ReplicationController"), ("", "PodTemplate")}


def _containers(spec: dict) -> list[dict]:
    return (spec.get("initContainers") or []) + (spec.get("containers") or []) + \
        (spec.get("ephemeralContainers") or [])


def _names(cs: list[dict]) -> str:
    names = ", ".join(f'"{c.get("name", "")}"' for c in cs)
    return f"container {names}" if len(cs) == 1 else f"containers {names}"


def _join_quoted(items) -> str:
    return ", ".join(f'"{i}"' for i in items)


def check(level: str, spec: dict, meta: dict | None = None) -> list[str]:
    if level == "privileged":
        return []
    out: list[str] = []
    psc = spec.get("securityContext") or {}
    cs = _containers(spec)
    # -- baseline ----------------------------------------------------------------------------
    host = [f for f in ("hostNetwork", "hostPID", "hostIPC") if spec.get(f)]
    if host:
        out.append(f"host namespaces ({', '.join(f'{h}=true' for h in host)})")
    priv = [c for c in cs if (c.get("securityContext") or {}).get("privileged")]
    if priv:
        out.append(f"privileged ({_names(priv)} must not set securityContext.privileged=true)")
    bad_caps: dict[str, list[str]] = {}
    for c in cs:
        for cap in ((c.get("securityContext") or {}).get("capabilities") or {}).get("add") or []:
            if cap not in BASELINE_CAPS:
                bad_caps.setdefault(c.get("name", ""), []).append(cap)
    if bad_caps:
        parts = [f'container "{n}" must not include {_join_quoted(caps)} in securityContext.capabilities.add'
                 for n, caps in bad_caps.items()]
        out.append(f"non-default capabilities ({'; '.join(parts)})")
    hp = [v.get("name", "") for v in spec.get("volumes") or [] if "hostPath" in v]
    if hp:
        out.append(f"hostPath volumes ({'volume' if len(hp) == 1 else 'volumes'} {_join_quoted(hp)})")
    ports = [str(p.get("hostPort")) for c in cs for p in c.get("ports") or [] if p.get("hostPort")]
    if ports:
        out.append(f"hostPort ({_names([c for c in cs if any(p.get('hostPort') for p in c.get('ports') or [])])} "
                   f"uses {'hostPort' if len(ports) == 1 else 'hostPorts'} {', '.join(ports)})")
    if (psc.get("seccompProfile") or {}).get("type") == "Unconfined" or any(
            ((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type") == "Unconfined" for c in cs):
        out.append('seccompProfile (pod or containers must not set securityContext.seccompProfile.type to '
                   '"Unconfined")')
    bad_sysctls = [s.get("name", "") for s in psc.get("sysctls") or [] if s.get("name") not in SAFE_SYSCTLS]
    if bad_sysctls:
        out.append(f"forbidden sysctls ({', '.join(bad_sysctls)})")
    proc = [c for c in cs if (c.get("securityContext") or {}).get("procMount") not in (None, "Default")]
    if proc:
        out.append(f"procMount ({_names(proc)} must not set securityContext.procMount to \"Unmasked\")")
    if level == "baseline":
        return out
    # -- restricted --------------------------------------------------------------------------
    bad_vols = [(v.get("name", ""), next((k for k in v if k != "name"), "")) for v in spec.get("volumes") or []]
    bad_vols = [(n, t) for n, t in bad_vols if t not in RESTRICTED_VOLUMES and t != "hostPath"]
    if bad_vols:
        out.append(f"restricted volume types ({'volume' if len(bad_vols) == 1 else 'volumes'} "
                   f"{_join_quoted(n for n, _ in bad_vols)} "
                   f"{'uses' if len(bad_vols) == 1 else 'use'} restricted volume type "
                   f"{_join_quoted(sorted({t for _, t in bad_vols}))})")
    esc = [c for c in cs if (c.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False]
    if esc:
        out.append(f"allowPrivilegeEscalation != false ({_names(esc)} must set "
                   f"securityContext.allowPrivilegeEscalation=false)")
    drop_missing = [c for c in cs if "ALL" not in (((c.get("securityContext") or {}).get("capabilities") or {})
                                                     .get("drop") or [])]
    add_bad = [c for c in cs if any(a != "NET_BIND_SERVICE" for a in
                                    (((c.get("securityContext") or {}).get("capabilities") or {}).get("add") or []))]
    if drop_missing or add_bad:
        parts = []
        if drop_missing:
            parts.append(f'{_names(drop_missing)} must set securityContext.capabilities.drop=["ALL"]')
        if add_bad:
            parts.append(f'{_names(add_bad)} must not include capabilities other than "NET_BIND_SERVICE" in '
                         f'securityContext.capabilities.add')
        out.append(f"unrestricted capabilities ({'; '.join(parts)})")
    pod_nonroot = psc.get("runAsNonRoot") is True
    nonroot_bad = [c for c in cs if (c.get("securityContext") or {}).get("runAsNonRoot") is False or
                   (not pod_nonroot and (c.get("securityContext") or {}).get("runAsNonRoot") is not True)]
    if nonroot_bad:
        who = "pod or " + _names(nonroot_bad) if not pod_nonroot else _names(nonroot_bad)
        out.append(f"runAsNonRoot != true ({who} must set securityContext.runAsNonRoot=true)")
    root_users = [c for c in cs if (c.get("securityContext") or {}).get("runAsUser") == 0]
    if psc.get("runAsUser") == 0:
        out.append("runAsUser=0 (pod must not set runAsUser=0)")
    elif root_users:
        out.append(f"runAsUser=0 ({_names(root_users)} must not set runAsUser=0)")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type") in ("RuntimeDefault", "Localhost")
    sc_bad = [c for c in cs if ((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
              not in ("RuntimeDefault", "Localhost") and not pod_seccomp]
    if sc_bad:
        out.append(f'seccompProfile (pod or {_names(sc_bad)} must set securityContext.seccompProfile.type to '
                   f'"RuntimeDefault" or "Localhost")')
    return out


def namespace_levels(ns: dict | None) -> dict[str, str]:
    labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
    out = {}
    for mode in ("enforce", "audit", "warn"):
        lvl = labels.get(LABEL + mode)
        if lvl in LEVELS:
            out[mode] = lvl
    return out


class PodSecurity:
    def __init__(self, get_namespace: Callable[[str], Awaitable[dict | None]]):
        self.get_namespace = get_namespace

    async def admit(self, a: AdmissionAttributes) -> None:
        return None

    async def validate(self, a: AdmissionAttributes) -> None:
        if a.operation not in ("CREATE", "UPDATE") or a.subresource or not a.namespace:
            return
        key = (a.resource.group, a.resource.kind)
        is_pod = key == ("", "Pod")
        if not is_pod and key not in WORKLOAD_TEMPLATES:
            return
        if is_pod and a.operation == "UPDATE":
            return  # pod specs are (nearly) immutable; Kubernetes re-checks only on create
        levels = namespace_levels(await self.get_namespace(a.namespace))
        if not levels:
            return
        obj = a.obj or {}
        spec = obj.get("spec") or {}
        if not is_pod:
            spec = ((spec.get("jobTemplate") or {}).get("spec") or spec).get("template", {}).get("spec") or {}
        name = (obj.get("metadata") or {}).get("name", "")
        enforce = levels.get("enforce")
        if is_pod and enforce:
            v = check(enforce, spec)
            if v:
                raise errors.new_forbidden("", "pods", name,
                                           f'violates PodSecurity "{enforce}:latest": {", ".join(v)}')
        warn = levels.get("warn")
        if warn:
            v = check(warn, spec)
            if v:
                a.options.setdefault("warnings", []).append(
                    f'would violate PodSecurity "{warn}:latest": {", ".join(v)}')
        audit = levels.get("audit")
        if audit:
            v = check(audit, spec)
            if v:
                a.options.setdefault("audit_annotations", {})["pod-security.kubernetes.io/audit-violations"] = \
                    f'would violate PodSecurity "{audit}:latest": {", ".join(v)}'
