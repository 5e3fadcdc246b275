"""scheduling.k8s.io/v1: PriorityClass (`pkg/apis/scheduling/validation/validation.go`)."""

from __future__ import annotations

from kubelite.machinery.errors import FieldError, forbidden, not_supported

from .meta import immutable, obj_of, text

SYSTEM_PREFIX = "system-"
HIGHEST_USER_DEFINABLE_PRIORITY = 1000000000
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")


def _known_system_class(name: str, value: object, global_default: bool) -> str | None:
    if name not in SYSTEM_PRIORITY_CLASSES:
        return f"{name} is not a known system priority class"
    if SYSTEM_PRIORITY_CLASSES[name] != value:
        return f"value of {name} PriorityClass must be {SYSTEM_PRIORITY_CLASSES[name]}"
    if global_default:
        return f"globalDefault of {name} PriorityClass must be false"
    return None


def validate_priority_class(pc: dict) -> list[FieldError]:
    name = text(obj_of(pc.get("metadata")).get("name"))
    value = pc.get("value", 0)
    errs: list[FieldError] = []
    if name.startswith(SYSTEM_PREFIX):
        err = _known_system_class(name, value, pc.get("globalDefault") is True)
        if err:
            errs.append(forbidden("metadata.name", f"priority class names with '{SYSTEM_PREFIX}' prefix are reserved "
                                                   f"for system use only. error: {err}"))
    elif isinstance(value, int) and value > HIGHEST_USER_DEFINABLE_PRIORITY:
        errs.append(forbidden("value", "maximum allowed value of a user defined priority is "
                                       f"{HIGHEST_USER_DEFINABLE_PRIORITY}"))
    pp = pc.get("preemptionPolicy")
    if pp is not None and pp not in PREEMPTION_POLICIES:
        errs.append(not_supported("preemptionPolicy", pp, PREEMPTION_POLICIES))
    return errs


def validate_priority_class_update(new: dict, old: dict) -> list[FieldError]:
    errs: list[FieldError] = []
    if new.get("value", 0) != old.get("value", 0):
        errs.append(forbidden("value", "may not be changed in an update."))
    errs += immutable(new.get("preemptionPolicy"), old.get("preemptionPolicy"), "preemptionPolicy")
    return errs
