"""hostPath volumes: the path on the node, checked or created according to `type`."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class HostPathError(Exception):
    pass


def check(path: str, kind: str) -> None:
    """Kubernetes' hostPath type checker (blocking). Messages as Kubernetes writes them."""
    p = Path(path)
    if kind in ("", None):
        return
    if kind == "DirectoryOrCreate":
        if not p.exists():
            os.makedirs(p, mode=0o755, exist_ok=True)
            os.chmod(p, 0o755)
            return
        kind = "Directory"
    if kind == "FileOrCreate":
        if not p.exists():
            if not p.parent.is_dir():
                raise HostPathError(f"hostPath type check failed: {path} is not a file")
            p.touch(mode=0o644)
            return
        kind = "File"
    try:
        mode = os.stat(p).st_mode
    except OSError:
        mode = 0
    checks = {
        "Directory": (stat.S_ISDIR, "is not a directory"),
        "File": (stat.S_ISREG, "is not a file"),
        "Socket": (stat.S_ISSOCK, "is not a socket file"),
        "CharDevice": (stat.S_ISCHR, "is not a character device"),
        "BlockDevice": (stat.S_ISBLK, "is not a block device"),
    }
    if kind not in checks:
        raise HostPathError(f"hostPath type check failed: unknown type {kind}")
    test, message = checks[kind]
    if not mode or not test(mode):
        raise HostPathError(f"hostPath type check failed: {path} {message}")
