"""HTTP/1.1 heads, framing, chunked bodies, header rewriting and redirect URLs (pure)."""

import pytest

from kubelite.lb.http11 import (CHUNKED, CLOSE, LENGTH, NONE, ChunkedScanner, HTTPError, UpstreamError,
                                client_response_head, parse_request_head, parse_response_head, redirect_location,
                                simple_response, upstream_request_head)


def req(text: str):
    return parse_request_head(text.replace("\n", "\r\n").encode() + b"\r\n")


def test_request_head_basics():
    r = req("GET /a/b?x=1 HTTP/1.1\nHost: Example.com:8080\nX-Y: z\n")
    assert (r.method, r.path, r.query, r.host, r.keep_alive, r.framing.kind) == \
        ("GET", "/a/b", "x=1", "Example.com:8080", True, NONE)
    assert req("GET / HTTP/1.1\nHost: a\nConnection: close\n").keep_alive is False
    assert req("GET / HTTP/1.0\n").keep_alive is False
    assert req("GET / HTTP/1.0\nConnection: Keep-Alive\n").keep_alive is True
    r = req("POST / HTTP/1.1\nHost: a\nContent-Length: 12\n")
    assert (r.framing.kind, r.framing.length) == (LENGTH, 12)
    assert req("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n").framing.kind == CHUNKED
    r = req("GET http://h.example/p?q HTTP/1.1\nHost: other\n")
    assert (r.host, r.target, r.path) == ("h.example", "/p?q", "/p")
    r = req("GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n")
    assert r.upgrade == "websocket"
    assert req("GET /ws HTTP/1.1\nHost: a\nUpgrade: websocket\n").upgrade == ""   # not asked in Connection
    assert req("PUT / HTTP/1.1\nHost: a\nContent-Length: 3\nExpect: 100-continue\n").expect_continue


@pytest.mark.parametrize("text,status", [
    ("GET / HTTP/1.1\n", 400),                                               # no Host
    ("GET / HTTP/1.1\nHost: a\nHost: b\n", 400),
    ("POST / HTTP/1.1\nHost: a\nContent-Length: 3\nTransfer-Encoding: chunked\n", 400),
    ("POST / HTTP/1.1\nHost: a\nContent-Length: 3\nContent-Length: 4\n", 400),
    ("POST / HTTP/1.1\nHost: a\nContent-Length: -1\n", 400),
    ("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: gzip\n", 501),
    ("POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked, chunked\n", 400),
    ("GET / HTTP/2.0\nHost: a\n", 505),
    ("GET /\n", 400),
    ("get / HTTP/1.1\nHost: a\n", 400),
    ("GET nopath HTTP/1.1\nHost: a\n", 400),
    ("GET / HTTP/1.1\nHost : a\n", 400),
    ("GET / HTTP/1.1\nHost: a\n folded\n", 400),
], ids=range(13))
def test_bad_requests(text, status):
    with pytest.raises(HTTPError) as e:
        req(text)
    assert e.value.status == status


def resp(text: str, method="GET"):
    return parse_response_head(text.replace("\n", "\r\n").encode() + b"\r\n", method)


def test_response_framing():
    assert resp("HTTP/1.1 200 OK\nContent-Length: 5\n").framing.length == 5
    assert resp("HTTP/1.1 200 OK\nContent-Length: 5\n", "HEAD").framing.kind == NONE
    assert resp("HTTP/1.1 204 No Content\n").framing.kind == NONE
    assert resp("HTTP/1.1 304 Not Modified\nContent-Length: 9\n").framing.kind == NONE
    assert resp("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n").framing.kind == CHUNKED
    r = resp("HTTP/1.1 200 OK\n")
    assert (r.framing.kind, r.keep_alive) == (CLOSE, False)
    assert resp("HTTP/1.0 200 OK\nContent-Length: 1\n").keep_alive is False
    assert resp("HTTP/1.1 200 OK\nContent-Length: 1\nConnection: close\n").keep_alive is False
    with pytest.raises(UpstreamError):
        resp("SSH-2.0-OpenSSH\n")


def test_upstream_head_rewrites_forwarding_and_hop_by_hop_headers():
    r = req("POST /x HTTP/1.1\nHost: a.example\nConnection: keep-alive, X-Secret\nKeep-Alive: 5\nX-Secret: 1\n"
            "X-Forwarded-For: 203.0.113.9\nX-Forwarded-Proto: gopher\nTransfer-Encoding: chunked\n"
            "Expect: 100-continue\n")
    head = upstream_request_head(r, client_ip="198.18.0.7", proto="https", port=443).decode()
    lines = head.split("\r\n")
    assert lines[0] == "POST /x HTTP/1.1"
    assert "X-Forwarded-For: 203.0.113.9, 198.18.0.7" in lines
    assert "X-Forwarded-Proto: https" in lines and "X-Forwarded-Port: 443" in lines
    assert "Transfer-Encoding: chunked" in lines and "Host: a.example" in lines
    for gone in ("Keep-Alive", "X-Secret", "Connection", "gopher", "Expect"):
        assert gone not in head
    assert head.endswith("\r\n\r\n")
    up = upstream_request_head(req("GET /ws HTTP/1.1\nHost: a\nConnection: Upgrade\nUpgrade: websocket\n"),
                               client_ip="1.2.3.4", proto="http", port=80).decode()
    assert "Connection: Upgrade\r\nUpgrade: websocket" in up


def test_client_head_and_own_responses():
    r = resp("HTTP/1.1 200 OK\nContent-Length: 2\nConnection: keep-alive\nKeep-Alive: timeout=5\nX-A: b\n")
    out = client_response_head(r, keep_alive=False).decode()
    assert out.startswith("HTTP/1.1 200 OK\r\n") and "X-A: b" in out and "Keep-Alive" not in out
    assert "Connection: close" in out
    chunked = resp("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n")
    assert "Transfer-Encoding" not in client_response_head(chunked, keep_alive=False, decoded=True).decode()
    assert "Connection: keep-alive" in client_response_head(r, keep_alive=True, http10=True).decode()
    body = simple_response(503, "503 Service Unavailable\n", keep_alive=False)
    assert body.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"Content-Length: 24\r\n" in body and body.endswith(b"\r\n\r\n503 Service Unavailable\n")
    assert simple_response(404, "x", head_only=True).endswith(b"\r\n\r\n")


@pytest.mark.parametrize("pieces", [
    [b"5\r\nhello\r\n0\r\n\r\n"],
    [b"5\r", b"\nhel", b"lo\r", b"\n0\r\n", b"\r\n"],
    [b"5;ext=1\r\nhello\r\n", b"0\r\nTrailer: x\r\n\r\n"],
    [b"2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"],
], ids=range(4))
def test_chunked_scanner_finds_the_end_and_decodes(pieces):
    s = ChunkedScanner(decode=True)
    consumed = sum(s.feed(p) for p in pieces)
    assert s.done and consumed == sum(map(len, pieces))
    assert s.take_payload() == b"hello"


def test_chunked_scanner_stops_at_the_end_of_the_body():
    s = ChunkedScanner()
    data = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n"
    assert s.feed(data) == len(b"3\r\nabc\r\n0\r\n\r\n") and s.done


@pytest.mark.parametrize("bad", [b"zz\r\n", b"-1\r\n", b"0x5\r\n", b"3\r\nabcX\r\n"])
def test_chunked_scanner_refuses_garbage(bad):
    with pytest.raises(ValueError):
        ChunkedScanner().feed(bad)


def test_redirect_location_substitutes_like_elbv2():
    kw = dict(req_scheme="http", req_host="a.example", req_port=80, req_path="/p/q", req_query="x=1")
    assert redirect_location(protocol="HTTPS", host="#{host}", port="443", path="/#{path}", query="#{query}",
                             **kw) == "https://a.example/p/q?x=1"
    assert redirect_location(protocol="HTTPS", host="#{host}", port="8443", path="/#{path}", query="", **kw) == \
        "https://a.example:8443/p/q"
    assert redirect_location(protocol="#{protocol}", host="b.example", port="#{port}", path="/new", query="#{query}",
                             **{**kw, "req_query": ""}) == "http://b.example/new"
