"""Stages of a Dockerfile: global ARGs, `FROM … AS name`, `--target`, and which stages a build needs.

Only ARG may precede the first FROM; those global ARGs (plus BuildKit's platform ARGs) are
expanded in FROM lines and give defaults to a bare `ARG name` inside a stage. A stage is
needed when it is the target or when a needed stage builds `FROM` it or `COPY --from`s it;
others are skipped, as BuildKit does. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import BuildError
from .parser import Dockerfile, Instruction
from .shell import parse_key_values, process_word, process_words

PLATFORM_ARGS = {
    "TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64", "TARGETVARIANT": "",
    "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64", "BUILDVARIANT": "",
}
PROXY_ARGS = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY",
              "no_proxy", "ALL_PROXY", "all_proxy"}


@dataclass
class Stage:
    index: int
    name: str                  # lower-case `AS` name, or "" (then referred to by index)
    base: str                  # the FROM image or stage name, expanded
    from_ins: Instruction
    instructions: list[Instruction] = field(default_factory=list)
    platform: str = ""

    @property
    def label(self) -> str:
        return self.name or f"stage-{self.index}"


@dataclass
class Plan:
    meta_args: dict[str, str]      # global ARG values (for FROM lines and bare ARGs)
    stages: list[Stage]
    target: int
    needed: list[int]              # stage indexes to build, in order
    used_build_args: set[str]


def plan(df: Dockerfile, build_args: dict[str, str], target: str = "", filename: str = "Dockerfile") -> Plan:
    meta = dict(PLATFORM_ARGS)
    used: set[str] = set()
    stages: list[Stage] = []
    for ins in df.instructions:
        if ins.cmd == "from":
            words = process_words(ins.args, meta, df.escape)
            if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
                raise BuildError("FROM requires either one or three arguments", filename=filename, line=ins.line)
            name = words[2].lower() if len(words) == 3 else ""
            if name and any(s.name == name for s in stages):
                raise BuildError(f"duplicate stage name {name!r}", filename=filename, line=ins.line)
            platform = process_word(ins.flag("platform", "") or "", meta, df.escape)
            stages.append(Stage(len(stages), name, words[0], ins, platform=platform))
            continue
        if not stages:
            if ins.cmd != "arg":
                raise BuildError("no build stage in current context", filename=filename, line=ins.line)
            for key, default in parse_key_values(ins.args, meta, df.escape, "arg"):
                if key in build_args:
                    meta[key] = build_args[key]
                    used.add(key)
                elif default != "\0":
                    meta[key] = default
                else:
                    meta.setdefault(key, "")
            continue
        stages[-1].instructions.append(ins)
    if not stages:
        raise BuildError("no build stage in current context", filename=filename)
    if target:
        hits = [s.index for s in stages if s.name == target.lower()]
        if not hits:
            raise BuildError(f"target stage {target!r} could not be found", filename=filename)
        tgt = hits[0]
    else:
        tgt = len(stages) - 1
    needed: set[int] = set()
    stack = [tgt]
    while stack:
        i = stack.pop()
        if i in needed:
            continue
        needed.add(i)
        for dep in stage_deps(stages, i, meta, df.escape):
            stack.append(dep)
    return Plan(meta, stages, tgt, sorted(needed), used)


def stage_ref(stages: list[Stage], ref: str, before: int) -> int | None:
    """The index of an earlier stage named (or numbered) `ref`, else None (an image)."""
    low = ref.lower()
    for s in stages[:before]:
        if s.name and s.name == low:
            return s.index
    if low.isdigit() and int(low) < before:
        return int(low)
    return None


def stage_deps(stages: list[Stage], i: int, meta: dict[str, str], escape: str) -> list[int]:
    deps = []
    base = stage_ref(stages, stages[i].base, i)
    if base is not None:
        deps.append(base)
    for ins in stages[i].instructions:
        if ins.cmd in ("copy", "add") and ins.flag("from"):
            ref = process_word(ins.flag("from") or "", meta, escape)
            dep = stage_ref(stages, ref, i)
            if dep is not None:
                deps.append(dep)
    return deps
