"""Dockerfile variable substitution and word splitting (the builder's shell lexer). Pure.

`$v`, `${v}`, `${v:-w}`, `${v-w}`, `${v:+w}`, `${v+w}`, `${v:?msg}`, `${v?msg}`, `${#v}`,
`${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}`, `${v/p/r}`, `${v//p/r}`; single quotes are literal,
double quotes allow expansion; the escape character (`\\` or a backtick) escapes the next
character (`\\$` is a literal `$`). `process_word` returns one string (quotes removed);
`process_words` also splits on unquoted whitespace, including whitespace that came from an
unquoted expansion.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

from .errors import BuildError

_NAME_START = re.compile(r"[A-Za-z_]")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str, split: bool) -> None:
        self.s = text
        self.i = 0
        self.env = env
        self.esc = escape
        self.split = split
        self.words: list[str] = []
        self.cur: list[str] = []
        self.has_word = False  # an empty quoted string still makes a word

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def next(self) -> str:
        ch = self.peek()
        self.i += 1
        return ch

    def emit(self) -> None:
        if self.cur or self.has_word:
            self.words.append("".join(self.cur))
        self.cur = []
        self.has_word = False

    def add_expansion(self, value: str) -> None:
        if not self.split:
            self.cur.append(value)
            return
        parts = re.split(r"[ \t\n]+", value)
        for j, part in enumerate(parts):
            if j:
                self.emit()
            if part:
                self.cur.append(part)

    def run(self, stop: str = "") -> str:
        """Process to the end (or to an unquoted `stop` char inside `${…}`); returns the text."""
        while self.i < len(self.s):
            ch = self.peek()
            if stop and ch in stop:
                break
            if ch == self.esc:
                self.i += 1
                if self.i < len(self.s):
                    self.cur.append(self.next())
                    self.has_word = True
                continue
            if ch == "'":
                self.i += 1
                self.has_word = True
                while self.i < len(self.s) and self.peek() != "'":
                    self.cur.append(self.next())
                if self.i >= len(self.s):
                    raise BuildError("unexpected end of statement while looking for matching single-quote")
                self.i += 1
                continue
            if ch == '"':
                self.i += 1
                self.has_word = True
                while self.i < len(self.s) and self.peek() != '"':
                    c = self.peek()
                    if c == self.esc and self.i + 1 < len(self.s) and self.s[self.i + 1] in ('"', "$", self.esc):
                        self.i += 1
                        self.cur.append(self.next())
                    elif c == "$":
                        self.i += 1
                        self.cur.append(self.dollar())
                    else:
                        self.cur.append(self.next())
                if self.i >= len(self.s):
                    raise BuildError("unexpected end of statement while looking for matching double-quote")
                self.i += 1
                continue
            if ch == "$":
                self.i += 1
                self.add_expansion(self.dollar())
                continue
            if self.split and ch in " \t\n":
                self.i += 1
                self.emit()
                continue
            self.cur.append(self.next())
        return "".join(self.cur)

    def name(self) -> str:
        start = self.i
        if self.i < len(self.s) and self.s[self.i].isdigit():  # positional: all digits, always empty
            while self.i < len(self.s) and self.s[self.i].isdigit():
                self.i += 1
        elif self.i < len(self.s) and _NAME_START.match(self.s[self.i]):
            self.i += 1
            while self.i < len(self.s) and _NAME_CHAR.match(self.s[self.i]):
                self.i += 1
        return self.s[start:self.i]

    def sub_word(self, stop: str) -> str:
        sub = _Lexer(self.s, self.env, self.esc, False)
        sub.i = self.i
        value = sub.run(stop)
        self.i = sub.i
        return value

    def dollar(self) -> str:
        ch = self.peek()
        if ch != "{":
            n = self.name()
            if not n:
                return "$"
            return self.env.get(n, "")
        self.i += 1
        if self.peek() == "#":
            self.i += 1
            n = self.name()
            self._close()
            return str(len(self.env.get(n, "")))
        n = self.name()
        if not n:
            raise BuildError(f"missing variable name in {self.s!r}")
        op = self.peek()
        if not op:
            raise BuildError(f"missing '}}' in {self.s!r}")
        if op == "}":
            self.i += 1
            return self.env.get(n, "")
        if op == ":" and self.i + 1 < len(self.s) and self.s[self.i + 1] in "-+?":
            op = self.s[self.i:self.i + 2]
            self.i += 2
        elif op in "-+?":
            self.i += 1
        elif op in "#%":
            self.i += 1
            if self.peek() == op:
                self.i += 1
                op *= 2
        elif op == "/":
            self.i += 1
            if self.peek() == "/":
                self.i += 1
                op = "//"
            pattern = self.sub_word("/}")
            repl = ""
            if self.peek() == "/":
                self.i += 1
                repl = self.sub_word("}")
            self._close()
            return _replace(self.env.get(n, ""), pattern, repl, op == "//")
        else:
            raise BuildError(f"unsupported modifier ({op}) in substitution")
        word = self.sub_word("}")
        self._close()
        value = self.env.get(n)
        if op == ":-":
            return value if value else word
        if op == "-":
            return value if value is not None else word
        if op == ":+":
            return word if value else ""
        if op == "+":
            return word if value is not None else ""
        if op in (":?", "?"):
            if (op == ":?" and not value) or value is None:
                raise BuildError(f"{n}: {word or 'is not allowed to be unset'}")
            return value
        v = value or ""
        if op in ("#", "##"):
            return _trim_prefix(v, word, longest=op == "##")
        return _trim_suffix(v, word, longest=op == "%%")

    def _close(self) -> None:
        if self.peek() != "}":
            raise BuildError(f"missing '}}' in {self.s!r}")
        self.i += 1


def _trim_prefix(v: str, pattern: str, longest: bool) -> str:
    rng = range(len(v), -1, -1) if longest else range(0, len(v) + 1)
    for k in rng:
        if fnmatch.fnmatchcase(v[:k], pattern):
            return v[k:]
    return v


def _trim_suffix(v: str, pattern: str, longest: bool) -> str:
    rng = range(0, len(v) + 1) if longest else range(len(v), -1, -1)
    for k in rng:
        if fnmatch.fnmatchcase(v[k:], pattern):
            return v[:k]
    return v


def _replace(v: str, pattern: str, repl: str, all_: bool) -> str:
    if not pattern:
        return v
    out = []
    i = 0
    while i < len(v):
        for j in range(len(v), i, -1):
            if fnmatch.fnmatchcase(v[i:j], pattern):
                out.append(repl)
                i = j
                if not all_:
                    out.append(v[i:])
                    return "".join(out)
                break
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def process_word(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    return _Lexer(text, env, escape, False).run()


def process_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    lx = _Lexer(text, env, escape, True)
    lx.run()
    lx.emit()
    return lx.words


def split_raw(text: str, escape: str = "\\") -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes (for `ENV a="b c" d=e`)."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == escape and i + 1 < len(text) and quote != "'":
            cur.append(ch + text[i + 1])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = ""
            cur.append(ch)
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch in " \t\n":
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
        i += 1
    if quote:
        raise BuildError(f"unterminated quote in {text!r}")
    if cur:
        words.append("".join(cur))
    return words


def parse_key_values(text: str, env: Mapping[str, str], escape: str, instruction: str) -> list[tuple[str, str]]:
    """`ENV`/`LABEL`/`ARG`-style `k=v k2="v 2"` (or the legacy `k v` form for ENV and LABEL)."""
    words = split_raw(text, escape)
    if not words:
        raise BuildError(f"{instruction.upper()} requires at least one argument")
    if "=" not in words[0]:
        if instruction == "arg":
            return [(process_word(w, env, escape), "\0") for w in words]  # bare ARG: no default
        if len(words) < 2:
            raise BuildError(f"{instruction.upper()} must have two arguments")
        key = words[0]
        value = text.strip()[len(key):].strip()
        return [(key, process_word(value, env, escape))]
    out = []
    for w in words:
        key, sep, value = w.partition("=")
        if not sep:
            if instruction == "arg":
                out.append((key, "\0"))
                continue
            raise BuildError(f"Syntax error - can't find = in {w!r}. Must be of the form: name=value")
        if not key:
            raise BuildError(f"{instruction.upper()} names can not be blank")
        out.append((process_word(key, env, escape), process_word(value, env, escape)))
    return out
