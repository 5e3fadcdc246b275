""".dockerignore, COPY source selection, mtime-free checksums, cache keys, image config rules."""

import os

import pytest

from kubelite.images.builder import imageconfig as ic
from kubelite.images.builder.cache import step_key
from kubelite.images.builder.context import DockerIgnore, checksum, go_match, select_sources
from kubelite.images.builder.errors import BuildError


@pytest.mark.parametrize("patterns,path,excluded", [
    (["*.log"], "a.log", True),
    (["*.log"], "dir/a.log", False),
    (["**/*.log"], "dir/sub/a.log", True),
    (["**/*.log"], "a.log", True),
    (["build"], "build/out/x", True),
    (["build", "!build/keep"], "build/keep", False),
    (["build", "!build/keep"], "build/other", True),
    (["!a", "a"], "a", True),
    (["/abs/path"], "abs/path", True),
    (["# comment", ""], "x", False),
    (["a?c"], "abc", True),
    (["[^x]b"], "ab", True),
    (["docs/**"], "docs/a/b.md", True),
], ids=lambda v: str(v))
def test_dockerignore(patterns, path, excluded):
    assert DockerIgnore(patterns).excluded(path) is excluded


def test_go_match_does_not_cross_slashes():
    assert go_match("*.txt", "a.txt") and not go_match("*.txt", "d/a.txt") and go_match("d/*.txt", "d/a.txt")


def make_ctx(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("a")
    (tmp_path / "src" / "b.py").write_text("b")
    (tmp_path / "src" / "skip.log").write_text("log")
    (tmp_path / "README").write_text("readme")
    return tmp_path


def test_select_sources_wildcards_and_ignore(tmp_path):
    ctx = make_ctx(tmp_path)
    ign = DockerIgnore(["**/*.log"])
    got = select_sources(ctx, ["src/*.py", "/README"], ign)
    assert [(s.rel, s.is_dir) for s in got] == [("src/a.py", False), ("src/b.py", False), ("README", False)]
    with pytest.raises(BuildError, match="not found"):
        select_sources(ctx, ["src/skip.log"], ign)
    with pytest.raises(BuildError, match="not found"):
        select_sources(ctx, ["nothing*"], ign)


def test_checksum_ignores_mtime_but_not_content_mode_or_names(tmp_path):
    ctx = make_ctx(tmp_path)
    ign = DockerIgnore(["**/*.log"])

    def summ():
        return checksum(select_sources(ctx, ["src"], ign), ign)

    base = summ()
    os.utime(ctx / "src" / "a.py", (1, 1))
    assert summ() == base
    (ctx / "src" / "skip.log").write_text("ignored files do not count")
    assert summ() == base
    (ctx / "src" / "a.py").write_text("changed")
    changed = summ()
    assert changed != base
    os.chmod(ctx / "src" / "a.py", 0o755)
    assert summ() != changed
    (ctx / "src" / "a.py").rename(ctx / "src" / "c.py")
    assert summ() not in (base, changed)


def test_step_keys_chain():
    k1 = step_key("parent", ["RUN", ["sh", "-c", "x"], ["A=1"], "", "/", "none"])
    assert k1 == step_key("parent", ["RUN", ["sh", "-c", "x"], ["A=1"], "", "/", "none"])
    assert k1 != step_key("parent", ["RUN", ["sh", "-c", "x"], ["A=2"], "", "/", "none"])
    assert k1 != step_key("other", ["RUN", ["sh", "-c", "x"], ["A=1"], "", "/", "none"])


def test_image_config_helpers():
    assert ic.expose_ports(["80", "53/UDP", "8000-8002"]) == ["80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp"]
    assert ic.parse_duration("1m30s") == 90_000_000_000 and ic.parse_duration("500ms") == 500_000_000
    hc = ic.healthcheck({"interval": ["5s"], "retries": ["3"]}, "CMD curl -f http://x/", None)
    assert hc == {"Test": ["CMD-SHELL", "curl -f http://x/"], "Interval": 5_000_000_000, "Retries": 3}
    assert ic.healthcheck({}, "NONE", None) == {"Test": ["NONE"]}
    cfg = ic.empty_config()
    ic.set_env(cfg, "A", "1")
    ic.set_env(cfg, "A", "2")
    assert ic.env_map(cfg)["A"] == "2" and cfg["config"]["Env"][0].startswith("PATH=")
