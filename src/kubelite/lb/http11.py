"""HTTP/1.1 message heads and body framing for a proxy (pure; RFC 9112).

The proxy forwards bodies as raw bytes; this module says where a body ends (`Framing`, and
`ChunkedScanner` for chunked bodies, which can also decode them for HTTP/1.0 clients), parses
request and response heads, rewrites a request head for a target (hop-by-hop headers dropped,
X-Forwarded-For/-Proto/-Port added) and builds the responses the load balancer makes itself.
Requests that could be read two ways (Transfer-Encoding with Content-Length, conflicting
Content-Lengths, an unknown transfer coding) are refused with 400, as smuggling defences do.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                        "transfer-encoding"})
MAX_HEAD = 64 * 1024


class HTTPError(Exception):
    """A request the load balancer answers itself: 400, 413, 431, 501, ..."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message or HTTPStatus(status).phrase)
        self.status = status


class UpstreamError(Exception):
    """A target sent something that is not HTTP/1.x (the load balancer answers 502)."""


NONE, LENGTH, CHUNKED, CLOSE = "none", "length", "chunked", "close"


@dataclass(frozen=True, slots=True)
class Framing:
    kind: str          # NONE | LENGTH | CHUNKED | CLOSE (until the connection closes)
    length: int = 0


NO_BODY = Framing(NONE)


@dataclass(slots=True)
class RequestHead:
    method: str
    target: str                      # origin-form: path and query
    version: str                     # "HTTP/1.1"
    headers: list[tuple[str, str]]
    host: str
    path: str
    query: str
    keep_alive: bool
    framing: Framing
    upgrade: str                     # the Upgrade header when the request asks to switch
    expect_continue: bool


@dataclass(slots=True)
class ResponseHead:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    keep_alive: bool                 # the target lets us reuse the connection
    framing: Framing


def _split_head(data: bytes) -> tuple[str, list[tuple[str, str]]]:
    text = data.decode("latin-1")
    lines = text.split("\r\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise ValueError("empty message head")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or " " in name or "\t" in name:
            if line[:1] in (" ", "\t"):
                raise ValueError("obsolete line folding")
            raise ValueError(f"malformed header line {line[:40]!r}")
        headers.append((name, value.strip(" \t")))
    return lines[0], headers


def _connection_tokens(headers: list[tuple[str, str]]) -> set[str]:
    out: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            out.update(t.strip().lower() for t in value.split(",") if t.strip())
    return out


def _content_length(values: list[str], error: type[Exception]) -> int:
    lengths = {v.strip() for value in values for v in value.split(",")}
    if len(lengths) != 1:
        raise error("conflicting Content-Length")
    (v,) = lengths
    if not v.isdigit() or len(v) > 18:
        raise error(f"invalid Content-Length {v!r}")
    return int(v)


def _bad_request(message: str) -> HTTPError:
    return HTTPError(400, message)


def parse_request_head(data: bytes) -> RequestHead:
    """A request head (through the blank line) -> `RequestHead`; `HTTPError` when invalid."""
    try:
        start, headers = _split_head(data)
    except ValueError as e:
        raise HTTPError(400, str(e)) from None
    parts = start.split(" ")
    if len(parts) != 3:
        raise HTTPError(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        if version.startswith("HTTP/"):
            raise HTTPError(505, f"{version} is not supported")
        raise HTTPError(400, "malformed request line")
    if not method or not method.isalpha() or not method.isupper():
        raise HTTPError(400, f"invalid method {method[:20]!r}")
    host = ""
    uri_host = ""
    if target.startswith(("http://", "https://")):  # absolute-form
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        uri_host, target = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    elif not target.startswith("/") and not (method == "OPTIONS" and target == "*"):
        raise HTTPError(400, "invalid request target")
    hosts: list[str] = []
    lengths: list[str] = []
    te: list[str] = []
    upgrade = ""
    expect = False
    for name, value in headers:
        n = name.lower()
        if n == "host":
            hosts.append(value)
        elif n == "content-length":
            lengths.append(value)
        elif n == "transfer-encoding":
            te.append(value)
        elif n == "upgrade":
            upgrade = value
        elif n == "expect":
            expect = value.lower() == "100-continue"
    if len(hosts) > 1:
        raise HTTPError(400, "more than one Host header")
    if hosts:
        host = hosts[0]
    elif version == "HTTP/1.1" and not uri_host:
        raise HTTPError(400, "missing Host header")
    host = uri_host or host
    tokens = _connection_tokens(headers)
    keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
    if te:
        if lengths:
            raise HTTPError(400, "both Transfer-Encoding and Content-Length")
        codings = [c.strip().lower() for v in te for c in v.split(",") if c.strip()]
        if not codings or codings[-1] != "chunked" or codings.count("chunked") != 1:
            raise HTTPError(501 if codings and codings[-1] != "chunked" else 400,
                            "unsupported Transfer-Encoding")
        framing = Framing(CHUNKED)
    elif lengths:
        n = _content_length(lengths, _bad_request)
        framing = Framing(LENGTH, n) if n else NO_BODY
    else:
        framing = NO_BODY
    if "upgrade" not in tokens:
        upgrade = ""
    path, _, query = target.partition("?")
    return RequestHead(method, target, version, headers, host, path, query, keep_alive, framing, upgrade,
                       expect and version == "HTTP/1.1")


def parse_response_head(data: bytes, request_method: str) -> ResponseHead:
    try:
        start, headers = _split_head(data)
    except ValueError as e:
        raise UpstreamError(str(e)) from None
    version, _, rest = start.partition(" ")
    code, _, reason = rest.partition(" ")
    if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise UpstreamError(f"malformed status line {start[:60]!r}")
    status = int(code)
    tokens = _connection_tokens(headers)
    keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
    lengths = [v for n, v in headers if n.lower() == "content-length"]
    te = [v for n, v in headers if n.lower() == "transfer-encoding"]
    if request_method == "HEAD" or status < 200 or status in (204, 304):
        framing = NO_BODY
    elif te:
        codings = [c.strip().lower() for v in te for c in v.split(",") if c.strip()]
        framing = Framing(CHUNKED) if codings and codings[-1] == "chunked" else Framing(CLOSE)
    elif lengths:
        n = _content_length(lengths, UpstreamError)
        framing = Framing(LENGTH, n) if n else NO_BODY
    else:
        framing = Framing(CLOSE)
    if framing.kind == CLOSE:
        keep_alive = False
    return ResponseHead(version, status, reason, headers, keep_alive, framing)


def upstream_request_head(req: RequestHead, *, client_ip: str, proto: str, port: int, default_host: str = "") -> bytes:
    """The head sent to a target: origin-form, HTTP/1.1, hop-by-hop headers dropped except the
    framing and (for an upgrade) Connection/Upgrade, ELB's X-Forwarded-* headers. A request
    without a host (HTTP/1.0) gets `default_host` (the address the client connected to)."""
    drop = _connection_tokens(req.headers)
    lines = [f"{req.method} {req.target} HTTP/1.1"]
    xff = ""
    has_host = False
    for name, value in req.headers:
        n = name.lower()
        if n in HOP_BY_HOP or n in drop:
            if n == "transfer-encoding":
                lines.append(f"{name}: {value}")
            continue
        if n == "x-forwarded-for":
            xff = f"{xff}, {value}" if xff else value
            continue
        if n in ("x-forwarded-proto", "x-forwarded-port"):
            continue
        if n == "expect":
            continue  # the load balancer answers 100-continue itself
        if n == "host":
            has_host = True
        lines.append(f"{name}: {value}")
    if not has_host:
        lines.append(f"Host: {req.host or default_host}")
    lines.append(f"X-Forwarded-For: {xff + ', ' + client_ip if xff else client_ip}")
    lines.append(f"X-Forwarded-Proto: {proto}")
    lines.append(f"X-Forwarded-Port: {port}")
    if req.upgrade:
        lines.append("Connection: Upgrade")
        lines.append(f"Upgrade: {req.upgrade}")
    lines.append("")
    lines.append("")
    return "\r\n".join(lines).encode("latin-1")


def client_response_head(resp: ResponseHead, *, keep_alive: bool, http10: bool = False,
                         decoded: bool = False) -> bytes:
    """The head sent back to the client: hop-by-hop headers dropped, our own Connection.
    `decoded`: the chunked body is being decoded (HTTP/1.0 client), so no Transfer-Encoding."""
    upgrading = resp.status == 101
    drop = _connection_tokens(resp.headers)
    lines = [f"HTTP/1.1 {resp.status} {resp.reason or _phrase(resp.status)}"]
    for name, value in resp.headers:
        n = name.lower()
        if upgrading and n in ("connection", "upgrade"):
            lines.append(f"{name}: {value}")
            continue
        if n in HOP_BY_HOP or n in drop:
            if n == "transfer-encoding" and not decoded:
                lines.append(f"{name}: {value}")
            continue
        lines.append(f"{name}: {value}")
    if not upgrading:
        if not keep_alive:
            lines.append("Connection: close")
        elif http10:
            lines.append("Connection: keep-alive")
    lines.append("")
    lines.append("")
    return "\r\n".join(lines).encode("latin-1")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def simple_response(status: int, body: str | bytes = b"", *, content_type: str = "text/plain; charset=utf-8",
                    keep_alive: bool = True, headers: tuple[tuple[str, str], ...] = (),
                    head_only: bool = False) -> bytes:
    """A complete response the load balancer makes itself (errors, fixed responses, redirects)."""
    data = body.encode() if isinstance(body, str) else body
    lines = [f"HTTP/1.1 {status} {_phrase(status)}", "Server: kubelite-lb"]
    if data or status not in (204, 304):
        lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(data)}")
    lines += [f"{n}: {v}" for n, v in headers]
    if not keep_alive:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + data


def error_body(status: int) -> str:
    return f"{status} {_phrase(status)}\n"


def redirect_location(*, protocol: str, host: str, port: str, path: str, query: str,
                      req_scheme: str, req_host: str, req_port: int, req_path: str, req_query: str) -> str:
    """ELBv2's redirect URL: each part may use #{protocol}, #{host}, #{port}, #{path} (without its
    leading slash) and #{query}; the default port of the scheme is left out."""
    values = {"#{protocol}": req_scheme.upper(), "#{host}": req_host, "#{port}": str(req_port),
              "#{path}": req_path.lstrip("/"), "#{query}": req_query}

    def fill(s: str) -> str:
        for k, v in values.items():
            s = s.replace(k, v)
        return s
    scheme = fill(protocol).lower()
    h = fill(host)
    p = fill(port)
    out_path = fill(path) or "/"
    if not out_path.startswith("/"):
        out_path = "/" + out_path
    q = fill(query)
    default = {"http": "80", "https": "443"}.get(scheme)
    authority = h if p in ("", default) else f"{h}:{p}"
    return f"{scheme}://{authority}{out_path}" + (f"?{q}" if q else "")


class ChunkedScanner:
    """Finds the end of a chunked body fed in pieces; with `decode`, also collects the payload.

        scanner = ChunkedScanner()
        n = scanner.feed(data)   # bytes of `data` that belong to the body
        scanner.done             # the last chunk and the trailers have been seen
    """

    MAX_LINE = 4096
    MAX_TRAILERS = 16 * 1024

    def __init__(self, *, decode: bool = False) -> None:
        self.decode = decode
        self.payload: list[bytes] = []
        self.done = False
        self._state = 0          # 0 size line, 1 data, 2 CRLF after data, 3 trailer lines
        self._remaining = 0
        self._line = b""
        self._trailer_bytes = 0

    def feed(self, data: bytes) -> int:
        i, n = 0, len(data)
        while i < n and not self.done:
            if self._state == 1:
                take = min(self._remaining, n - i)
                if self.decode:
                    self.payload.append(data[i:i + take])
                i += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = 2
                    self._line = b""
                continue
            j = data.find(b"\n", i)
            if j < 0:
                self._line += data[i:]
                i = n
                if len(self._line) > self.MAX_LINE:
                    raise ValueError("chunk line too long")
                break
            line = (self._line + data[i:j]).rstrip(b"\r")
            self._line = b""
            i = j + 1
            if self._state == 0:
                size = line.split(b";", 1)[0].strip()
                try:
                    self._remaining = int(size, 16)
                except ValueError:
                    raise ValueError(f"invalid chunk size {size[:20]!r}") from None
                if not size or self._remaining < 0 or size[:1] in (b"+", b"-") or size.startswith((b"0x", b"0X")):
                    raise ValueError(f"invalid chunk size {size[:20]!r}")
                self._state = 1 if self._remaining else 3
            elif self._state == 2:
                if line:
                    raise ValueError("missing CRLF after chunk data")
                self._state = 0
            else:
                if not line:
                    self.done = True
                else:
                    self._trailer_bytes += len(line)
                    if self._trailer_bytes > self.MAX_TRAILERS:
                        raise ValueError("trailers too large")
        return i

    def take_payload(self) -> bytes:
        out = b"".join(self.payload)
        self.payload.clear()
        return out
