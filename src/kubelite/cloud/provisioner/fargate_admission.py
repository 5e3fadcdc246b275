"""Fargate's admission step in a managed cluster's API server (EKS runs a mutating webhook for it):
a new pod whose namespace and labels match a selector of an ACTIVE Fargate profile is handed to
the `fargate-scheduler` (the service's Fargate controller, which starts a micro-node for it and
binds it there) and annotated with the profile's name. Pods that name another scheduler, are
already bound, belong to a DaemonSet, or carry `eks.amazonaws.com/compute-type: ec2` are left
alone, as are pods no profile matches.

Selectors: `namespace` and every label must match; both accept `*` and `?` wildcards. When
several profiles match, a pod labelled `eks.amazonaws.com/fargate-profile: <name>` gets that one
(if it matches); otherwise the first by name (EKS picks one at random).

The profiles come from `<data dir>/fargate-profiles.json`, written by the service; it is read
again when it changes. `matching_profile` is pure and shared with the service.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

from kubelite.registry.generic.store import AdmissionAttributes

FARGATE_PROFILES_FILE = "fargate-profiles.json"
FARGATE_SCHEDULER = "fargate-scheduler"
PROFILE_ANNOTATION = "eks.amazonaws.com/fargate-profile"
PROFILE_LABEL = "eks.amazonaws.com/fargate-profile"
COMPUTE_TYPE = "eks.amazonaws.com/compute-type"


@lru_cache(maxsize=512)
def _wildcard(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def wildcard_match(pattern: str, value: str) -> bool:
    return _wildcard(pattern).fullmatch(value) is not None


def selector_matches(selector: dict, namespace: str, labels: dict[str, str]) -> bool:
    if not wildcard_match(selector.get("namespace") or "", namespace):
        return False
    for k, v in (selector.get("labels") or {}).items():
        if not any(wildcard_match(k, lk) and wildcard_match(v, lv) for lk, lv in labels.items()):
            return False
    return True


def profile_matches(profile: dict, namespace: str, labels: dict[str, str]) -> bool:
    return any(selector_matches(s, namespace, labels) for s in profile.get("selectors") or [])


def matching_profile(profiles: list[dict], pod: dict) -> str | None:
    """The Fargate profile a pod goes to (None: it stays on EC2 nodes)."""
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    if (md.get("annotations") or {}).get(COMPUTE_TYPE) == "ec2" or spec.get("nodeName"):
        return None
    if spec.get("schedulerName") not in (None, "", "default-scheduler", FARGATE_SCHEDULER):
        return None
    if any(o.get("kind") == "DaemonSet" for o in md.get("ownerReferences") or []):
        return None
    namespace = md.get("namespace") or "default"
    labels = md.get("labels") or {}
    matched = sorted(p["name"] for p in profiles if profile_matches(p, namespace, labels))
    if not matched:
        return None
    wanted = labels.get(PROFILE_LABEL)
    return wanted if wanted in matched else matched[0]


class FargateAdmission:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._profiles: list[dict] = []

    def profiles(self) -> list[dict]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._profiles = None, []
            return []
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                self._profiles = list(json.loads(self.path.read_text()).get("profiles") or [])
                self._stamp = stamp
            except (OSError, ValueError):
                pass  # half written: the last good list stands
        return self._profiles

    async def admit(self, a: AdmissionAttributes) -> None:
        r = a.resource
        if a.operation != "CREATE" or r.kind != "Pod" or r.group or a.subresource or not a.obj:
            return
        profiles = self.profiles()
        if not profiles:
            return
        pod = a.obj
        pod.setdefault("metadata", {}).setdefault("namespace", a.namespace)
        name = matching_profile(profiles, pod)
        if name is None:
            return
        pod.setdefault("spec", {})["schedulerName"] = FARGATE_SCHEDULER
        pod["metadata"].setdefault("annotations", {})[PROFILE_ANNOTATION] = name

    async def validate(self, a: AdmissionAttributes) -> None:
        return None


def write_profiles(path: Path, profiles: list[dict]) -> None:
    """Replace the profiles file atomically (the API server rereads it on its next pod)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"profiles": profiles}))
    os.replace(tmp, path)
