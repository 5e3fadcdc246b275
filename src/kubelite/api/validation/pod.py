"""Pods, pod specs and pod templates: Kubernetes' `ValidatePodSpec`, `ValidatePodCreate`,
`ValidatePodUpdate`, `ValidatePodStatusUpdate` and `ValidatePodTemplateSpec`."""

from __future__ import annotations

import copy
import json
from typing import Any

from kubelite.machinery.errors import FieldError, duplicate, forbidden, invalid, not_supported, required

from . import gotext, names
from .container import (containers, id_range, init_containers, only_for_pod, resource_quantity_value,
                        seccomp_profile)
from .meta import (annotations, child, dns1123_label, immutable, index, int_of, key, label_name, label_selector,
                   labels, list_of, normalize, obj_of, qualified_name, text)
from .volume import volumes

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
SCHEDULE_ACTIONS = ("DoNotSchedule", "ScheduleAnyway")
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
FS_GROUP_CHANGE_POLICIES = ("Always", "OnRootMismatch")
MAX_INT32 = 2147483647
POD_UPDATE_MSG = ("pod updates may not change fields other than `spec.containers[*].image`,"
                  "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                  "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                  "(allow it to be set to 1 if it was previously negative)")


# -- scheduling constraints --------------------------------------------------------------------------

def taint_effect(effect: Any, path: str, *, allow_empty: bool) -> list[FieldError]:
    if not effect:
        return [] if allow_empty else [required(path)]
    if effect not in TAINT_EFFECTS:
        return [not_supported(path, effect, TAINT_EFFECTS)]
    return []


def tolerations(items: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, t in enumerate(list_of(items)):
        t, p = obj_of(t), index(path, i)
        k, op, v, eff = text(t.get("key")), text(t.get("operator")), text(t.get("value")), text(t.get("effect"))
        if k:
            errs += label_name(k, child(p, "key"))
        if not k and op != "Exists":
            errs.append(invalid(child(p, "operator"), op, 'operator must be Exists when `key` is empty, which '
                                                          'means "match all values and all keys"'))
        if t.get("tolerationSeconds") is not None and eff != "NoExecute":
            errs.append(invalid(child(p, "effect"), eff, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("Equal", ""):
            msgs = names.is_valid_label_value(v)
            if msgs:
                errs.append(invalid(child(p, "operator"), v, ";".join(msgs)))
        elif op == "Exists":
            if v:
                errs.append(invalid(child(p, "operator"), gotext.GoValue("core.Toleration{...}"),
                                    "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(not_supported(child(p, "operator"), op, ("Equal", "Exists")))
        errs += taint_effect(eff, child(p, "effect"), allow_empty=True)
    return errs


def _node_selector_requirements(reqs: Any, path: str, *, fields: bool = False) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, rq in enumerate(list_of(reqs)):
        rq, p = obj_of(rq), index(path, i)
        op, vals = rq.get("operator"), list_of(rq.get("values"))
        if op in ("In", "NotIn"):
            if not vals:
                errs.append(required(child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if vals:
                errs.append(forbidden(child(p, "values"),
                                      "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        elif op in ("Gt", "Lt"):
            if len(vals) != 1:
                errs.append(required(child(p, "values"),
                                     "must be specified single value when `operator` is 'Lt' or 'Gt'"))
        else:
            errs.append(invalid(child(p, "operator"), op or "", "not a valid selector operator"))
        if not fields:
            errs += label_name(text(rq.get("key")), child(p, "key"))
    return errs


def _node_selector_term(term: Any, path: str) -> list[FieldError]:
    term = obj_of(term)
    return (_node_selector_requirements(term.get("matchExpressions"), child(path, "matchExpressions"))
            + _node_selector_requirements(term.get("matchFields"), child(path, "matchFields"), fields=True))


def _weight(w: Any, path: str) -> list[FieldError]:
    n = int_of(w)
    if n is None or not 1 <= n <= 100:
        return [invalid(path, w, "must be in the range 1-100")]
    return []


def _pod_affinity_term(term: Any, path: str) -> list[FieldError]:
    term = obj_of(term)
    errs = label_selector(term.get("labelSelector"), child(path, "labelSelector"))
    errs += label_selector(term.get("namespaceSelector"), child(path, "namespaceSelector"))
    for i, ns in enumerate(list_of(term.get("namespaces"))):
        errs += [invalid(index(child(path, "namespaces"), i), ns, m) for m in names.is_dns1123_label(ns)]
    tk = text(term.get("topologyKey"))
    if not tk:
        errs.append(required(child(path, "topologyKey"), "can not be empty"))
    else:
        errs += label_name(tk, child(path, "topologyKey"))
    return errs


def affinity(aff: Any, path: str) -> list[FieldError]:
    aff = obj_of(aff)
    errs: list[FieldError] = []
    na = obj_of(aff.get("nodeAffinity"))
    req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
    rp = child(path, "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    if req is not None:
        terms = list_of(obj_of(req).get("nodeSelectorTerms"))
        if not terms:
            errs.append(required(child(rp, "nodeSelectorTerms"), "must have at least one node selector term"))
        for i, t in enumerate(terms):
            errs += _node_selector_term(t, index(child(rp, "nodeSelectorTerms"), i))
    pp = child(path, "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
    for i, t in enumerate(list_of(na.get("preferredDuringSchedulingIgnoredDuringExecution"))):
        t = obj_of(t)
        errs += _weight(t.get("weight"), child(index(pp, i), "weight"))
        errs += _node_selector_term(t.get("preference"), child(index(pp, i), "preference"))
    for kind in ("podAffinity", "podAntiAffinity"):
        pa = obj_of(aff.get(kind))
        rp = child(path, kind, "requiredDuringSchedulingIgnoredDuringExecution")
        for i, t in enumerate(list_of(pa.get("requiredDuringSchedulingIgnoredDuringExecution"))):
            errs += _pod_affinity_term(t, index(rp, i))
        pp = child(path, kind, "preferredDuringSchedulingIgnoredDuringExecution")
        for i, t in enumerate(list_of(pa.get("preferredDuringSchedulingIgnoredDuringExecution"))):
            t = obj_of(t)
            errs += _weight(t.get("weight"), child(index(pp, i), "weight"))
            errs += _pod_affinity_term(t.get("podAffinityTerm"), child(index(pp, i), "podAffinityTerm"))
    return errs


def topology_spread(items: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    items = [obj_of(c) for c in list_of(items)]
    for i, c in enumerate(items):
        p = index(path, i)
        skew = c.get("maxSkew")
        if int_of(skew) is None or skew <= 0:
            errs.append(invalid(child(p, "maxSkew"), skew, "must be greater than zero"))
        tk = text(c.get("topologyKey"))
        if not tk:
            errs.append(required(child(p, "topologyKey"), "can not be empty"))
        wu = text(c.get("whenUnsatisfiable"))
        if wu not in SCHEDULE_ACTIONS:
            errs.append(not_supported(child(p, "whenUnsatisfiable"), wu, SCHEDULE_ACTIONS))
        for rest in items[i + 1:]:
            if rest.get("topologyKey") == c.get("topologyKey") and rest.get("whenUnsatisfiable") == wu:
                errs.append(duplicate(child(p, "{topologyKey, whenUnsatisfiable}"), f"{{{tk}, {wu}}}"))
                break
        md = c.get("minDomains")
        if md is not None:
            if int_of(md) is None or md <= 0:
                errs.append(invalid(child(p, "minDomains"), md, "must be greater than zero"))
            elif wu != "DoNotSchedule":
                errs.append(invalid(child(p, "minDomains"), md,
                                    "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not " + wu))
        errs += label_selector(c.get("labelSelector"), child(p, "labelSelector"))
    return errs


def _dns_config(cfg: Any, policy: str, path: str) -> list[FieldError]:
    if policy == "None":
        if cfg is None:
            return [required(path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not list_of(obj_of(cfg).get("nameservers")):
            return [required(child(path, "nameservers"),
                             "must provide at least one DNS nameserver when `dnsPolicy` is None")]
    if cfg is None:
        return []
    cfg = obj_of(cfg)
    errs: list[FieldError] = []
    ns = list_of(cfg.get("nameservers"))
    if len(ns) > 3:
        errs.append(invalid(child(path, "nameservers"), gotext.GoValue(gotext.string_slice(ns)),
                            "must not have more than 3 nameservers"))
    for i, ip in enumerate(ns):
        errs += [invalid(index(child(path, "nameservers"), i), ip, m) for m in names.is_valid_ip(ip)]
    searches = list_of(cfg.get("searches"))
    if len(searches) > 32:
        errs.append(invalid(child(path, "searches"), gotext.GoValue(gotext.string_slice(searches)),
                            "must not have more than 32 search paths"))
    for i, opt in enumerate(list_of(cfg.get("options"))):
        if not obj_of(opt).get("name"):
            errs.append(required(index(child(path, "options"), i), "must not be empty"))
    return errs


def _pod_security_context(spec: dict, path: str) -> list[FieldError]:
    sc = spec.get("securityContext")
    errs: list[FieldError] = []
    if sc is not None:
        sc, sp = obj_of(sc), child(path, "securityContext")
        errs += id_range(sc.get("fsGroup"), child(sp, "fsGroup"))
        errs += id_range(sc.get("runAsUser"), child(sp, "runAsUser"))
        errs += id_range(sc.get("runAsGroup"), child(sp, "runAsGroup"))
        for i, g in enumerate(list_of(sc.get("supplementalGroups"))):
            errs += id_range(g, index(child(sp, "supplementalGroups"), i))
        if spec.get("shareProcessNamespace") is True and spec.get("hostPID") is True:
            errs.append(invalid(child(sp, "shareProcessNamespace"), True,
                                "ShareProcessNamespace and HostPID cannot both be enabled"))
        pol = sc.get("fsGroupChangePolicy")
        if pol is not None and pol not in FS_GROUP_CHANGE_POLICIES:
            errs.append(not_supported(child(sp, "fsGroupChangePolicy"), pol, FS_GROUP_CHANGE_POLICIES))
        errs += seccomp_profile(sc.get("seccompProfile"), child(sp, "seccompProfile"))
        for i, s in enumerate(list_of(sc.get("sysctls"))):
            if not obj_of(s).get("name"):
                errs.append(required(child(index(child(sp, "sysctls"), i), "name")))
    return errs


def _host_network_ports(spec: dict, path: str) -> list[FieldError]:
    if spec.get("hostNetwork") is not True:
        return []
    errs: list[FieldError] = []
    for group in ("containers", "initContainers"):
        for i, c in enumerate(list_of(spec.get(group))):
            for j, port in enumerate(list_of(obj_of(c).get("ports"))):
                port = obj_of(port)
                hp = port.get("hostPort") or 0
                if hp and hp != port.get("containerPort"):
                    errs.append(invalid(child(index(child(index(child(path, group), i), "ports"), j), "hostPort"),
                                        hp, "must match `containerPort` when `hostNetwork` is true"))
    return errs


# -- the pod spec ------------------------------------------------------------------------------------

def pod_spec(spec: Any, path: str) -> list[FieldError]:
    spec = obj_of(spec)
    grace = int_of(spec.get("terminationGracePeriodSeconds"))
    vols, errs = volumes(spec.get("volumes"), child(path, "volumes"))
    errs += containers(spec.get("containers"), vols, child(path, "containers"), grace)
    errs += init_containers(spec.get("initContainers"), spec.get("containers"), vols, child(path, "initContainers"),
                            grace)
    errs += _host_network_ports(spec, path)
    rp = text(spec.get("restartPolicy"))
    if not rp:
        errs.append(required(child(path, "restartPolicy")))
    elif rp not in RESTART_POLICIES:
        errs.append(not_supported(child(path, "restartPolicy"), rp, RESTART_POLICIES))
    dp = text(spec.get("dnsPolicy"))
    if not dp:
        errs.append(required(child(path, "dnsPolicy")))
    elif dp not in DNS_POLICIES:
        errs.append(not_supported(child(path, "dnsPolicy"), dp, DNS_POLICIES))
    errs += labels(spec.get("nodeSelector"), child(path, "nodeSelector"))
    errs += _pod_security_context(spec, path)
    for i, s in enumerate(list_of(spec.get("imagePullSecrets"))):
        if not obj_of(s).get("name"):
            errs.append(required(child(index(child(path, "imagePullSecrets"), i), "name")))
    errs += affinity(spec.get("affinity"), child(path, "affinity"))
    errs += _dns_config(spec.get("dnsConfig"), dp, child(path, "dnsConfig"))
    for i, g in enumerate(list_of(spec.get("readinessGates"))):
        errs += qualified_name(text(obj_of(g).get("conditionType")), child(index(child(path, "readinessGates"), i),
                                                                            "conditionType"))
    gates: set[str] = set()
    for i, g in enumerate(list_of(spec.get("schedulingGates"))):
        gp, gname = index(child(path, "schedulingGates"), i), text(obj_of(g).get("name"))
        errs += qualified_name(gname, child(gp, "name"))
        if gname in gates:
            errs.append(duplicate(gp, gname))
        gates.add(gname)
    errs += topology_spread(spec.get("topologySpreadConstraints"), child(path, "topologySpreadConstraints"))
    for f in ("serviceAccountName", "nodeName", "priorityClassName"):
        v = spec.get(f) or ""
        if v:
            errs += [invalid(child(path, f), v, m) for m in names.is_dns1123_subdomain(v)]
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and (int_of(ads) is None or not 1 <= ads <= MAX_INT32):
        errs.append(invalid(child(path, "activeDeadlineSeconds"), ads, names.inclusive_range_error(1, MAX_INT32)))
    for f in ("hostname", "subdomain"):
        if spec.get(f):
            errs += dns1123_label(spec[f], child(path, f))
    errs += tolerations(spec.get("tolerations"), child(path, "tolerations"))
    for i, ha in enumerate(list_of(spec.get("hostAliases"))):
        ha, hp = obj_of(ha), index(child(path, "hostAliases"), i)
        errs += [invalid(child(hp, "ip"), text(ha.get("ip")), m) for m in names.is_valid_ip(text(ha.get("ip")))]
        for j, h in enumerate(list_of(ha.get("hostnames"))):
            errs += [invalid(index(child(hp, "hostnames"), j), h, m) for m in names.is_dns1123_subdomain(h)]
    rc = spec.get("runtimeClassName")
    if rc is not None:
        errs += [invalid(child(path, "runtimeClassName"), rc, m) for m in names.is_dns1123_subdomain(rc)]
    pp = spec.get("preemptionPolicy")
    if pp is not None and pp not in PREEMPTION_POLICIES:
        errs.append(not_supported(child(path, "preemptionPolicy"), pp, PREEMPTION_POLICIES))
    for name, q in sorted(obj_of(spec.get("overhead")).items()):
        errs += resource_quantity_value(name, q, key(child(path, "overhead"), name))
    os_ = spec.get("os")
    if os_ is not None:
        osn = text(obj_of(os_).get("name"))
        if not osn:
            errs.append(required(child(path, "os", "name")))
        elif osn not in ("linux", "windows"):
            errs.append(not_supported(child(path, "os", "name"), osn, ("linux", "windows")))
    return errs


def pod_template_spec(tpl: Any, path: str) -> list[FieldError]:
    """`ValidatePodTemplateSpec`: note Kubernetes reports template labels at `<path>.labels`."""
    tpl = obj_of(tpl)
    md = obj_of(tpl.get("metadata"))
    errs = labels(md.get("labels"), child(path, "labels"))
    errs += annotations(md.get("annotations"), child(path, "annotations"))
    spec = obj_of(tpl.get("spec"))
    errs += pod_spec(spec, child(path, "spec"))
    if list_of(spec.get("ephemeralContainers")):
        errs.append(forbidden(child(path, "spec", "ephemeralContainers"),
                              "ephemeral containers not allowed in pod template"))
    return errs


# -- Pod ---------------------------------------------------------------------------------------------

def _pod_only(pod: dict) -> list[FieldError]:
    spec = obj_of(pod.get("spec"))
    errs: list[FieldError] = []
    if not spec.get("serviceAccountName"):
        for vi, vol in enumerate(list_of(spec.get("volumes"))):
            for si, src in enumerate(list_of(obj_of(obj_of(vol).get("projected")).get("sources"))):
                if obj_of(src).get("serviceAccountToken") is not None:
                    errs.append(forbidden(f"spec.volumes[{vi}].projected.sources[{si}].serviceAccountToken",
                                          "must not be specified when serviceAccountName is not set"))
    errs += only_for_pod(spec.get("containers"), "spec.containers")
    errs += only_for_pod(spec.get("initContainers"), "spec.initContainers")
    return errs


def validate_pod(pod: dict) -> list[FieldError]:
    return pod_spec(pod.get("spec"), "spec") + _pod_only(pod)


def validate_pod_create(pod: dict) -> list[FieldError]:
    spec = obj_of(pod.get("spec"))
    errs: list[FieldError] = []
    if list_of(spec.get("ephemeralContainers")):
        errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if spec.get("nodeName") and list_of(spec.get("schedulingGates")):
        errs.append(forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"))
    return errs


def _container_updates(new: list, old: list, path: str) -> tuple[list[FieldError], bool]:
    if len(new) != len(old):
        return [forbidden(path, "pod updates may not add or remove containers")], True
    errs: list[FieldError] = []
    for i, c in enumerate(new):
        image = text(obj_of(c).get("image"))
        if not image:
            errs.append(required(child(index(path, i), "image")))
        if len(image.strip()) != len(image):
            errs.append(invalid(child(index(path, i), "image"), image, "must not have leading or trailing whitespace"))
    return errs, False


def _spec_diff(old: dict, new: dict) -> str:
    """A short diff of the changed top-level fields (Kubernetes appends a cmp.Diff here)."""
    def text(v: Any) -> str:
        return json.dumps(v, separators=(",", ":"), sort_keys=True)

    lines = ["  core.PodSpec{"]
    for k in sorted(set(old) | set(new)):
        if normalize(old.get(k)) != normalize(new.get(k)):
            if k in old:
                lines.append(f"- \t{k}: {text(old[k])},")
            if k in new:
                lines.append(f"+ \t{k}: {text(new[k])},")
    lines.append("  }")
    return "\n".join(lines)


def validate_pod_update(new: dict, old: dict) -> list[FieldError]:
    nspec, ospec = obj_of(new.get("spec")), obj_of(old.get("spec"))
    errs: list[FieldError] = []
    for group in ("containers", "initContainers"):
        e, stop = _container_updates(list_of(nspec.get(group)), list_of(ospec.get(group)), f"spec.{group}")
        errs += e
        if stop:
            return errs
    errs += _only_added_tolerations(list_of(nspec.get("tolerations")), list_of(ospec.get("tolerations")))
    if normalize(nspec) == normalize(ospec):
        return errs
    ads, oads = nspec.get("activeDeadlineSeconds"), ospec.get("activeDeadlineSeconds")
    if ads is not None:
        if int_of(ads) is None or not 0 <= ads <= MAX_INT32:
            return errs + [invalid("spec.activeDeadlineSeconds", ads, names.inclusive_range_error(0, MAX_INT32))]
        if oads is not None and oads < ads:
            return errs + [invalid("spec.activeDeadlineSeconds", ads, "must be less than or equal to previous value")]
    elif oads is not None:
        errs.append(invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"))
    munged = copy.deepcopy(nspec)
    for group in ("containers", "initContainers"):
        for c, oc in zip(list_of(munged.get(group)), list_of(ospec.get(group))):
            if isinstance(c, dict) and isinstance(oc, dict):
                c["image"] = oc.get("image")
    for f in ("activeDeadlineSeconds", "tolerations"):
        _copy_field(munged, ospec, f)
    ogp, ngp = int_of(ospec.get("terminationGracePeriodSeconds")), nspec.get("terminationGracePeriodSeconds")
    if ogp is not None and ogp < 0 and ngp == 1:
        _copy_field(munged, ospec, "terminationGracePeriodSeconds")
    new_gates = [obj_of(g).get("name") for g in list_of(nspec.get("schedulingGates"))]
    old_gates = [obj_of(g).get("name") for g in list_of(ospec.get("schedulingGates"))]
    added = [g for g in new_gates if g not in old_gates]
    if added:
        errs.append(forbidden("spec.schedulingGates", f"only deletion is allowed, but found new scheduling gate "
                                                      f"'{added[0]}'"))
    _copy_field(munged, ospec, "schedulingGates")
    if old_gates:  # while gated, scheduling directives may still be tightened
        for f in ("nodeSelector", "affinity"):
            _copy_field(munged, ospec, f)
    if normalize(munged) != normalize(ospec):
        errs.append(forbidden("spec", POD_UPDATE_MSG + "\n" + _spec_diff(ospec, munged)))
    return errs


def _copy_field(dst: dict, src: dict, f: str) -> None:
    if f in src:
        dst[f] = copy.deepcopy(src[f])
    else:
        dst.pop(f, None)


def _only_added_tolerations(new: list, old: list) -> list[FieldError]:
    errs: list[FieldError] = []
    for ot in old:
        ot = obj_of(ot)
        keep = any(_toleration_key(obj_of(nt)) == _toleration_key(ot) and _toleration_seconds_ok(obj_of(nt), ot)
                   for nt in new)
        if not keep:
            errs.append(forbidden("spec.tolerations", "existing toleration can not be modified except its "
                                                      "tolerationSeconds"))
            break
    errs += tolerations(new, "spec.tolerations")
    return errs


def _toleration_key(t: dict) -> tuple:
    op = t.get("operator") or "Equal"
    return (text(t.get("key")), op, text(t.get("value")), text(t.get("effect")))


def _toleration_seconds_ok(new: dict, old: dict) -> bool:
    ns, os_ = new.get("tolerationSeconds"), old.get("tolerationSeconds")
    if os_ is None:
        return ns is None
    return ns is not None


def validate_pod_status_update(new: dict, old: dict) -> list[FieldError]:
    nst, ost = obj_of(new.get("status")), obj_of(old.get("status"))
    nspec, ospec = obj_of(new.get("spec")), obj_of(old.get("spec"))
    errs: list[FieldError] = []
    for i, c in enumerate(list_of(nst.get("conditions"))):
        t = text(obj_of(c).get("type"))
        if t not in ("PodScheduled", "Ready", "Initialized"):
            errs += qualified_name(t, f"status.conditions[{i}].Type")
    if (text(nspec.get("nodeName"))) != (text(ospec.get("nodeName"))):
        errs.append(forbidden("status.nodeName", "may not be changed directly"))
    nnn = text(nst.get("nominatedNodeName"))
    if nnn and nnn != (text(ost.get("nominatedNodeName"))):
        errs += [invalid("status.nominatedNodeName", nnn, m) for m in names.is_dns1123_subdomain(nnn)]
    if nst.get("qosClass") and ost.get("qosClass"):
        errs += immutable(nst["qosClass"], ost["qosClass"], "status.qosClass")
    rp = ospec.get("restartPolicy") or "Always"
    errs += _state_transitions(list_of(nst.get("containerStatuses")), list_of(ost.get("containerStatuses")),
                               "status.containerStatuses", rp)
    errs += _state_transitions(list_of(nst.get("ephemeralContainerStatuses")),
                               list_of(ost.get("ephemeralContainerStatuses")), "status.ephemeralContainerStatuses",
                               "Never")
    for f in ("podIPs", "hostIPs"):
        for i, ip in enumerate(list_of(nst.get(f))):
            addr = text(obj_of(ip).get("ip"))
            errs += [invalid(f"status.{f}[{i}].ip", addr, m) for m in names.is_valid_ip(addr)]
    return errs


def _state_transitions(new: list, old: list, path: str, restart_policy: str) -> list[FieldError]:
    if restart_policy == "Always":
        return []
    errs: list[FieldError] = []
    for i, os_ in enumerate(old):
        os_ = obj_of(os_)
        term = obj_of(os_.get("state")).get("terminated")
        if term is None:
            continue
        if obj_of(term).get("exitCode", 0) != 0 and restart_policy == "OnFailure":
            continue
        for ns in new:
            ns = obj_of(ns)
            if ns.get("name") == os_.get("name") and obj_of(ns.get("state")).get("terminated") is None:
                errs.append(forbidden(f"{path}[{i}].state", "may not be transitioned to non-terminated state"))
    return errs
