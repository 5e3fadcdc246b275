"""Running mmdebstrap: the command line for a recipe (pure) and the run (asyncio subprocess).

mmdebstrap reaches Debian's archive through this machine's apt sources: the deb822
`/etc/apt/sources.list.d/*.sources` files (or `/etc/apt/sources.list`) are handed to it as its
mirror arguments, which it pastes into the new system's sources. `SOURCE_DATE_EPOCH` makes its
output reproducible; `/etc/resolv.conf` and `/etc/hostname` (copied from the host) are removed, and
apt's `partial` dirs get a fixed owner (it differs with the work dir's permissions otherwise).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .errors import BootstrapError
from .recipes import SOURCE_DATE_EPOCH, SUITE, Recipe

MMDEBSTRAP = "mmdebstrap"
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
APT_SOURCES_LIST = Path("/etc/apt/sources.list")
BASE_HOOKS = (
    'rm -f "$1"/etc/resolv.conf "$1"/etc/hostname',
    # apt leaves its partial dirs owned by root instead of _apt when its sandbox user cannot reach
    # the work dir (a 0700 parent): give them the owner a normal apt run gives, whatever happened
    'if chroot "$1" getent passwd _apt >/dev/null 2>&1; then '
    'chroot "$1" chown _apt:root /var/cache/apt/archives/partial /var/lib/apt/lists/partial; fi',
)


def apt_sources(sources_dir: Path = APT_SOURCES_DIR, sources_list: Path = APT_SOURCES_LIST) -> list[str]:
    """The machine's apt sources as mmdebstrap mirror arguments (files, one format)."""
    deb822 = sorted(str(p) for p in sources_dir.glob("*.sources")) if sources_dir.is_dir() else []
    if deb822:
        return deb822
    one_line = [str(sources_list)] if sources_list.is_file() and sources_list.stat().st_size else []
    one_line += sorted(str(p) for p in sources_dir.glob("*.list")) if sources_dir.is_dir() else []
    return one_line


def mmdebstrap_argv(recipe: Recipe, target: str, mirrors: list[str], *, binary: str = MMDEBSTRAP) -> list[str]:
    argv = [binary, f"--variant={recipe.variant}", "--format=tar"]
    argv += [f"--dpkgopt={o}" for o in recipe.dpkg_options]
    if recipe.include:
        argv.append("--include=" + ",".join(recipe.include))
    argv += [f"--customize-hook={h}" for h in (*BASE_HOOKS, *recipe.hooks)]
    argv += [SUITE, target, *mirrors]
    return argv


def mmdebstrap_available() -> bool:
    return shutil.which(MMDEBSTRAP) is not None


async def mmdebstrap_version() -> str:
    proc = await asyncio.create_subprocess_exec(MMDEBSTRAP, "--version", stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    return out.decode().strip() or MMDEBSTRAP


async def run_mmdebstrap(argv: list[str], workdir: Path, log: Callable[[str], None]) -> None:
    """Run it with output streamed to `log`; raises `BootstrapError` with the tail of its output."""
    if shutil.which(argv[0]) is None:
        raise BootstrapError("mmdebstrap is not installed (apt-get install mmdebstrap)")
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH), "TMPDIR": str(workdir), "LC_ALL": "C.UTF-8"}
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                                                env=env, cwd=str(workdir))
    tail: list[str] = []
    try:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            tail = (tail + [text])[-25:]
            log(text)
        code = await proc.wait()
    except BaseException:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
        raise
    if code != 0:
        raise BootstrapError(f"mmdebstrap failed with exit code {code}:\n" + "\n".join(tail))
