"""The SPDY/3 header-compression dictionary (SPDY draft 3, section 2.6.10.1), as data.

Both zlib streams of a SPDY/3 session (one per direction) are primed with it. It is a list of
length-prefixed header names and values followed by a block of common status texts, dates and
content types. Its Adler-32 is 0xe3c6a7c2, the dictionary id a peer's zlib header names.
"""

from __future__ import annotations

import zlib

_PREFIXED = (
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
    "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
    "content-base", "content-encoding", "content-language", "content-length", "content-location",
    "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
    "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
    "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
    "warning", "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
    "public", "set-cookie", "keep-alive", "origin",
)

_TAIL = (
    b"100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    b"203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    b"401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    b"503 Service Unavailable"
    b"Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    b"chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    b"text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)

DICTIONARY: bytes = b"".join(len(w).to_bytes(4, "big") + w.encode() for w in _PREFIXED) + _TAIL
DICTIONARY_ID = 0xE3C6A7C2

if zlib.adler32(DICTIONARY) != DICTIONARY_ID:  # pragma: no cover - a typo above would break every peer
    raise ImportError("SPDY/3 dictionary checksum mismatch")
