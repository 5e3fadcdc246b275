"""Pod spec -> the runtime's `ContainerConfig` (Kubernetes' `generateContainerConfig` and
`makeMounts`). Pure apart from creating subPath directories (blocking; run in a thread)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..env import expand, expand_command
from ..logs import container_log_path
from ..runtime.interface import ContainerConfig, ContainerImage, KeyValue, Mount, MountPropagation
from . import labels as lb
from .resources import container_resources
from .security import security_context

_PROPAGATION = {
    "HostToContainer": MountPropagation.HOST_TO_CONTAINER,
    "Bidirectional": MountPropagation.BIDIRECTIONAL,
}


class ConfigError(Exception):
    """The container cannot be configured (CreateContainerConfigError)."""


@dataclass
class ConfigInputs:
    volume_paths: dict[str, str]  # volume name -> host path
    hosts_file: str  # the pod's managed /etc/hosts ("" = none)
    memory_capacity: int
    seccomp_root: Path
    cfs_quota: bool = True
    cfs_period: int = 100_000


def _subpath(base: str, sub: str) -> str:
    if os.path.isabs(sub) or ".." in Path(sub).parts:
        raise ConfigError(f"failed to prepare subPath for volumeMount: subPath {sub!r} must be a relative path "
                          "without '..'")
    target = os.path.join(base, sub)
    if os.path.isdir(base) and not os.path.exists(target):
        os.makedirs(target, mode=0o755, exist_ok=True)
    return target


def make_mounts(container: dict, env: dict[str, str], inputs: ConfigInputs) -> list[Mount]:
    mounts: list[Mount] = []
    for vm in container.get("volumeMounts") or []:
        name = str(vm.get("name") or "")
        if name not in inputs.volume_paths:
            raise ConfigError(f"cannot find volume {name!r} to mount into container {container.get('name')!r}")
        host = inputs.volume_paths[name]
        sub = vm.get("subPath") or ""
        if vm.get("subPathExpr"):
            sub = expand(str(vm["subPathExpr"]), env.get)
        if sub:
            host = _subpath(host, sub)
        mounts.append(Mount(container_path=str(vm.get("mountPath") or ""), host_path=host,
                            readonly=bool(vm.get("readOnly")),
                            propagation=_PROPAGATION.get(vm.get("mountPropagation") or "", MountPropagation.PRIVATE)))
    if inputs.hosts_file and not any(m.container_path == "/etc/hosts" for m in mounts):
        mounts.append(Mount(container_path="/etc/hosts", host_path=inputs.hosts_file,
                            readonly=bool((container.get("securityContext") or {}).get("readOnlyRootFilesystem"))))
    return mounts


def container_config(pod: dict, container: dict, *, kind: str, image: ContainerImage, restart_count: int,
                     env: list[tuple[str, str]], inputs: ConfigInputs) -> ContainerConfig:
    env_map = dict(env)
    command, args = expand_command(container, env_map)
    return ContainerConfig(
        name=container.get("name", ""),
        image=image,
        attempt=restart_count,
        command=command,
        args=args,
        working_dir=str(container.get("workingDir") or ""),
        envs=[KeyValue(k, v) for k, v in env],
        mounts=make_mounts(container, env_map, inputs),
        labels=lb.container_labels(pod, container, kind),
        annotations=lb.container_annotations(pod, container, restart_count),
        log_path=container_log_path(container.get("name", ""), restart_count),
        stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        tty=bool(container.get("tty")),
        resources=container_resources(pod, container, memory_capacity=inputs.memory_capacity,
                                      cfs_quota=inputs.cfs_quota, period=inputs.cfs_period),
        security=security_context(pod, container, seccomp_root=inputs.seccomp_root),
        termination_message_path=str(container.get("terminationMessagePath") or "/dev/termination-log"),
    )
