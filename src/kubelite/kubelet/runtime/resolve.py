"""Pure rules that turn a container config plus its image config into the process to run.

These are Kubernetes' and Docker's rules (command/args vs Entrypoint/Cmd, env precedence, working
dir, user lookup, stop signal); every runtime implementation uses them, so the fake and runc agree.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any

from .errors import InvalidArgument
from .interface import ContainerConfig, KeyValue, SecurityContext

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def resolve_args(command: list[str], args: list[str], image_config: dict[str, Any]) -> list[str]:
    """Kubernetes' rule: command replaces Entrypoint (and drops Cmd); args replace Cmd."""
    entrypoint = list(image_config.get("Entrypoint") or [])
    cmd = list(image_config.get("Cmd") or [])
    if command:
        argv = list(command) + list(args)
    elif args:
        argv = entrypoint + list(args)
    else:
        argv = entrypoint + cmd
    if not argv:
        raise InvalidArgument("no command specified")
    return argv


def resolve_env(hostname: str, image_config: dict[str, Any], envs: list[KeyValue]) -> list[str]:
    """Default PATH, then HOSTNAME, then the image's Env, then the container's env; a later value
    replaces an earlier one for the same name and keeps its position."""
    merged: dict[str, str] = {"PATH": DEFAULT_PATH}
    if hostname:
        merged["HOSTNAME"] = hostname
    for entry in image_config.get("Env") or []:
        key, _, value = str(entry).partition("=")
        merged[key] = value
    for kv in envs:
        merged[kv.key] = kv.value
    return [f"{k}={v}" for k, v in merged.items()]


def resolve_working_dir(working_dir: str, image_config: dict[str, Any]) -> str:
    return working_dir or image_config.get("WorkingDir") or "/"


def parse_signal(name: str) -> int:
    """`SIGTERM`, `TERM`, `15`, `SIGRTMIN+3` -> the signal number."""
    text = name.strip().upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    if text.startswith("SIGRTMIN+") or text.startswith("SIGRTMAX-"):
        base, _, off = text[3:].partition("+" if "+" in text else "-")
        n = int(off)
        return signal.SIGRTMIN + n if base == "RTMIN" else signal.SIGRTMAX - n
    try:
        return int(signal.Signals[text])
    except KeyError:
        raise InvalidArgument(f"invalid stop signal {name!r}") from None


def resolve_stop_signal(config: ContainerConfig) -> int:
    name = config.stop_signal or config.image.config.get("StopSignal") or "SIGTERM"
    return parse_signal(name)


@dataclass
class PasswdEntry:
    name: str
    uid: int
    gid: int


@dataclass
class GroupEntry:
    name: str
    gid: int
    members: list[str]


def parse_passwd(text: str) -> list[PasswdEntry]:
    out = []
    for line in text.splitlines():
        parts = line.strip().split(":")
        if len(parts) >= 4 and not line.startswith("#"):
            try:
                out.append(PasswdEntry(parts[0], int(parts[2]), int(parts[3])))
            except ValueError:
                continue
    return out


def parse_group(text: str) -> list[GroupEntry]:
    out = []
    for line in text.splitlines():
        parts = line.strip().split(":")
        if len(parts) >= 3 and not line.startswith("#"):
            try:
                members = [m for m in parts[3].split(",") if m] if len(parts) > 3 else []
                out.append(GroupEntry(parts[0], int(parts[2]), members))
            except ValueError:
                continue
    return out


@dataclass
class User:
    uid: int
    gid: int
    additional_gids: list[int]


def resolve_user(
    security: SecurityContext, image_user: str, passwd_text: str = "", group_text: str = ""
) -> User:
    """runAsUser / runAsUsername / the image's `User` (`name`, `uid`, `uid:gid`, `name:group`),
    with names looked up in the container's own /etc/passwd and /etc/group; supplementary groups
    are the user's groups from /etc/group plus `supplementalGroups` (containerd's "Merge")."""
    users = parse_passwd(passwd_text)
    groups = parse_group(group_text)
    name = ""
    group_spec = ""
    if security.run_as_user is not None:
        uid = security.run_as_user
        entry = next((u for u in users if u.uid == uid), None)
        gid = entry.gid if entry else 0
        name = entry.name if entry else ""
    elif security.run_as_username:
        entry = next((u for u in users if u.name == security.run_as_username), None)
        if entry is None:
            raise InvalidArgument(f"unable to find user {security.run_as_username}: no matching entries in passwd file")
        uid, gid, name = entry.uid, entry.gid, entry.name
    else:
        user_spec, _, group_spec = (image_user or "").partition(":")
        if not user_spec:
            uid, gid, name = 0, 0, "root"
        elif user_spec.isdigit():
            uid = int(user_spec)
            entry = next((u for u in users if u.uid == uid), None)
            gid = entry.gid if entry else 0
            name = entry.name if entry else ""
        else:
            entry = next((u for u in users if u.name == user_spec), None)
            if entry is None:
                raise InvalidArgument(f"unable to find user {user_spec}: no matching entries in passwd file")
            uid, gid, name = entry.uid, entry.gid, entry.name
    if group_spec:
        if group_spec.isdigit():
            gid = int(group_spec)
        else:
            g = next((g for g in groups if g.name == group_spec), None)
            if g is None:
                raise InvalidArgument(f"unable to find group {group_spec}: no matching entries in group file")
            gid = g.gid
    if security.run_as_group is not None:
        gid = security.run_as_group
    extra: list[int] = []
    if name:
        extra = [g.gid for g in groups if name in g.members]
    extra = list(dict.fromkeys(extra + list(security.supplemental_groups)))
    return User(uid=uid, gid=gid, additional_gids=extra)
