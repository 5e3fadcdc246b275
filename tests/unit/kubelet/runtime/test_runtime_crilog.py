import pytest

from kubelite.kubelet.runtime import crilog


def test_timestamp_format_trims_zeros():
    assert crilog.format_timestamp(1_475_713_029_669_794_202) == "2016-10-06T00:17:09.669794202Z"
    assert crilog.format_timestamp(1_475_713_029_500_000_000) == "2016-10-06T00:17:09.5Z"
    assert crilog.format_timestamp(1_475_713_029_000_000_000) == "2016-10-06T00:17:09Z"


@pytest.mark.parametrize(
    "text,ns",
    [
        ("2016-10-06T00:17:09.669794202Z", 1_475_713_029_669_794_202),
        ("2016-10-06T00:17:09Z", 1_475_713_029_000_000_000),
        ("2016-10-06T00:17:09.5+00:00", 1_475_713_029_500_000_000),  # conmon's form
        ("2016-10-06T02:17:09.5+02:00", 1_475_713_029_500_000_000),
    ],
)
def test_parse_timestamp(text, ns):
    assert crilog.parse_timestamp(text) == ns


def test_encode_full_partial_and_long_lines():
    out = crilog.encode("stdout", b"one\r\ntwo\nrest", ts_ns=0)
    lines = [crilog.parse_line(l) for l in out.splitlines(keepends=True)]
    assert [(l.stream, l.tag, l.content) for l in lines] == [
        ("stdout", "F", b"one"), ("stdout", "F", b"two"), ("stdout", "P", b"rest")
    ]
    long = crilog.encode("stderr", b"x" * (crilog.MAX_LINE_SIZE + 5) + b"\n", ts_ns=0)
    tags = [crilog.parse_line(l).tag for l in long.splitlines()]
    assert tags == ["P", "F"]


def test_parse_line_and_reassemble():
    raw = [
        b"2016-10-06T00:17:09.669794202Z stdout P hel\n",
        b"2016-10-06T00:17:09.669794202Z stderr F err\n",
        b"2016-10-06T00:17:09.669794202Z stdout F:x lo world\n",
        b"2016-10-06T00:17:09.669794202Z stdout F \n",
    ]
    lines = [crilog.parse_line(r) for r in raw]
    assert lines[2].tag == "F" and lines[2].content == b"lo world"
    assert crilog.reassemble(lines, "stdout") == [b"hello world", b""]
    assert crilog.reassemble(lines) == [b"err", b"hello world", b""]
    with pytest.raises(ValueError):
        crilog.parse_line(b"garbage")
