import asyncio
import os

import pytest
from multidict import MultiDict

from kubelite.kubelet.runtime import crilog
from kubelite.kubelet.server import logs

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000


def line(ts, stream, tag, content):
    return crilog.LogLine(ts, stream, tag, content)


LINES = [
    line(T0, "stdout", "F", b"one"),
    line(T0 + S, "stderr", "F", b"err"),
    line(T0 + 2 * S, "stdout", "P", b"tw"),
    line(T0 + 2 * S, "stdout", "F", b"o"),
    line(T0 + 3 * S, "stdout", "F", b"three"),
]


def render(opts, lines=LINES):
    return logs.LogRenderer(opts).render(logs.tail(lines, opts.tail_lines))


def test_plain():
    assert render(logs.LogOptions()) == b"one\nerr\ntwo\nthree\n"


def test_timestamps_prefix_logical_lines_only():
    out = render(logs.LogOptions(timestamps=True)).decode().splitlines()
    assert out[0] == "2023-11-14T22:13:20Z one"
    assert out[2] == "2023-11-14T22:13:22Z two"  # the partial piece got the prefix, its end did not


@pytest.mark.parametrize("n,want", [(0, b""), (1, b"three\n"), (2, b"two\nthree\n"), (10, b"one\nerr\ntwo\nthree\n")])
def test_tail_counts_logical_lines(n, want):
    assert render(logs.LogOptions(tail_lines=n)) == want


def test_since_and_stream_and_limit():
    assert render(logs.LogOptions(since_ns=T0 + S)) == b"err\ntwo\nthree\n"
    assert render(logs.LogOptions(stream="Stderr")) == b"err\n"
    assert render(logs.LogOptions(limit_bytes=6)) == b"one\ner"


def test_options_from_query():
    o = logs.LogOptions.from_query(MultiDict(follow="true", tailLines="2", timestamps="true", sinceSeconds="10"),
                                   now_ns=T0)
    assert o.follow and o.timestamps and o.tail_lines == 2 and o.since_ns == T0 - 10 * S
    o = logs.LogOptions.from_query(MultiDict(sinceTime="2023-11-14T22:13:21Z"))
    assert o.since_ns == T0 + S


@pytest.mark.parametrize("query", [
    {"tailLines": "x"}, {"tailLines": "-1"}, {"limitBytes": "0"}, {"sinceSeconds": "0"},
    {"sinceSeconds": "1", "sinceTime": "2023-11-14T22:13:21Z"}, {"stream": "Both"},
])
def test_bad_options(query):
    with pytest.raises(logs.BadLogOptions):
        logs.LogOptions.from_query(MultiDict(query))


def test_log_file_reads_appends_and_follows_rotation(tmp_path):
    p = tmp_path / "0.log"
    p.write_bytes(crilog.encode("stdout", b"a\nb", T0))
    f = logs.LogFile(str(p))
    assert [ln.content for ln in f.read_lines()] == [b"a", b"b"]
    assert f.read_lines() == []
    with open(p, "ab") as out:
        out.write(crilog.encode("stdout", b"c\n", T0)[:10])  # half a line: not yet
    assert f.read_lines() == []
    with open(p, "ab") as out:
        out.write(crilog.encode("stdout", b"c\n", T0)[10:])
    assert [ln.content for ln in f.read_lines()] == [b"c"]
    os.rename(p, tmp_path / "0.log.1")  # rotation: a new file at the same path
    p.write_bytes(crilog.encode("stdout", b"d\n", T0))
    assert [ln.content for ln in f.read_lines()] == [b"d"]
    f.close()


def test_follow_ends_when_the_container_stops(tmp_path):
    p = tmp_path / "0.log"
    p.write_bytes(crilog.encode("stdout", b"first\n"))
    written = []
    running = True

    async def main():
        nonlocal running

        async def write(b):
            written.append(b)

        async def still_running():
            return running

        task = asyncio.create_task(logs.stream_logs(str(p), logs.LogOptions(follow=True), write, still_running,
                                                    lambda: False))
        await asyncio.sleep(0.3)
        with open(p, "ab") as out:
            out.write(crilog.encode("stdout", b"second\n"))
        await asyncio.sleep(0.3)
        assert not task.done()
        running = False
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert b"".join(written) == b"first\nsecond\n"
