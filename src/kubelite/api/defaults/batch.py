"""batch/v1 defaults (Kubernetes' `pkg/apis/batch/v1/defaults.go`)."""

from __future__ import annotations

import copy

from . import core
from .core import dict_items, field_dict

MAX_INT32 = 2147483647


def _template(spec: dict) -> None:
    tpl = field_dict(spec, "template")
    if tpl is not None:
        core.pod_template(tpl)


def job(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    md = field_dict(obj, "metadata")
    if spec is None or md is None:
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
    tpl = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    tmd = tpl.get("metadata") if isinstance(tpl.get("metadata"), dict) else {}
    tpl_labels = tmd.get("labels")
    if isinstance(tpl_labels, dict) and not md.get("labels"):
        md["labels"] = copy.deepcopy(tpl_labels)
    if spec.get("completionMode") is None:
        spec["completionMode"] = "NonIndexed"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    pfp = spec.get("podFailurePolicy")
    if isinstance(pfp, dict):
        for rule in dict_items(pfp, "rules"):
            for pattern in dict_items(rule, "onPodConditions"):
                if not pattern.get("status"):
                    pattern["status"] = "True"
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if pfp is not None else "TerminatingOrFailed"
    _template(spec)


def cron_job(obj: dict) -> None:
    spec = field_dict(obj, "spec")
    if spec is None:
        return
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("successfulJobsHistoryLimit") is None:
        spec["successfulJobsHistoryLimit"] = 3
    if spec.get("failedJobsHistoryLimit") is None:
        spec["failedJobsHistoryLimit"] = 1
    jt = field_dict(spec, "jobTemplate")
    if jt is not None:
        md = field_dict(jt, "metadata")
        if md is not None:
            md.setdefault("creationTimestamp", None)
        jspec = field_dict(jt, "spec")
        if jspec is not None:
            _template(jspec)
