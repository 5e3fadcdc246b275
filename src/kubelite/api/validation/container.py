"""Containers: names, images, ports, env, mounts, resources, probes, lifecycle, security context.

Kubernetes' `validateContainers`, `validateInitContainers` and `validateContainerCommon`
(`pkg/apis/core/validation/validation.go`).
"""

from __future__ import annotations

import posixpath
from fractions import Fraction
from typing import Any

from kubelite.machinery import quantity
from kubelite.machinery.errors import (FieldError, duplicate, forbidden, invalid, not_found, not_supported,
                                       required)

from . import gotext, names
from .meta import (child, index, int_of, is_set, key, list_of, nonnegative, obj_of, port_num_or_name,
                   qualified_name, text)

PROTOCOLS = ("SCTP", "TCP", "UDP")                        # sorted, as sets.List prints them
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
ENV_FIELD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                   "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")
RESOURCE_FIELD_PATHS = ("limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
                        "requests.ephemeral-storage", "requests.memory")
HTTP_SCHEMES = ("HTTP", "HTTPS")
MOUNT_PROPAGATIONS = ("Bidirectional", "HostToContainer", "None")
SECCOMP_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
NOT_FOR_INIT = "may not be set for init containers without restartPolicy=Always"
MAX_ID = 2147483647


# -- resources ---------------------------------------------------------------------------------------

def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def is_extended_resource_name(name: str) -> bool:
    if _is_native(name) or name.startswith("requests."):
        return False
    return not names.is_qualified_name("requests." + name)


def _overcommit_allowed(name: str) -> bool:
    return _is_native(name) and not _is_hugepages(name)


def _quantity(v: Any) -> Fraction | None:
    try:
        return quantity.parse(v)
    except (quantity.QuantityError, ValueError, ZeroDivisionError, TypeError):
        return None


def quantity_text(v: Any) -> str:
    return v if isinstance(v, str) else str(v)


def container_resource_name(name: str, path: str) -> list[FieldError]:
    errs = [invalid(path, name, m) for m in names.is_qualified_name(name)]
    if "/" not in name:
        if name not in ("cpu", "memory", "ephemeral-storage") and not _is_hugepages(name):
            errs.append(invalid(path, name, "must be a standard resource for containers"))
    elif not _is_native(name) and not is_extended_resource_name(name):
        errs.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return errs


def resource_quantity_value(name: str, q: Any, path: str) -> list[FieldError]:
    v = _quantity(q)
    if v is None:
        return [invalid(path, quantity_text(q), "quantities must match the regular expression "
                                                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    errs = []
    if v < 0:
        errs.append(invalid(path, quantity_text(q), "must be greater than or equal to 0"))
    if is_extended_resource_name(name) and (v * 1000) % 1000 != 0:
        errs.append(invalid(path, quantity_text(q), "must be an integer"))
    return errs


def resources(res: Any, path: str) -> list[FieldError]:
    """`ValidateResourceRequirements`: names, quantities, requests <= limits."""
    res = obj_of(res)
    limits, requests = obj_of(res.get("limits")), obj_of(res.get("requests"))
    lim_path, req_path = child(path, "limits"), child(path, "requests")
    errs: list[FieldError] = []
    cpu_or_mem = hugepages = False
    for name, q in sorted(limits.items()):
        p = key(lim_path, name)
        errs += container_resource_name(name, p)
        errs += resource_quantity_value(name, q, p)
        cpu_or_mem |= name in ("cpu", "memory")
        hugepages |= _is_hugepages(name)
    for name, q in sorted(requests.items()):
        p = key(req_path, name)
        errs += container_resource_name(name, p)
        errs += resource_quantity_value(name, q, p)
        cpu_or_mem |= name in ("cpu", "memory")
        hugepages |= _is_hugepages(name)
        if name in limits:
            rq, lq = _quantity(q), _quantity(limits[name])
            if rq is None or lq is None:
                continue
            if rq != lq and not _overcommit_allowed(name):
                errs.append(invalid(req_path, quantity_text(q),
                                    f"must be equal to {name} limit of {quantity_text(limits[name])}"))
            elif rq > lq:
                errs.append(invalid(req_path, quantity_text(q),
                                    f"must be less than or equal to {name} limit of {quantity_text(limits[name])}"))
        elif not _overcommit_allowed(name):
            errs.append(required(lim_path, "Limit must be set for non overcommitable resources"))
    if hugepages and not cpu_or_mem:
        errs.append(forbidden(path, "HugePages require cpu or memory"))
    return errs


# -- ports, env, mounts ------------------------------------------------------------------------------

def ports(items: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, port in enumerate(list_of(items)):
        port = obj_of(port)
        p = index(path, i)
        name = text(port.get("name"))
        if name:
            msgs = names.is_valid_port_name(name)
            if msgs:
                errs += [invalid(child(p, "name"), name, m) for m in msgs]
            elif name in seen:
                errs.append(duplicate(child(p, "name"), name))
            else:
                seen.add(name)
        cp = port.get("containerPort")
        if not cp:
            errs.append(required(child(p, "containerPort")))
        else:
            errs += [invalid(child(p, "containerPort"), cp, m) for m in names.is_valid_port_num(int_of(cp))]
        hp = port.get("hostPort")
        if hp:
            errs += [invalid(child(p, "hostPort"), hp, m) for m in names.is_valid_port_num(int_of(hp))]
        proto = text(port.get("protocol"))
        if not proto:
            errs.append(required(child(p, "protocol")))
        elif proto not in PROTOCOLS:
            errs.append(not_supported(child(p, "protocol"), proto, PROTOCOLS))
    return errs


def host_port_conflicts(containers: list, path: str, seen: set[str] | None = None) -> list[FieldError]:
    seen = set() if seen is None else seen
    errs: list[FieldError] = []
    for ci, ctr in enumerate(containers):
        for pi, port in enumerate(list_of(obj_of(ctr).get("ports"))):
            port = obj_of(port)
            hp = int_of(port.get("hostPort")) or 0
            if not hp:
                continue
            s = f"{port.get('protocol', '')}/{port.get('hostIP', '')}/{hp}"
            if s in seen:
                errs.append(duplicate(child(index(child(index(path, ci), "ports"), pi), "hostPort"), s))
            else:
                seen.add(s)
    return errs


def object_field_selector(fs: dict, valid: tuple[str, ...], path: str) -> list[FieldError]:
    if not fs.get("apiVersion"):
        return [required(child(path, "apiVersion"))]
    fp = text(fs.get("fieldPath"))
    if not fp:
        return [required(child(path, "fieldPath"))]
    if fs.get("apiVersion") != "v1":
        return [invalid(child(path, "fieldPath"), fp,
                        f'error converting fieldPath: unsupported pod version: {fs.get("apiVersion")}')]
    base, sep, rest = fp.partition("[")
    if sep and rest.endswith("]"):
        sub = rest[:-1].strip("'")
        if base == "metadata.annotations":
            return qualified_name(sub.lower(), path)
        if base == "metadata.labels":
            return qualified_name(sub, path)
        return [invalid(path, base, "does not support subscript")]
    if fp not in valid:
        return [not_supported(child(path, "fieldPath"), fp, valid)]
    return []


def resource_field_selector(fs: dict, path: str, *, volume: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    if volume and not fs.get("containerName"):
        errs.append(required(child(path, "containerName")))
    res = text(fs.get("resource"))
    if not res:
        errs.append(required(child(path, "resource")))
    elif res not in RESOURCE_FIELD_PATHS and not res.startswith(("limits.hugepages-", "requests.hugepages-")):
        errs.append(not_supported(child(path, "resource"), res, RESOURCE_FIELD_PATHS))
    return errs


def _key_selector(sel: dict, path: str) -> list[FieldError]:
    errs = [invalid(child(path, "name"), text(sel.get("name")), m)
            for m in names.name_is_dns_subdomain(text(sel.get("name")), False)]
    k = text(sel.get("key"))
    if not k:
        errs.append(required(child(path, "key")))
    else:
        errs += [invalid(child(path, "key"), k, m) for m in names.is_config_map_key(k)]
    return errs


def env(items: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ev in enumerate(list_of(items)):
        ev = obj_of(ev)
        p = index(path, i)
        name = text(ev.get("name"))
        if not name:
            errs.append(required(child(p, "name")))
        else:
            errs += [invalid(child(p, "name"), name, m) for m in names.is_relaxed_env_var_name(name)]
        vf = ev.get("valueFrom")
        if vf is None:
            continue
        vf, vp = obj_of(vf), child(p, "valueFrom")
        n = 0
        if vf.get("fieldRef") is not None:
            n += 1
            errs += object_field_selector(obj_of(vf["fieldRef"]), ENV_FIELD_PATHS, child(vp, "fieldRef"))
        if vf.get("resourceFieldRef") is not None:
            n += 1
            errs += resource_field_selector(obj_of(vf["resourceFieldRef"]), child(vp, "resourceFieldRef"),
                                            volume=False)
        for src in ("configMapKeyRef", "secretKeyRef"):
            if vf.get(src) is not None:
                n += 1
                errs += _key_selector(obj_of(vf[src]), child(vp, src))
        if n == 0:
            errs.append(invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` "
                                        "or `secretKeyRef`"))
        elif ev.get("value"):
            errs.append(invalid(vp, "", "may not be specified when `value` is not empty"))
        elif n > 1:
            errs.append(invalid(vp, "", "may not have more than one field specified at a time"))
    return errs


def env_from(items: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, src in enumerate(list_of(items)):
        src = obj_of(src)
        p = index(path, i)
        if src.get("prefix"):
            errs += [invalid(child(p, "prefix"), src["prefix"], m)
                     for m in names.is_relaxed_env_var_name(src["prefix"])]
        n = 0
        for ref in ("configMapRef", "secretRef"):
            if src.get(ref) is None:
                continue
            n += 1
            name = text(obj_of(src[ref]).get("name"))
            if not name:
                errs.append(required(child(p, ref, "name")))
            else:
                errs += [invalid(child(p, ref, "name"), name, m) for m in names.name_is_dns_subdomain(name, True)]
        if n == 0:
            errs.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif n > 1:
            errs.append(invalid(path, "", "may not have more than one field specified at a time"))
    return errs


def local_descending_path(target: str, path: str) -> list[FieldError]:
    errs = []
    if posixpath.isabs(target):
        errs.append(invalid(path, target, "must be a relative path"))
    errs += no_backsteps(target, path)
    return errs


def no_backsteps(target: str, path: str) -> list[FieldError]:
    if ".." in target.replace("\\", "/").split("/"):
        return [invalid(path, target, "must not contain '..'")]
    return []


def volume_mounts(mounts: Any, volumes: dict[str, dict], ctr: dict, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    mount_points: set[str] = set()
    privileged = obj_of(ctr.get("securityContext")).get("privileged") is True
    for i, m in enumerate(list_of(mounts)):
        m = obj_of(m)
        p = index(path, i)
        name = text(m.get("name"))
        if not name:
            errs.append(required(child(p, "name")))
        if name not in volumes:
            errs.append(not_found(child(p, "name"), name))
        mp = text(m.get("mountPath"))
        if not mp:
            errs.append(required(child(p, "mountPath")))
        if mp in mount_points:
            errs.append(invalid(child(p, "mountPath"), mp, "must be unique"))
        mount_points.add(mp)
        if m.get("subPath"):
            errs += local_descending_path(m["subPath"], child(path, "subPath"))
        if m.get("subPathExpr"):
            if m.get("subPath"):
                errs.append(invalid(child(p, "subPathExpr"), m["subPathExpr"],
                                    "subPathExpr and subPath are mutually exclusive"))
            errs += local_descending_path(m["subPathExpr"], child(path, "subPathExpr"))
        prop = m.get("mountPropagation")
        if prop is not None:
            pp = child(path, "mountPropagation")
            if prop not in MOUNT_PROPAGATIONS:
                errs.append(not_supported(pp, prop, MOUNT_PROPAGATIONS))
            elif prop == "Bidirectional" and not privileged:
                errs.append(forbidden(pp, "Bidirectional mount propagation is available only to privileged "
                                          "containers"))
    return errs


# -- probes and lifecycle ----------------------------------------------------------------------------

def _http_get(h: dict, path: str) -> list[FieldError]:
    errs = []
    if not h.get("path"):
        errs.append(required(child(path, "path")))
    errs += port_num_or_name(h.get("port"), child(path, "port"))
    scheme = text(h.get("scheme"))
    if scheme not in HTTP_SCHEMES:
        errs.append(not_supported(child(path, "scheme"), scheme, HTTP_SCHEMES))
    for hdr in list_of(h.get("httpHeaders")):
        hname = text(obj_of(hdr).get("name"))
        errs += [invalid(child(path, "httpHeaders"), hname, m) for m in names.is_http_header_name(hname)]
    return errs


def handler(h: dict, path: str, *, kinds: tuple[str, ...], grace: int | None = None) -> list[FieldError]:
    """`validateHandler`: exactly one action among `kinds`, each checked."""
    errs: list[FieldError] = []
    n = 0
    for kind in kinds:
        action = h.get(kind)
        if action is None:
            continue
        p = child(path, kind)
        if n > 0:
            errs.append(forbidden(p, "may not specify more than 1 handler type"))
            continue
        n += 1
        action = obj_of(action)
        if kind == "exec":
            if not list_of(action.get("command")):
                errs.append(required(child(p, "command")))
        elif kind == "httpGet":
            errs += _http_get(action, p)
        elif kind == "tcpSocket":
            errs += port_num_or_name(action.get("port"), child(p, "port"))
        elif kind == "grpc":
            port = action.get("port")
            errs += [invalid(child(p, "port"), port, m) for m in names.is_valid_port_num(int_of(port))]
        elif kind == "sleep":
            secs = int_of(action.get("seconds"))
            g = 30 if grace is None else grace
            if secs is None or secs <= 0 or secs > g:
                errs.append(invalid(child(p, "seconds"), action.get("seconds"),
                                    f"must be greater than 0 and less than terminationGracePeriodSeconds ({g}). "
                                    "Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep."))
    if n == 0:
        errs.append(required(path, "must specify a handler type"))
    return errs


def probe(pr: Any, path: str, *, kind: str) -> list[FieldError]:
    if pr is None:
        return []
    pr = obj_of(pr)
    errs = handler(pr, path, kinds=("exec", "httpGet", "tcpSocket", "grpc"))
    for f in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        errs += nonnegative(pr.get(f), child(path, f))
    tg = pr.get("terminationGracePeriodSeconds")
    if tg is not None and int_of(tg) is not None and tg <= 0:
        errs.append(invalid(child(path, "terminationGracePeriodSeconds"), tg, "must be greater than 0"))
    if kind in ("liveness", "startup"):
        st = pr.get("successThreshold")
        if st is not None and st != 1:
            errs.append(invalid(child(path, "successThreshold"), st, "must be 1"))
    elif kind == "readiness" and tg is not None:
        errs.append(invalid(child(path, "terminationGracePeriodSeconds"), tg, "must not be set for readinessProbes"))
    return errs


def lifecycle(lc: Any, path: str, grace: int | None) -> list[FieldError]:
    errs: list[FieldError] = []
    lc = obj_of(lc)
    for hook in ("postStart", "preStop"):
        if lc.get(hook) is not None:
            errs += handler(obj_of(lc[hook]), child(path, hook), kinds=("exec", "httpGet", "tcpSocket", "sleep"),
                            grace=grace)
    return errs


def _probes(ctr: dict, path: str) -> list[FieldError]:
    return (probe(ctr.get("livenessProbe"), child(path, "livenessProbe"), kind="liveness")
            + probe(ctr.get("readinessProbe"), child(path, "readinessProbe"), kind="readiness")
            + probe(ctr.get("startupProbe"), child(path, "startupProbe"), kind="startup"))


# -- security context --------------------------------------------------------------------------------

def id_range(v: Any, path: str) -> list[FieldError]:
    n = int_of(v)
    if n is not None and not 0 <= n <= MAX_ID:
        return [invalid(path, n, names.inclusive_range_error(0, MAX_ID))]
    return []


def seccomp_profile(sp: Any, path: str) -> list[FieldError]:
    if sp is None:
        return []
    sp = obj_of(sp)
    t = text(sp.get("type"))
    errs: list[FieldError] = []
    if t not in SECCOMP_TYPES:
        errs.append(not_supported(child(path, "type"), t, SECCOMP_TYPES))
    if t == "Localhost" and not sp.get("localhostProfile"):
        errs.append(required(child(path, "localhostProfile"), "must be set when seccomp type is Localhost"))
    elif t != "Localhost" and sp.get("localhostProfile") is not None:
        errs.append(invalid(child(path, "localhostProfile"), sp["localhostProfile"],
                            "can only be set when seccomp type is Localhost"))
    return errs


def security_context(sc: Any, path: str) -> list[FieldError]:
    if sc is None:
        return []
    sc = obj_of(sc)
    errs = id_range(sc.get("runAsUser"), child(path, "runAsUser"))
    errs += id_range(sc.get("runAsGroup"), child(path, "runAsGroup"))
    pm = sc.get("procMount")
    if pm is not None and pm not in ("Default", "Unmasked"):
        errs.append(not_supported(child(path, "procMount"), pm, ("Default", "Unmasked")))
    errs += seccomp_profile(sc.get("seccompProfile"), child(path, "seccompProfile"))
    if sc.get("allowPrivilegeEscalation") is False:
        shown = gotext.GoValue("core.SecurityContext{...}")
        if sc.get("privileged") is True:
            errs.append(invalid(path, shown, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
        for cap in list_of(obj_of(sc.get("capabilities")).get("add")):
            if cap == "CAP_SYS_ADMIN":
                errs.append(invalid(path, shown, "cannot set `allowPrivilegeEscalation` to false and "
                                                 "`capabilities.Add` CAP_SYS_ADMIN"))
    return errs


# -- containers --------------------------------------------------------------------------------------

def container_common(ctr: dict, volumes: dict[str, dict], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = text(ctr.get("name"))
    if not name:
        errs.append(required(child(path, "name")))
    else:
        errs += [invalid(child(path, "name"), name, m) for m in names.is_dns1123_label(name)]
    if not ctr.get("image"):
        errs.append(required(child(path, "image")))
    tmp = text(ctr.get("terminationMessagePolicy"))
    if not tmp:
        errs.append(required(child(path, "terminationMessagePolicy"), "must be 'File' or 'FallbackToLogsOnError'"))
    elif tmp not in ("File", "FallbackToLogsOnError"):
        errs.append(invalid(child(path, "terminationMessagePolicy"), tmp, "must be 'File' or 'FallbackToLogsOnError'"))
    errs += ports(ctr.get("ports"), child(path, "ports"))
    errs += env(ctr.get("env"), child(path, "env"))
    errs += env_from(ctr.get("envFrom"), child(path, "envFrom"))
    errs += volume_mounts(ctr.get("volumeMounts"), volumes, ctr, child(path, "volumeMounts"))
    pull = text(ctr.get("imagePullPolicy"))
    if not pull:
        errs.append(required(child(path, "imagePullPolicy")))
    elif pull not in PULL_POLICIES:
        errs.append(not_supported(child(path, "imagePullPolicy"), pull, PULL_POLICIES))
    errs += resources(ctr.get("resources"), child(path, "resources"))
    errs += security_context(ctr.get("securityContext"), child(path, "securityContext"))
    return errs


def containers(items: Any, volumes: dict[str, dict], path: str, grace: int | None) -> list[FieldError]:
    items = [obj_of(c) for c in list_of(items)]
    errs: list[FieldError] = []
    if not items:
        errs.append(required(path))
    seen: set[str] = set()
    for i, ctr in enumerate(items):
        p = index(path, i)
        errs += container_common(ctr, volumes, p)
        name = text(ctr.get("name"))
        if name in seen:
            errs.append(duplicate(child(p, "name"), name))
        else:
            seen.add(name)
        if ctr.get("lifecycle") is not None:
            errs += lifecycle(ctr["lifecycle"], child(p, "lifecycle"), grace)
        errs += _probes(ctr, p)
        if ctr.get("restartPolicy") is not None:
            errs.append(forbidden(child(p, "restartPolicy"), "may not be set for non-init containers"))
    errs += host_port_conflicts(items, path)
    return errs


def init_containers(items: Any, regular: Any, volumes: dict[str, dict], path: str, grace: int | None
                    ) -> list[FieldError]:
    errs: list[FieldError] = []
    seen = {text(obj_of(c).get("name")) for c in list_of(regular)}
    for i, ctr in enumerate(list_of(items)):
        ctr = obj_of(ctr)
        p = index(path, i)
        errs += container_common(ctr, volumes, p)
        sidecar = False
        rp = ctr.get("restartPolicy")
        if rp is not None:
            if rp != "Always":
                errs.append(not_supported(child(p, "restartPolicy"), rp, ("Always",)))
            sidecar = rp == "Always"
        name = text(ctr.get("name"))
        if name in seen:
            errs.append(duplicate(child(p, "name"), name))
        elif name:
            seen.add(name)
        errs += host_port_conflicts([ctr], path)
        if sidecar:
            if ctr.get("lifecycle") is not None:
                errs += lifecycle(ctr["lifecycle"], child(p, "lifecycle"), grace)
            errs += _probes(ctr, p)
        else:
            for f in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if ctr.get(f) is not None:
                    errs.append(forbidden(child(p, f), NOT_FOR_INIT))
        if is_set(ctr.get("resizePolicy")):
            errs.append(invalid(child(p, "resizePolicy"), gotext.GoValue("[]core.ContainerResizePolicy{...}"),
                                "must not be set for init containers"))
    return errs


def only_for_pod(items: Any, path: str) -> list[FieldError]:
    """`validateContainersOnlyForPod`: image whitespace is checked on pods, not templates."""
    errs = []
    for i, ctr in enumerate(list_of(items)):
        image = text(obj_of(ctr).get("image"))
        if len(image.strip()) != len(image):
            errs.append(invalid(child(index(path, i), "image"), image, "must not have leading or trailing whitespace"))
    return errs
