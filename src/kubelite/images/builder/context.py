"""The build context: `.dockerignore`, source selection for COPY/ADD, and mtime-free checksums.

`.dockerignore` (moby/patternmatcher rules): one pattern a line, `#` comments, cleaned paths,
leading `/` ignored, Go `filepath.Match` (`*` and `?` stop at `/`, `[^…]` negates) plus `**`
for any number of directories; `!` re-includes; the last matching line wins; a path is excluded
if it or one of its parents matches. `<Dockerfile>.dockerignore` next to the Dockerfile wins over
the context's. The checksum of a selection covers names, types, modes, sizes, link targets and
content (and owners for `COPY --from`), never mtimes, so touching a file keeps the cache.
Blocking: call from a thread.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError

_WILDCARD = re.compile(r"[*?\[]")


def _translate(pattern: str, doublestar: bool = True) -> str:
    out = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if doublestar and i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                if body.startswith(("^", "!")):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "^" + "".join(out) + "$"


@dataclass
class _Pattern:
    text: str
    regex: re.Pattern[str]
    exclusion: bool


class DockerIgnore:
    def __init__(self, lines: list[str]) -> None:
        self.patterns: list[_Pattern] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            excl = line.startswith("!")
            if excl:
                line = line[1:].strip()
            line = posixpath.normpath(line).lstrip("/")
            if line in ("", "."):
                continue
            self.patterns.append(_Pattern(line, re.compile(_translate(line)), excl))

    @classmethod
    def load(cls, context: Path, dockerfile: Path | None = None) -> DockerIgnore:
        candidates = []
        if dockerfile is not None:
            candidates.append(dockerfile.with_name(dockerfile.name + ".dockerignore"))
        candidates.append(context / ".dockerignore")
        for c in candidates:
            if c.is_file():
                return cls(c.read_text().splitlines())
        return cls([])

    @property
    def has_exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def excluded(self, rel: str) -> bool:
        rel = posixpath.normpath(rel).lstrip("/")
        parents = []
        p = rel
        while p and p != ".":
            parents.append(p)
            p = posixpath.dirname(p)
        matched = False
        for pat in self.patterns:
            if any(pat.regex.match(x) for x in parents):
                matched = not pat.exclusion
        return matched


def go_match(pattern: str, name: str) -> bool:
    """Go's `filepath.Match` on a whole relative path (wildcards never cross `/`)."""
    return re.match(_translate(pattern, doublestar=False), name) is not None


@dataclass
class Source:
    """One selected source: a path relative to its root, and whether it is a directory."""

    root: Path
    rel: str          # "" for the root itself
    is_dir: bool

    @property
    def path(self) -> Path:
        return self.root / self.rel if self.rel else self.root


def _clean_src(src: str) -> str:
    p = posixpath.normpath("/" + src).lstrip("/")
    return "" if p == "." else p


def select_sources(root: Path, srcs: list[str], ignore: DockerIgnore | None, *, follow_root_symlinks: bool = True
                   ) -> list[Source]:
    """Resolve COPY/ADD sources (wildcards included) under `root`; missing ones raise BuildError."""
    out: list[Source] = []
    for src in srcs:
        rel = _clean_src(src)
        if _WILDCARD.search(rel):
            hits = []
            for cand in _walk(root, ignore, rel.split("/")):
                if go_match(rel, cand):
                    hits.append(cand)
            if not hits:
                raise BuildError(f'failed to compute cache key: failed to calculate checksum of ref: "/{rel}": not found')
            for h in sorted(hits):
                out.append(Source(root, h, (root / h).is_dir()))
            continue
        p = root / rel if rel else root
        if (rel and ignore is not None and ignore.excluded(rel)) or not os.path.lexists(p):
            raise BuildError(f'failed to compute cache key: failed to calculate checksum of ref: "/{rel}": not found')
        is_dir = p.is_dir() if follow_root_symlinks else (p.is_dir() and not p.is_symlink())
        out.append(Source(root, rel, is_dir))
    return out


def _walk(root: Path, ignore: DockerIgnore | None, parts: list[str]) -> list[str]:
    """Candidates for a wildcard pattern: entries at the pattern's depth."""
    depth = len(parts)
    found: list[str] = []

    def rec(d: Path, rel: str, level: int) -> None:
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except (NotADirectoryError, FileNotFoundError):
            return
        for e in entries:
            r = f"{rel}/{e.name}" if rel else e.name
            if ignore is not None and ignore.excluded(r):
                continue
            if not go_match(parts[level], e.name):
                continue
            if level + 1 == depth:
                found.append(r)
            elif e.is_dir(follow_symlinks=False):
                rec(Path(e.path), r, level + 1)

    rec(root, "", 0)
    return found


def iter_tree(src: Source, ignore: DockerIgnore | None) -> list[tuple[str, os.stat_result]]:
    """(path relative to `src`, lstat) of everything a source copies, parents first, sorted.

    For a directory source: its contents (not itself); for a file: the file (rel "").
    """
    base = src.path
    if not src.is_dir:
        return [("", os.stat(base))]
    out: list[tuple[str, os.stat_result]] = []

    def rec(d: str, rel: str) -> None:
        with os.scandir(d) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            r = f"{rel}/{e.name}" if rel else e.name
            ctx_rel = f"{src.rel}/{r}" if src.rel else r
            if ignore is not None and ignore.excluded(ctx_rel):
                if e.is_dir(follow_symlinks=False) and ignore.has_exclusions:
                    rec(e.path, r)  # a later `!` may re-include something inside
                continue
            st = e.stat(follow_symlinks=False)
            out.append((r, st))
            if stat.S_ISDIR(st.st_mode):
                rec(e.path, r)

    rec(str(base), "")
    return out


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def checksum(sources: list[Source], ignore: DockerIgnore | None, *, owners: bool = False) -> str:
    """A content checksum of the selection (no mtimes)."""
    h = hashlib.sha256()
    for src in sources:
        h.update(f"src {src.rel!r} dir={src.is_dir}\n".encode())
        for rel, st in iter_tree(src, ignore):
            path = os.path.join(src.path, rel) if rel else str(src.path)
            kind = stat.S_IFMT(st.st_mode)
            line = f"{rel!r} {kind:o} {stat.S_IMODE(st.st_mode):o}"
            if owners:
                line += f" {st.st_uid}:{st.st_gid}"
            if stat.S_ISREG(st.st_mode):
                line += f" {st.st_size} {_file_digest(path)}"
            elif stat.S_ISLNK(st.st_mode):
                line += f" -> {os.readlink(path)!r}"
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                line += f" {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
            h.update(line.encode() + b"\n")
    return "sha256:" + h.hexdigest()
