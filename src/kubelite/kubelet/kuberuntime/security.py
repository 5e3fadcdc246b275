"""Pod and container securityContext -> the runtime's `SecurityContext`, and the runAsNonRoot
check (Kubernetes' `securitycontext` and `kuberuntime/security_context*.go`)."""

from __future__ import annotations

from pathlib import Path

from ..podutil import format_pod
from ..runtime.interface import Seccomp, SecurityContext

_CONTAINER_OVERRIDES = ("runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile", "seLinuxOptions",
                        "appArmorProfile", "windowsOptions")


def effective_security_context(pod: dict, container: dict) -> dict:
    """The container's securityContext with the pod-level fields it does not set."""
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    csc = container.get("securityContext") or {}
    out = dict(csc)
    for key in _CONTAINER_OVERRIDES:
        if key not in out and key in psc:
            out[key] = psc[key]
    return out


class NonRootError(Exception):
    pass


def image_user(image_config: dict) -> tuple[int | None, str]:
    """(uid, username) of an image's `User`: a numeric user gives a uid, a name gives a name."""
    user = str(image_config.get("User") or "")
    spec = user.partition(":")[0]
    if not spec:
        return 0, ""
    if spec.isdigit():
        return int(spec), ""
    return None, spec


def verify_run_as_non_root(pod: dict, container: dict, image_config: dict) -> None:
    sc = effective_security_context(pod, container)
    if not sc.get("runAsNonRoot"):
        return
    name = container.get("name", "")
    if sc.get("runAsUser") is not None:
        if int(sc["runAsUser"]) == 0:
            raise NonRootError(f'container\'s runAsUser breaks non-root policy (pod: "{format_pod(pod)}", '
                               f"container: {name})")
        return
    uid, username = image_user(image_config)
    if uid == 0:
        raise NonRootError(f'container has runAsNonRoot and image will run as root (pod: "{format_pod(pod)}", '
                           f"container: {name})")
    if uid is None and username:
        raise NonRootError(f"container has runAsNonRoot and image has non-numeric user ({username}), cannot verify "
                           f'user is non-root (pod: "{format_pod(pod)}", container: {name})')


def _seccomp(profile: dict | None, root: Path) -> tuple[Seccomp, str]:
    """No profile = Unconfined (Kubernetes' default when the pod sets none)."""
    kind = (profile or {}).get("type") or "Unconfined"
    if kind == "RuntimeDefault":
        return Seccomp.RUNTIME_DEFAULT, ""
    if kind == "Localhost":
        return Seccomp.LOCALHOST, str(root / str(profile.get("localhostProfile") or ""))
    return Seccomp.UNCONFINED, ""


def security_context(pod: dict, container: dict, *, seccomp_root: Path) -> SecurityContext:
    sc = effective_security_context(pod, container)
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    groups = [int(g) for g in psc.get("supplementalGroups") or []]
    if psc.get("fsGroup") is not None:
        groups.append(int(psc["fsGroup"]))
    seccomp, ref = _seccomp(sc.get("seccompProfile"), seccomp_root)
    out = SecurityContext(
        run_as_user=int(sc["runAsUser"]) if sc.get("runAsUser") is not None else None,
        run_as_group=int(sc["runAsGroup"]) if sc.get("runAsGroup") is not None else None,
        supplemental_groups=list(dict.fromkeys(groups)),
        capabilities_add=[str(c) for c in caps.get("add") or []],
        capabilities_drop=[str(c) for c in caps.get("drop") or []],
        privileged=bool(sc.get("privileged")),
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        no_new_privs=sc.get("allowPrivilegeEscalation") is False,
        seccomp=seccomp,
        seccomp_localhost_ref=ref,
    )
    if sc.get("procMount") == "Unmasked":
        out.masked_paths, out.readonly_paths = [], []
    return out
