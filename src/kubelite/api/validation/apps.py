"""apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision
(`pkg/apis/apps/validation/validation.go`)."""

from __future__ import annotations

import copy
from typing import Any

from kubelite.machinery.errors import FieldError, forbidden, invalid, not_supported, required

from . import gotext, names
from .meta import (child, immutable, int_of, label_selector, nonnegative, normalize, obj_of, selector_converts,
                   selector_is_empty, selector_value, template_labels_mismatch, text)
from .pod import pod_template_spec


# -- IntOrString percentages -------------------------------------------------------------------------

def _int_or_percent_shown(v: Any) -> gotext.GoValue:
    return gotext.GoValue(gotext.int_or_string(v))


def positive_int_or_percent(v: Any, path: str) -> list[FieldError]:
    if isinstance(v, str):
        return [invalid(path, _int_or_percent_shown(v), m) for m in names.is_valid_percent(v)]
    if isinstance(v, int) and not isinstance(v, bool):
        return nonnegative(v, path)
    if v is None:
        return []
    return [invalid(path, _int_or_percent_shown(v), "must be an integer or percentage (e.g '5%')")]


def _percent(v: Any) -> int | None:
    if isinstance(v, str) and v.endswith("%") and v[:-1].isdigit():
        return int(v[:-1])
    return None


def int_or_percent_value(v: Any) -> int:
    if isinstance(v, str):
        return _percent(v) or 0
    return int_of(v) or 0


def not_more_than_100_percent(v: Any, path: str) -> list[FieldError]:
    p = _percent(v)
    if p is None or p <= 100:
        return []
    return [invalid(path, _int_or_percent_shown(v), "must not be greater than 100%")]


# -- shared workload pieces --------------------------------------------------------------------------

def _selector(spec: dict, path: str, what: str) -> list[FieldError]:
    sel = spec.get("selector")
    if sel is None:
        return [required(child(path, "selector"))]
    errs = label_selector(sel, child(path, "selector"))
    if selector_is_empty(sel):
        errs.append(invalid(child(path, "selector"), selector_value(sel), f"empty selector is invalid for {what}"))
    return errs


def _template_for_replicas(spec: dict, path: str, controller: str) -> list[FieldError]:
    """`ValidatePodTemplateSpecForReplicaSet` (also used by Deployments)."""
    sel, tpl = spec.get("selector"), obj_of(spec.get("template"))
    tpath = child(path, "template")
    errs: list[FieldError] = []
    if sel is not None and not selector_converts(sel):
        return [invalid(child(path, "selector"), selector_value(sel), "invalid label selector")]
    if sel is None or not selector_is_empty(sel):
        errs += template_labels_mismatch(sel, tpl, child(tpath, "metadata", "labels"))
    errs += pod_template_spec(tpl, tpath)
    tspec = obj_of(tpl.get("spec"))
    rp = text(tspec.get("restartPolicy"))
    if rp != "Always":
        errs.append(not_supported(child(tpath, "spec", "restartPolicy"), rp, ("Always",)))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden(child(tpath, "spec", "activeDeadlineSeconds"),
                              f"activeDeadlineSeconds in {controller} is not Supported"))
    return errs


def _revision_history(spec: dict, path: str) -> list[FieldError]:
    if spec.get("revisionHistoryLimit") is None:
        return []
    return nonnegative(spec["revisionHistoryLimit"], child(path, "revisionHistoryLimit"))


# -- Deployment --------------------------------------------------------------------------------------

def _strategy_shown(kind: str, strategy: dict) -> gotext.GoValue:
    return gotext.GoValue(gotext.struct(f"apps.{kind}", [
        ("Type", gotext.quote(text(strategy.get("type")))),
        ("RollingUpdate", f"(*apps.RollingUpdate{'Deployment' if kind == 'DeploymentStrategy' else 'DaemonSet'})(nil)"
         if strategy.get("rollingUpdate") is None else "&{...}")]))


def deployment_strategy(strategy: Any, path: str) -> list[FieldError]:
    strategy = obj_of(strategy)
    t = text(strategy.get("type"))
    if t == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            return [forbidden(child(path, "rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if t == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if ru is None:
            return [required(child(path, "rollingUpdate"), "this should be defaulted and never be nil")]
        ru, rp = obj_of(ru), child(path, "rollingUpdate")
        mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
        errs = positive_int_or_percent(mu, child(rp, "maxUnavailable"))
        errs += positive_int_or_percent(ms, child(rp, "maxSurge"))
        if int_or_percent_value(mu) == 0 and int_or_percent_value(ms) == 0:
            errs.append(invalid(child(rp, "maxUnavailable"), _int_or_percent_shown(mu),
                                "may not be 0 when `maxSurge` is 0"))
        errs += not_more_than_100_percent(mu, child(rp, "maxUnavailable"))
        return errs
    return [not_supported(path, _strategy_shown("DeploymentStrategy", strategy), ("Recreate", "RollingUpdate"))]


def validate_deployment(d: dict) -> list[FieldError]:
    spec, path = obj_of(d.get("spec")), "spec"
    errs = nonnegative(spec.get("replicas"), "spec.replicas")
    errs += _selector(spec, path, "deployment")
    errs += _template_for_replicas(spec, path, "ReplicaSet")
    errs += deployment_strategy(spec.get("strategy"), "spec.strategy")
    errs += nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    errs += _revision_history(spec, path)
    pds = spec.get("progressDeadlineSeconds")
    if pds is not None:
        errs += nonnegative(pds, "spec.progressDeadlineSeconds")
        if int_of(pds) is not None and pds <= (int_of(spec.get("minReadySeconds")) or 0):
            errs.append(invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))
    return errs


def _selector_immutable(new: dict, old: dict) -> list[FieldError]:
    ns, os_ = obj_of(new.get("spec")).get("selector"), obj_of(old.get("spec")).get("selector")
    return immutable(ns, os_, "spec.selector", shown=selector_value(ns))


def validate_deployment_status(new: dict, old: dict) -> list[FieldError]:
    st, path = obj_of(new.get("status")), "status"
    errs: list[FieldError] = []
    for f in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
              "unavailableReplicas", "terminatingReplicas"):
        errs += nonnegative(st.get(f), child(path, f))
    if st.get("collisionCount") is not None:
        errs += nonnegative(st["collisionCount"], "status.collisionCount")
    replicas = int_of(st.get("replicas")) or 0
    msg = "cannot be greater than status.replicas"
    for f in ("updatedReplicas", "readyReplicas", "availableReplicas"):
        if (int_of(st.get(f)) or 0) > replicas:
            errs.append(invalid(child(path, f), int_of(st.get(f)) or 0, msg))
    if (int_of(st.get("availableReplicas")) or 0) > (int_of(st.get("readyReplicas")) or 0):
        errs.append(invalid("status.availableReplicas", int_of(st.get("availableReplicas")) or 0,
                            "cannot be greater than readyReplicas"))
    errs += _collision_count(new, old)
    return errs


def _collision_count(new: dict, old: dict) -> list[FieldError]:
    n = int_of(obj_of(new.get("status")).get("collisionCount"))
    o = int_of(obj_of(old.get("status")).get("collisionCount"))
    if o is not None and (n is None or n < o):
        return [invalid("status.collisionCount", n, "cannot be decremented")]
    return []


# -- ReplicaSet --------------------------------------------------------------------------------------

def validate_replica_set(rs: dict) -> list[FieldError]:
    spec = obj_of(rs.get("spec"))
    errs = nonnegative(spec.get("replicas"), "spec.replicas")
    errs += nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    errs += _selector(spec, "spec", "deployment")
    errs += _template_for_replicas(spec, "spec", "ReplicaSet")
    return errs


def validate_replica_set_status(new: dict, old: dict) -> list[FieldError]:
    st = obj_of(new.get("status"))
    errs: list[FieldError] = []
    for f in ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration",
              "terminatingReplicas"):
        errs += nonnegative(st.get(f), f"status.{f}")
    replicas = int_of(st.get("replicas")) or 0
    for f in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        if (int_of(st.get(f)) or 0) > replicas:
            errs.append(invalid(f"status.{f}", int_of(st.get(f)) or 0, "cannot be greater than the number of replicas"))
    if (int_of(st.get("availableReplicas")) or 0) > (int_of(st.get("readyReplicas")) or 0):
        errs.append(invalid("status.availableReplicas", int_of(st.get("availableReplicas")) or 0,
                            "cannot be greater than readyReplicas"))
    return errs


# -- StatefulSet -------------------------------------------------------------------------------------

def validate_stateful_set(sts: dict) -> list[FieldError]:
    spec = obj_of(sts.get("spec"))
    errs: list[FieldError] = []
    pmp = text(spec.get("podManagementPolicy"))
    if not pmp:
        errs.append(required("spec.podManagementPolicy"))
    elif pmp not in ("OrderedReady", "Parallel"):
        errs.append(invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"))
    us = obj_of(spec.get("updateStrategy"))
    t = text(us.get("type"))
    if not t:
        errs.append(required("spec.updateStrategy"))
    elif t == "OnDelete":
        if us.get("rollingUpdate") is not None:
            errs.append(invalid("spec.updateStrategy.rollingUpdate",
                                gotext.GoValue("&apps.RollingUpdateStatefulSetStrategy{...}"),
                                "only allowed for updateStrategy 'RollingUpdate'"))
    elif t == "RollingUpdate":
        ru = us.get("rollingUpdate")
        if ru is not None:
            ru = obj_of(ru)
            errs += nonnegative(ru.get("partition"), "spec.updateStrategy.rollingUpdate.partition")
            mu = ru.get("maxUnavailable")
            if mu is not None:
                mp = "spec.updateStrategy.rollingUpdate.maxUnavailable"
                errs += positive_int_or_percent(mu, mp)
                if int_or_percent_value(mu) == 0:
                    errs.append(invalid(mp, _int_or_percent_shown(mu), "cannot be 0"))
                errs += not_more_than_100_percent(mu, mp)
    else:
        errs.append(invalid("spec.updateStrategy", gotext.GoValue("apps.StatefulSetUpdateStrategy{...}"),
                            "must be 'RollingUpdate' or 'OnDelete'"))
    pol = spec.get("persistentVolumeClaimRetentionPolicy")
    if pol is not None:
        for f in ("whenDeleted", "whenScaled"):
            v = obj_of(pol).get(f) or ""
            if v not in ("Retain", "Delete"):
                errs.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{f}", v, ("Retain", "Delete")))
    if spec.get("ordinals") is not None:
        errs += nonnegative(obj_of(spec["ordinals"]).get("start"), "spec.ordinals.start")
    errs += nonnegative(spec.get("replicas"), "spec.replicas")
    errs += nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    errs += _selector(spec, "spec", "statefulset")
    sel, tpl = spec.get("selector"), obj_of(spec.get("template"))
    if sel is not None and not selector_converts(sel):
        errs.append(invalid("spec.selector", selector_value(sel), ""))
    else:
        if sel is None or not selector_is_empty(sel):
            errs += template_labels_mismatch(sel, tpl, "spec.template.metadata.labels")
        errs += pod_template_spec(_with_claim_volumes(tpl, spec), "spec.template")
    tspec = obj_of(tpl.get("spec"))
    rp = text(tspec.get("restartPolicy"))
    if rp != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", rp, ("Always",)))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                              "activeDeadlineSeconds in StatefulSet is not Supported"))
    errs += _revision_history(spec, "spec")
    return errs


def _with_claim_volumes(tpl: dict, spec: dict) -> dict:
    """The template as its pods will be: each volumeClaimTemplate not shadowed by a volume of the
    same name becomes a persistentVolumeClaim volume, so mounts may name claim templates."""
    claims = [obj_of(c) for c in spec.get("volumeClaimTemplates") or [] if isinstance(c, dict)]
    tspec = tpl.get("spec")
    if not claims or not isinstance(tspec, dict):
        return tpl
    volumes = [v for v in tspec.get("volumes") or [] if isinstance(v, dict)]
    have = {v.get("name") for v in volumes}
    extra = [{"name": n, "persistentVolumeClaim": {"claimName": n}}
             for n in (obj_of(c.get("metadata")).get("name") for c in claims)
             if isinstance(n, str) and n and n not in have]
    if not extra:
        return tpl
    return {**tpl, "spec": {**tspec, "volumes": list(tspec.get("volumes") or []) + extra}}


STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
               "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def validate_stateful_set_update(new: dict, old: dict) -> list[FieldError]:
    ns, os_ = copy.deepcopy(obj_of(new.get("spec"))), obj_of(old.get("spec"))
    for f in STS_MUTABLE:
        if f in os_:
            ns[f] = os_[f]
        else:
            ns.pop(f, None)
    if normalize(ns) != normalize(os_):
        return [forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                                  "'template', 'updateStrategy', 'revisionHistoryLimit', "
                                  "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")]
    return []


def validate_stateful_set_status(new: dict, old: dict) -> list[FieldError]:
    st = obj_of(new.get("status"))
    errs: list[FieldError] = []
    for f in ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas",
              "observedGeneration"):
        errs += nonnegative(st.get(f), f"status.{f}")
    if st.get("collisionCount") is not None:
        errs += nonnegative(st["collisionCount"], "status.collisionCount")
    replicas = int_of(st.get("replicas")) or 0
    for f in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
        if (int_of(st.get(f)) or 0) > replicas:
            errs.append(invalid(f"status.{f}", int_of(st.get(f)) or 0, "cannot be greater than status.replicas"))
    if (int_of(st.get("availableReplicas")) or 0) > (int_of(st.get("readyReplicas")) or 0):
        errs.append(invalid("status.availableReplicas", int_of(st.get("availableReplicas")) or 0,
                            "cannot be greater than status.readyReplicas"))
    errs += _collision_count(new, old)
    return errs


# -- DaemonSet ---------------------------------------------------------------------------------------

def validate_daemon_set(ds: dict) -> list[FieldError]:
    spec = obj_of(ds.get("spec"))
    sel, tpl = spec.get("selector"), obj_of(spec.get("template"))
    errs: list[FieldError] = []
    if sel is None:
        errs.append(required("spec.selector"))
    errs += label_selector(sel, "spec.selector")
    if sel is None or selector_converts(sel):
        errs += template_labels_mismatch(sel, tpl, "spec.template.metadata.labels")
    if sel is not None and selector_is_empty(sel):
        errs.append(invalid("spec.selector", selector_value(sel), "empty selector is invalid for daemonset"))
    errs += pod_template_spec(tpl, "spec.template")
    tspec = obj_of(tpl.get("spec"))
    rp = text(tspec.get("restartPolicy"))
    if rp != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", rp, ("Always",)))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(invalid("spec.template.spec.activeDeadlineSeconds", tspec["activeDeadlineSeconds"],
                            "activeDeadlineSeconds must be nil for daemons"))
    errs += nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    errs += nonnegative(spec.get("templateGeneration"), "spec.templateGeneration")
    errs += _daemon_set_update_strategy(obj_of(spec.get("updateStrategy")), "spec.updateStrategy")
    errs += _revision_history(spec, "spec")
    return errs


def _daemon_set_update_strategy(strategy: dict, path: str) -> list[FieldError]:
    t = text(strategy.get("type"))
    if t == "OnDelete":
        return []
    if t != "RollingUpdate":
        return [not_supported(path, _strategy_shown("DaemonSetUpdateStrategy", strategy),
                              ("RollingUpdate", "OnDelete"))]
    ru = strategy.get("rollingUpdate")
    if ru is None:
        return [required(child(path, "rollingUpdate"))]
    ru, rp = obj_of(ru), child(path, "rollingUpdate")
    mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
    errs = positive_int_or_percent(mu, child(rp, "maxUnavailable"))
    errs += positive_int_or_percent(ms, child(rp, "maxSurge"))
    errs += not_more_than_100_percent(mu, child(rp, "maxUnavailable"))
    errs += not_more_than_100_percent(ms, child(rp, "maxSurge"))
    has_u, has_s = int_or_percent_value(mu) != 0, int_or_percent_value(ms) != 0
    if has_u and has_s:
        errs.append(invalid(child(rp, "maxSurge"), _int_or_percent_shown(ms),
                            "may not be set when maxUnavailable is non-zero"))
    elif not has_u and not has_s:
        errs.append(required(child(rp, "maxUnavailable"), "cannot be 0 when maxSurge is 0"))
    return errs


def validate_daemon_set_status(new: dict, old: dict) -> list[FieldError]:
    st = obj_of(new.get("status"))
    errs: list[FieldError] = []
    for f in ("numberMisscheduled", "currentNumberScheduled", "desiredNumberScheduled", "numberReady",
              "observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
        errs += nonnegative(st.get(f), f"status.{f}")
    if st.get("collisionCount") is not None:
        errs += nonnegative(st["collisionCount"], "status.collisionCount")
    errs += _collision_count(new, old)
    return errs


# -- ControllerRevision ------------------------------------------------------------------------------

def validate_controller_revision(cr: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    if cr.get("data") is None:
        errs.append(required("data", "data is mandatory"))
    errs += nonnegative(cr.get("revision"), "revision")
    return errs


def validate_controller_revision_update(new: dict, old: dict) -> list[FieldError]:
    return immutable(new.get("data"), old.get("data"), "data", shown=gotext.GoValue("runtime.RawExtension{...}"))


selector_immutable = _selector_immutable
