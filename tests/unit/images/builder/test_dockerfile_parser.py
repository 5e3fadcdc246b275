"""Dockerfile parsing and variable substitution."""

import pytest

from kubelite.images.builder.errors import BuildError
from kubelite.images.builder.parser import parse
from kubelite.images.builder.shell import parse_key_values, process_word, process_words
from kubelite.images.builder.stages import plan


def test_directives_comments_continuations_flags_json():
    df = parse("""# syntax=docker/dockerfile:1
# escape=\\

# a comment
FROM --platform=linux/amd64 busybox AS base
RUN echo a \\
    # comment inside a continuation
    && echo b
COPY --chown=1:2 --from=base ["a b", "/dst/"]
CMD ['not', 'json']
ENTRYPOINT ["/bin/app", "-x"]
HEALTHCHECK --interval=5s CMD ["true"]
""")
    assert df.directives == {"syntax": "docker/dockerfile:1", "escape": "\\"}
    f, run, copy, cmd, ep, hc = df.instructions
    assert (f.cmd, f.flags, f.args, f.line) == ("from", {"platform": ["linux/amd64"]}, "busybox AS base", 5)
    assert run.args == "echo a     && echo b" and (run.line, run.end_line) == (6, 8)
    assert copy.flags == {"chown": ["1:2"], "from": ["base"]} and copy.json == ["a b", "/dst/"]
    assert cmd.json is None  # single quotes: shell form
    assert ep.json == ["/bin/app", "-x"]
    assert hc.json == ["true"] and hc.flags == {"interval": ["5s"]}


def test_backtick_escape_and_heredoc():
    df = parse("# escape=`\nFROM scratch\nRUN echo a `\n  b\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<-'X' /f\n\thello $A\n\tX\n")
    assert df.escape == "`"
    run1, run2, copy = df.instructions[1:]
    assert run1.args == "echo a   b"
    assert run2.heredocs[0].content == "echo one\necho two\n" and run2.heredocs[0].expand
    assert copy.heredocs[0].content == "hello $A\n" and not copy.heredocs[0].expand


@pytest.mark.parametrize("text,msg", [
    ("", "cannot be empty"),
    ("FROM a\nFROBNICATE x\n", "unknown instruction"),
    ("RUN x\nFROM a\n", "no build stage"),
    ("FROM a AS x\nFROM b AS x\n", "duplicate stage name"),
], ids=["empty", "unknown", "run-before-from", "duplicate-stage"])
def test_parse_errors(text, msg):
    with pytest.raises(BuildError) as e:
        plan(parse(text), {})
    assert msg in str(e.value)


@pytest.mark.parametrize("word,want", [
    ("$A", "hello world"), ("${A}", "hello world"), ("${MISSING:-dflt}", "dflt"), ("${EMPTY:-dflt}", "dflt"),
    ("${EMPTY-dflt}", ""), ("${A:+alt}", "alt"), ("${MISSING+alt}", ""), ("\\$A", "$A"), ("'$A'", "$A"),
    ('"$A"', "hello world"), ("${P#*/}", "usr/local/bin"), ("${P##*/}", "bin"), ("${P%/*}", "/usr/local"),
    ("${P%%/*}", ""), ("${A/o/0}", "hell0 world"), ("${A//o/0}", "hell0 w0rld"), ("$", "$"), ("a$1b", "ab"),
])
def test_process_word(word, want):
    env = {"A": "hello world", "EMPTY": "", "P": "/usr/local/bin"}
    assert process_word(word, env) == want


def test_process_words_splits_unquoted_expansions():
    env = {"PORTS": "80 443/udp"}
    assert process_words('$PORTS "a b" c\\ d', env) == ["80", "443/udp", "a b", "c d"]


def test_key_values_see_values_from_before_the_instruction():
    env = {"abc": "hello"}
    assert parse_key_values("abc=bye def=$abc", env, "\\", "env") == [("abc", "bye"), ("def", "hello")]
    assert parse_key_values('name="a b" x=\\"q\\"', env, "\\", "label") == [("name", "a b"), ("x", '"q"')]
    assert parse_key_values("LEGACY some value", env, "\\", "env") == [("LEGACY", "some value")]


def test_global_args_target_and_needed_stages():
    df = parse("""ARG BASE=busybox
ARG UNUSED
FROM ${BASE} AS one
FROM scratch AS two
COPY --from=one /a /a
FROM two AS three
FROM busybox AS lonely
""")
    p = plan(df, {"BASE": "alpine"}, "three")
    assert p.stages[0].base == "alpine" and "BASE" in p.used_build_args
    assert p.target == 2 and p.needed == [0, 1, 2]
    assert plan(df, {}, "").needed == [3]
    with pytest.raises(BuildError):
        plan(df, {}, "nope")
