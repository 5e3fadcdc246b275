"""Dockerfile parsing: directives, comments, line continuations, flags, JSON forms, heredocs. Pure.

The result is a list of `Instruction`s with their 1-based start line. Variable substitution is
not done here (it depends on build state; see `shell.py`). Exec (JSON) form is recognised only
for a valid JSON array of strings; anything else is shell form (`CMD ['a']` is a shell command).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .errors import BuildError

_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.+?)\s*$")
_HEREDOC_RE = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_FLAG_RE = re.compile(r"^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(.*))?$")

JSON_FORMS = {"run", "cmd", "entrypoint", "shell", "copy", "add", "volume", "healthcheck"}
FLAGGED = {"from", "copy", "add", "run", "healthcheck"}
KNOWN = {"from", "run", "cmd", "label", "maintainer", "expose", "env", "add", "copy", "entrypoint", "volume",
         "user", "workdir", "arg", "onbuild", "stopsignal", "healthcheck", "shell"}


@dataclass
class Heredoc:
    name: str
    content: str
    expand: bool       # unquoted delimiter: variables are expanded
    chomp: bool        # `<<-`: leading tabs removed


@dataclass
class Instruction:
    cmd: str                      # lower-case instruction name
    rest: str                     # text after the name (flags included), continuations joined
    line: int                     # 1-based line of the instruction
    end_line: int = 0
    original: str = ""            # as written (joined), for messages and history
    flags: dict[str, list[str]] = field(default_factory=dict)
    args: str = ""                # `rest` without the leading flags
    json: list[str] | None = None  # exec/JSON form
    heredocs: list[Heredoc] = field(default_factory=list)

    def flag(self, name: str, default: str | None = None) -> str | None:
        v = self.flags.get(name)
        return v[-1] if v else default


@dataclass
class Dockerfile:
    instructions: list[Instruction]
    directives: dict[str, str]
    escape: str = "\\"
    lines: list[str] = field(default_factory=list)


def _split_flags(rest: str) -> tuple[dict[str, list[str]], str]:
    flags: dict[str, list[str]] = {}
    s = rest.lstrip()
    while s.startswith("--"):
        m = re.match(r"^(\S+)\s*", s)
        if not m:
            break
        tok = m.group(1)
        fm = _FLAG_RE.match(tok)
        if not fm:
            break
        flags.setdefault(fm.group(1).lower(), []).append(fm.group(2) if fm.group(2) is not None else "true")
        s = s[m.end():]
    return flags, s


def parse_json_form(s: str) -> list[str] | None:
    s = s.strip()
    if not s.startswith("["):
        return None
    try:
        v = json.loads(s)
    except ValueError:
        return None
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return v
    return None


def parse(text: str, filename: str = "Dockerfile") -> Dockerfile:
    lines = text.splitlines()
    directives: dict[str, str] = {}
    i = 0
    # directives: only at the very top, before any comment, blank line or instruction
    while i < len(lines):
        m = _DIRECTIVE_RE.match(lines[i].strip())
        if not m or not lines[i].lstrip().startswith("#"):
            break
        key = m.group(1).lower()
        if key in directives:
            raise BuildError(f"only one {key} parser directive can be used", filename=filename, line=i + 1)
        directives[key] = m.group(2)
        i += 1
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise BuildError(f"invalid escape token {escape!r} does not match ` or \\", filename=filename, line=1)

    out: list[Instruction] = []
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        parts: list[str] = []
        cur = raw
        while True:
            body = cur.rstrip()
            if body.endswith(escape):
                parts.append(body[:-1])
                i += 1
                # skip comment lines and empty lines inside a continuation
                while i < len(lines) and (lines[i].strip().startswith("#") or not lines[i].strip()):
                    i += 1
                if i >= len(lines):
                    break
                cur = lines[i]
                continue
            parts.append(cur)
            i += 1
            break
        joined = "".join(parts).strip()
        m = re.match(r"^(\S+)\s*(.*)$", joined, re.S)
        word, rest = (m.group(1), m.group(2)) if m else (joined, "")
        cmd = word.lower()
        if cmd not in KNOWN:
            raise BuildError(f"unknown instruction: {word}", filename=filename, line=start + 1)
        ins = Instruction(cmd=cmd, rest=rest, line=start + 1, original=joined)
        if cmd in FLAGGED:
            ins.flags, ins.args = _split_flags(rest)
        else:
            ins.args = rest
        if cmd in ("run", "copy", "add") and "<<" in ins.args and escape:
            docs = list(_HEREDOC_RE.finditer(ins.args))
            for d in docs:
                chomp, quote, name = d.group(1) == "-", d.group(2), d.group(3)
                body: list[str] = []
                while i < len(lines) and (lines[i].lstrip("\t") if chomp else lines[i]) != name:
                    body.append(lines[i].lstrip("\t") if chomp else lines[i])
                    i += 1
                if i >= len(lines):
                    raise BuildError(f"unterminated heredoc {name}", filename=filename, line=start + 1)
                i += 1
                ins.heredocs.append(Heredoc(name, "\n".join(body) + "\n", expand=not quote, chomp=chomp))
        if cmd in JSON_FORMS and not ins.heredocs:
            target = ins.args
            if cmd == "healthcheck":
                hc = re.match(r"^(?i:cmd)\s+(.*)$", target, re.S)
                target = hc.group(1) if hc else ""
            ins.json = parse_json_form(target)
        ins.end_line = i
        out.append(ins)
    if not out:
        raise BuildError("the Dockerfile cannot be empty", filename=filename, line=0)
    return Dockerfile(out, directives, escape, lines)
