"""Cell formatting helpers: quantities, labels and selectors, short lists."""

from __future__ import annotations

import pytest

from kubelite.apiserver.printers import format


@pytest.mark.parametrize("given,expected", [
    ("1", "1"), ("1000m", "1"), ("500m", "500m"), ("0.5", "500m"), ("1000", "1k"), ("1500", "1500"),
    ("1Gi", "1Gi"), ("1024Mi", "1Gi"), ("1.5Gi", "1536Mi"), ("512", "512"), ("100Ki", "100Ki"),
    ("0.5Gi", "512Mi"), ("0.5Ki", "512"), ("1.5Ki", "1536"), ("1.5", "1500m"), ("1000Ki", "1000Ki"),
    ("2e3", "2e3"), ("1E", "1E"), ("100M", "100M"),
    ("0", "0"), ("0Mi", "0"), (None, "0"), (3, "3"), ("-500m", "-500m"), ("1n", "1n"), ("0.0000000001", "1n"),
    ("10G", "10G"), ("12e6", "12e6"), ("bogus", "bogus"),
])
def test_canonical_quantity(given, expected):
    assert format.canonical_quantity(given) == expected


@pytest.mark.parametrize("given,expected", [
    (None, "<none>"), ({}, "<none>"), ({"b": "2", "a": "1"}, "a=1,b=2"),
])
def test_format_labels(given, expected):
    assert format.format_labels(given) == expected


@pytest.mark.parametrize("given,expected", [
    (None, "<none>"),
    ({}, "<none>"),
    ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
    ({"matchExpressions": [{"key": "z", "operator": "Exists"}, {"key": "a", "operator": "In", "values": ["y", "x"]}]},
     "a in (x,y),z"),
    ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, "<error>"),
])
def test_format_label_selector(given, expected):
    assert format.format_label_selector(given) == expected


@pytest.mark.parametrize("items,count,expected", [
    ([], 0, "<unset>"), (["a"], 1, "a"), (["a", "b", "c"], 3, "a,b,c"), (["a", "b", "c", "d"], 4, "a,b,c + 1 more..."),
    (["a", "b", "c"], 7, "a,b,c + 4 more..."),
])
def test_list_with_more(items, count, expected):
    assert format.list_with_more(items, count) == expected


@pytest.mark.parametrize("host,expected", [("10.0.0.1", "10.0.0.1:80"), ("fd00::1", "[fd00::1]:80")])
def test_join_host_port(host, expected):
    assert format.join_host_port(host, 80) == expected
