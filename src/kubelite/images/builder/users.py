"""`USER` and `--chown` names resolved from the image's own `/etc/passwd` and `/etc/group`.

Rules (Docker): `uid[:gid]` needs no files; a name must exist in the image's passwd (else the
build fails); with a user only, RUN uses the user's primary group (0 when the user is unknown
by number) and its supplementary groups from `/etc/group`; `--chown=user` means gid = uid.
Blocking (reads files under the root): call from a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import BuildError
from .fsutil import resolve


@dataclass
class ExecUser:
    uid: int
    gid: int
    additional_gids: list[int] = field(default_factory=list)
    home: str = "/root"


def _read(root: str, path: str) -> list[list[str]]:
    try:
        with open(resolve(root, path), encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip() and not line.startswith("#")]
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []


def _lookup_user(root: str, user: str) -> list[str] | None:
    for e in _read(root, "/etc/passwd"):
        if len(e) >= 4 and (e[0] == user or (user.isdigit() and e[2] == user)):
            return e
    return None


def _lookup_group(root: str, group: str) -> list[str] | None:
    for e in _read(root, "/etc/group"):
        if len(e) >= 3 and (e[0] == group or (group.isdigit() and e[2] == group)):
            return e
    return None


def resolve_user(root: str, spec: str) -> ExecUser:
    """The RUN user for `USER spec` (empty = root)."""
    user, _, group = (spec or "0").partition(":")
    entry = _lookup_user(root, user)
    if entry is not None:
        uid, gid, home = int(entry[2]), int(entry[3]), entry[5] if len(entry) > 5 else "/"
    elif user.isdigit():
        uid, gid, home = int(user), 0, "/"
    else:
        raise BuildError(f"unable to find user {user}: no matching entries in passwd file")
    extra: list[int] = []
    if group:
        g = _lookup_group(root, group)
        if g is not None:
            gid = int(g[2])
        elif group.isdigit():
            gid = int(group)
        else:
            raise BuildError(f"unable to find group {group}: no matching entries in group file")
    elif entry is not None:
        for g in _read(root, "/etc/group"):
            if len(g) >= 4 and entry[0] in g[3].split(",") and int(g[2]) != gid:
                extra.append(int(g[2]))
    return ExecUser(uid, gid, extra, home)


def resolve_chown(root: str, spec: str) -> tuple[int, int]:
    """`--chown=user[:group]` → (uid, gid); user only → gid = uid."""
    user, sep, group = spec.partition(":")
    if user.isdigit():
        uid = int(user)
    else:
        e = _lookup_user(root, user)
        if e is None:
            raise BuildError(f"unable to convert uid/gid chown string to host mapping: can't find uid for user {user}: "
                             f"no such user: {user}")
        uid = int(e[2])
    if not sep or not group:
        return uid, uid
    if group.isdigit():
        return uid, int(group)
    g = _lookup_group(root, group)
    if g is None:
        raise BuildError(f"unable to convert uid/gid chown string to host mapping: can't find gid for group {group}: "
                         f"no such group: {group}")
    return uid, int(g[2])
