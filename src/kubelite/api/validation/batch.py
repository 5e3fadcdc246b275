"""batch/v1: Job and CronJob (`pkg/apis/batch/validation/validation.go`)."""

from __future__ import annotations

import copy
import re
import zoneinfo
from typing import Any

from kubelite.machinery.errors import FieldError, duplicate, invalid, not_supported, required

from . import cron, gotext
from .meta import (child, immutable, int_of, label_selector, list_of, nonnegative, obj_of, selector_converts,
                   selector_matches, selector_value, template_labels_mismatch, text)
from .pod import pod_template_spec

MAX_PARALLELISM_INDEXED = 100000
MAX_COMPLETIONS_PER_INDEX = 100000
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
POD_REPLACEMENT_POLICIES = ("TerminatingOrFailed", "Failed")
LEGACY_UID_LABEL, LEGACY_NAME_LABEL = "controller-uid", "job-name"
UID_LABEL, NAME_LABEL = "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name"
_TZ_CHARS = re.compile(r"^[A-Za-z\.\-_0-9+]{1,14}$")


def _job_spec_common(spec: dict, path: str) -> list[FieldError]:
    """`validateJobSpec`: what Jobs and CronJob job templates share."""
    errs: list[FieldError] = []
    for f in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"):
        if spec.get(f) is not None:
            errs += nonnegative(spec[f], child(path, f))
    mode = spec.get("completionMode")
    if mode is not None:
        if mode not in ("NonIndexed", "Indexed"):
            errs.append(not_supported(child(path, "completionMode"), mode, ("NonIndexed", "Indexed")))
        if mode == "Indexed":
            if spec.get("completions") is None:
                errs.append(required(child(path, "completions"), "when completion mode is Indexed"))
            par = int_of(spec.get("parallelism"))
            if par is not None and par > MAX_PARALLELISM_INDEXED:
                errs.append(invalid(child(path, "parallelism"), par,
                                    f"must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion mode "
                                    "is Indexed"))
    bpi = spec.get("backoffLimitPerIndex")
    if bpi is not None:
        errs += nonnegative(bpi, child(path, "backoffLimitPerIndex"))
        if mode != "Indexed":
            errs.append(invalid(child(path, "backoffLimitPerIndex"), bpi,
                                "requires indexed completion mode"))
    mfi = spec.get("maxFailedIndexes")
    if mfi is not None:
        if bpi is None:
            errs.append(required(child(path, "backoffLimitPerIndex"),
                                 "when maxFailedIndexes is specified"))
        errs += nonnegative(mfi, child(path, "maxFailedIndexes"))
    tpl = obj_of(spec.get("template"))
    errs += pod_template_spec(tpl, child(path, "template"))
    rp = obj_of(tpl.get("spec")).get("restartPolicy") or ""
    if rp not in ("OnFailure", "Never"):
        errs.append(not_supported(child(path, "template", "spec", "restartPolicy"), rp, ("OnFailure", "Never")))
    elif spec.get("podFailurePolicy") is not None and rp != "Never":
        errs.append(invalid(child(path, "template", "spec", "restartPolicy"), rp,
                            "only \"Never\" is supported when podFailurePolicy is specified"))
    prp = spec.get("podReplacementPolicy")
    if prp is not None:
        if prp not in POD_REPLACEMENT_POLICIES:
            errs.append(not_supported(child(path, "podReplacementPolicy"), prp, POD_REPLACEMENT_POLICIES))
        elif spec.get("podFailurePolicy") is not None and prp != "Failed":
            errs.append(not_supported(child(path, "podReplacementPolicy"), prp, ("Failed",)))
    errs += _pod_failure_policy(spec.get("podFailurePolicy"), child(path, "podFailurePolicy"))
    return errs


def _pod_failure_policy(pfp: Any, path: str) -> list[FieldError]:
    if pfp is None:
        return []
    errs: list[FieldError] = []
    rules = list_of(obj_of(pfp).get("rules"))
    if len(rules) > 20:
        errs.append(invalid(child(path, "rules"), len(rules), "must have at most 20 items"))
    for i, r in enumerate(rules):
        r, p = obj_of(r), f"{path}.rules[{i}]"
        action = text(r.get("action"))
        if action not in ("Count", "FailIndex", "FailJob", "Ignore"):
            errs.append(not_supported(child(p, "action"), action, ("Count", "FailIndex", "FailJob", "Ignore")))
        has_codes, has_conds = r.get("onExitCodes") is not None, r.get("onPodConditions") is not None
        if has_codes and has_conds:
            errs.append(invalid(p, gotext.GoValue("batch.PodFailurePolicyRule{...}"),
                                "specifying both OnExitCodes and OnPodConditions is not supported"))
        elif not has_codes and not has_conds:
            errs.append(invalid(p, gotext.GoValue("batch.PodFailurePolicyRule{...}"),
                                "specifying one of OnExitCodes and OnPodConditions is required"))
        if has_codes:
            op = text(obj_of(r["onExitCodes"]).get("operator"))
            if op not in ("In", "NotIn"):
                errs.append(not_supported(child(p, "onExitCodes", "operator"), op, ("In", "NotIn")))
            if not list_of(obj_of(r["onExitCodes"]).get("values")):
                errs.append(invalid(child(p, "onExitCodes", "values"), gotext.GoValue("[]int32{}"),
                                    "at least one value is required"))
    return errs


def _generated_selector(job: dict) -> list[FieldError]:
    spec = obj_of(job.get("spec"))
    if spec.get("manualSelector") is True:
        return []
    md = obj_of(job.get("metadata"))
    tmd = obj_of(obj_of(spec.get("template")).get("metadata"))
    tlabels = tmd.get("labels")
    if tlabels is None or spec.get("selector") is None:
        return []
    errs: list[FieldError] = []
    uid, name = text(md.get("uid")), text(md.get("name"))
    if not uid:
        errs.append(required("metadata.uid"))
    tpath = "spec.template.metadata"
    expected = {LEGACY_UID_LABEL: uid, LEGACY_NAME_LABEL: name, UID_LABEL: uid, NAME_LABEL: name}
    for k in (LEGACY_UID_LABEL, LEGACY_NAME_LABEL, UID_LABEL, NAME_LABEL):
        v = expected[k]
        p = f"{tpath}.labels[{k}]"
        if k not in tlabels:
            errs.append(required(p, f"must be '{v}'"))
        elif tlabels[k] != v:
            errs.append(invalid(p, gotext.GoValue(gotext.string_map(tlabels)), f"must be '{v}'"))
    if selector_converts(spec["selector"]) and selector_matches(spec["selector"], expected) is False:
        errs.append(invalid("spec.selector", selector_value(spec["selector"]), "`selector` not auto-generated"))
    return errs


def validate_job(job: dict) -> list[FieldError]:
    spec = obj_of(job.get("spec"))
    errs = _generated_selector(job)
    sel = spec.get("selector")
    if sel is None:
        errs.append(required("spec.selector"))
    else:
        errs += label_selector(sel, "spec.selector")
    if sel is None or selector_converts(sel):
        errs += template_labels_mismatch(sel, spec.get("template"), "spec.template.metadata.labels")
    errs += _job_spec_common(spec, "spec")
    return errs


def validate_job_update(new: dict, old: dict) -> list[FieldError]:
    ns, os_ = obj_of(new.get("spec")), obj_of(old.get("spec"))
    errs = immutable(ns.get("selector"), os_.get("selector"), "spec.selector", shown=selector_value(ns.get("selector")))
    errs += _template_update(ns, os_, suspended_never_started=(
        os_.get("suspend") is True and not obj_of(old.get("status")).get("startTime")))
    for f in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy"):
        if ns.get(f) != os_.get(f):
            errs += immutable(ns.get(f), os_.get(f), f"spec.{f}")
    errs += _completions_update(ns, os_)
    return errs


def _template_update(ns: dict, os_: dict, *, suspended_never_started: bool) -> list[FieldError]:
    tpl, otpl = obj_of(ns.get("template")), copy.deepcopy(obj_of(os_.get("template")))
    if suspended_never_started:
        ospec, nspec = otpl.setdefault("spec", {}), obj_of(tpl.get("spec"))
        for f in ("nodeSelector", "tolerations", "schedulingGates"):
            _copy(ospec, nspec, f)
        aff, oaff = nspec.get("affinity"), ospec.get("affinity")
        if aff is None and oaff is not None:
            oaff = {k: v for k, v in obj_of(oaff).items() if k != "nodeAffinity"}
            if oaff:
                ospec["affinity"] = oaff
            else:
                ospec.pop("affinity", None)
        elif aff is not None:
            merged = dict(obj_of(oaff))
            _copy(merged, obj_of(aff), "nodeAffinity")
            ospec["affinity"] = merged
        omd, nmd = otpl.setdefault("metadata", {}), obj_of(tpl.get("metadata"))
        for f in ("annotations", "labels"):
            _copy(omd, nmd, f)
    return immutable(tpl, otpl, "spec.template", shown=gotext.GoValue("core.PodTemplateSpec{...}"))


def _copy(dst: dict, src: dict, f: str) -> None:
    if f in src:
        dst[f] = copy.deepcopy(src[f])
    else:
        dst.pop(f, None)


def _completions_update(ns: dict, os_: dict) -> list[FieldError]:
    if ns.get("completions") == os_.get("completions"):
        return []
    if ns.get("completionMode") != "Indexed":
        return immutable(ns.get("completions"), os_.get("completions"), "spec.completions")
    if ns.get("completions") is None:
        return []
    if ns.get("completions") != ns.get("parallelism"):
        return [invalid("spec.completions", ns.get("completions"),
                        "can only be modified in tandem with spec.parallelism")]
    return []


def validate_job_status(new: dict, old: dict) -> list[FieldError]:
    st = obj_of(new.get("status"))
    errs: list[FieldError] = []
    for f in ("active", "succeeded", "failed", "ready", "terminating"):
        if st.get(f) is not None:
            errs += nonnegative(st[f], f"status.{f}")
    uncounted = obj_of(st.get("uncountedTerminatedPods"))
    for f in ("succeeded", "failed"):
        seen: set[str] = set()
        for i, uid in enumerate(list_of(uncounted.get(f))):
            p = f"status.uncountedTerminatedPods.{f}[{i}]"
            if not uid:
                errs.append(invalid(p, uid, "must not be empty"))
            elif uid in seen:
                errs.append(duplicate(p, uid))
            seen.add(uid)
    return errs


# -- CronJob -----------------------------------------------------------------------------------------

def _time_zone(tz: Any, path: str) -> list[FieldError]:
    if tz is None:
        return []
    if tz == "":
        return [invalid(path, tz, "timeZone must be nil or non-empty string")]
    if tz.lower() == "local":
        return [invalid(path, tz, "timeZone must be an explicit time zone as defined in "
                                  "https://www.iana.org/time-zones")]
    for part in tz.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_CHARS.match(part):
            return [invalid(path, tz, f"unknown time zone {tz}")]
    if tz != "UTC":
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            return [invalid(path, tz, f"unknown time zone {tz}")]
    return []


def _cron_job_spec(spec: dict, old_spec: dict | None) -> list[FieldError]:
    errs: list[FieldError] = []
    sched = text(spec.get("schedule"))
    if not sched:
        errs.append(required("spec.schedule"))
    else:
        msg = cron.validate(sched)
        if msg:
            errs.append(invalid("spec.schedule", sched, msg))
        allow_tz = old_spec is not None and "TZ" in (text(old_spec.get("schedule")))
        if allow_tz and "TZ" in sched and spec.get("timeZone") is not None:
            errs.append(invalid("spec.schedule", sched, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
        elif not allow_tz and "TZ" in sched:
            errs.append(invalid("spec.schedule", sched,
                                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    if spec.get("startingDeadlineSeconds") is not None:
        errs += nonnegative(spec["startingDeadlineSeconds"], "spec.startingDeadlineSeconds")
    if old_spec is None or old_spec.get("timeZone") != spec.get("timeZone"):
        errs += _time_zone(spec.get("timeZone"), "spec.timeZone")
    cp = text(spec.get("concurrencyPolicy"))
    if not cp:
        errs.append(required("spec.concurrencyPolicy"))
    elif cp not in CONCURRENCY_POLICIES:
        errs.append(not_supported("spec.concurrencyPolicy", cp, CONCURRENCY_POLICIES))
    jt = obj_of(spec.get("jobTemplate"))
    jspec = obj_of(jt.get("spec"))
    errs += _job_spec_common(jspec, "spec.jobTemplate.spec")
    if jspec.get("selector") is not None:
        errs.append(invalid("spec.jobTemplate.spec.selector", selector_value(jspec["selector"]),
                            "`selector` will be auto-generated"))
    if jspec.get("manualSelector") is True:
        errs.append(not_supported("spec.jobTemplate.spec.manualSelector", True, ("nil", "false")))
    for f in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        if spec.get(f) is not None:
            errs += nonnegative(spec[f], f"spec.{f}")
    return errs


def validate_cron_job_create(cj: dict) -> list[FieldError]:
    name = text(obj_of(cj.get("metadata")).get("name"))
    errs: list[FieldError] = []
    if len(name) > 52:
        errs.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    return errs


def validate_cron_job(cj: dict) -> list[FieldError]:
    return _cron_job_spec(obj_of(cj.get("spec")), None)


def validate_cron_job_update(new: dict, old: dict) -> list[FieldError]:
    """Spec rules again, knowing the old spec (TZ in schedule and time zone changes)."""
    return _cron_job_spec(obj_of(new.get("spec")), obj_of(old.get("spec")))
