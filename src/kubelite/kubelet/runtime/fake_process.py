"""The tiny shell a `FakeRuntime` container runs, advanced by event-loop timers (no tasks).

`sh -c SCRIPT` (or a bare argv) made of `echo [-n] WORDS [>&2]`, `sleep N`, `exit N`,
`trap 'exit N' SIG` / `trap '' SIG`, `wait`, `true`, `:`, `cat` (echoes stdin). Any other command
runs until it is signalled, like a server. Unlike a real PID 1, a process without a trap exits on
SIGTERM (143).
"""

from __future__ import annotations

import asyncio
import re
import shlex
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from . import crilog


@dataclass
class Step:
    kind: str  # out | sleep | exit | trap | block | cat
    stream: str = crilog.STDOUT
    data: bytes = b""
    seconds: float = 0.0
    code: int = 0
    signals: tuple[int, ...] = ()
    action: int | None = None  # trap: exit code, or None = ignore


@dataclass
class FakeProcess:
    """What a container (or exec) does: steps, or a fixed outcome for `handler`s."""

    steps: list[Step] = field(default_factory=list)
    oom_killed: bool = False  # report OOMKilled when it exits non-zero


Handler = Callable[[list[str]], FakeProcess]


def _signals(names: list[str]) -> tuple[int, ...]:
    out = []
    for n in names:
        n = n.upper()
        n = n if n.startswith("SIG") else "SIG" + n
        if n in signal.Signals.__members__:
            out.append(int(signal.Signals[n]))
    return tuple(out)


def _statement(words: list[str]) -> list[Step]:
    if not words:
        return []
    cmd, rest = words[0].rsplit("/", 1)[-1], words[1:]
    if cmd == "echo":
        stream = crilog.STDOUT
        if rest and rest[-1] in (">&2", "1>&2"):
            stream, rest = crilog.STDERR, rest[:-1]
        newline = b"\n"
        if rest and rest[0] == "-n":
            newline, rest = b"", rest[1:]
        return [Step("out", stream=stream, data=" ".join(rest).encode() + newline)]
    if cmd == "sleep":
        arg = rest[0] if rest else "0"
        return [Step("block")] if arg == "infinity" else [Step("sleep", seconds=float(arg))]
    if cmd == "exit":
        return [Step("exit", code=int(rest[0]) if rest else 0)]
    if cmd == "trap" and rest:
        action = rest[0].split()
        code = None if not action else (int(action[1]) if action[0] == "exit" and len(action) > 1 else 0)
        return [Step("trap", signals=_signals(rest[1:]), action=code)]
    if cmd in ("wait", "true", ":"):
        return []
    if cmd == "cat" and not rest:
        return [Step("cat")]
    return [Step("block")]


def parse_script(script: str) -> list[Step]:
    lexer = shlex.shlex(script.replace("\n", ";"), posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    steps: list[Step] = []
    words: list[str] = []
    for tok in lexer:
        if tok in (";", "&", "&&", "||", "|", ";;"):
            steps += _statement(words)
            words = []
        else:
            words.append(tok)
    steps += _statement(words)
    return steps


def shell_handler(argv: list[str]) -> FakeProcess:
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash") and argv[1] == "-c":
        # quote `>&2` so the lexer keeps it one word instead of splitting at `&`
        return FakeProcess(parse_script(re.sub(r"\s*1?>&2", " '>&2'", argv[2])))
    return FakeProcess(_statement(list(argv)))


class ScriptRun:
    """A running script, advanced by loop timers (no tasks)."""

    def __init__(self, process: FakeProcess, emit: Callable[[str, bytes], None], done: Callable[[int], None]):
        self.steps = list(process.steps)
        self.process = process
        self.emit = emit
        self.done = done
        self.traps: dict[int, int | None] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.finished = False
        self.stdin_echo = False

    def start(self) -> None:
        self.advance()

    def advance(self) -> None:
        self.timer = None
        while self.steps and not self.finished:
            step = self.steps.pop(0)
            if step.kind == "out":
                self.emit(step.stream, step.data)
            elif step.kind == "trap":
                for s in step.signals:
                    self.traps[s] = step.action
            elif step.kind == "exit":
                self.finish(step.code)
                return
            elif step.kind == "sleep":
                self.timer = asyncio.get_running_loop().call_later(step.seconds, self.advance)
                return
            elif step.kind == "cat":
                self.stdin_echo = True
                return
            elif step.kind == "block":
                return
        if not self.finished:
            self.finish(0)

    def stdin(self, data: bytes | None) -> None:
        if self.stdin_echo:
            if data is None:
                self.stdin_echo = False
                self.advance()
            else:
                self.emit(crilog.STDOUT, data)

    def signal(self, sig: int) -> None:
        if self.finished:
            return
        if sig == signal.SIGKILL:
            self.finish(128 + sig)
        elif sig in self.traps:
            if self.traps[sig] is not None:
                self.finish(self.traps[sig])
        else:
            self.finish(128 + sig)

    def finish(self, code: int) -> None:
        if self.finished:
            return
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.done(code)
