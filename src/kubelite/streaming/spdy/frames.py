"""SPDY/3.1 frames: the wire layout, and a `Framer` that turns bytes into frames and back.

Layout (all integers big-endian)::

    control: |1|version(15)|type(16)| |flags(8)|length(24)| payload
    data:    |0|stream-id(31)|        |flags(8)|length(24)| payload

Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are `count(32)` then `len(32) name len(32) value`
pairs, compressed by one zlib stream per direction primed with the SPDY/3 dictionary and
flushed with Z_SYNC_FLUSH after each block. Names are lowercase on the wire; several values of
one name are joined with NUL. A `Framer` owns both zlib streams of one session, so it must see
every frame of that session in order.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from .dictionary import DICTIONARY

VERSION = 3

SYN_STREAM = 1
SYN_REPLY = 2
RST_STREAM = 3
SETTINGS = 4
PING = 6
GOAWAY = 7
HEADERS = 8
WINDOW_UPDATE = 9

FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
FLAG_SETTINGS_CLEAR = 0x01

# RST_STREAM status codes
PROTOCOL_ERROR = 1
INVALID_STREAM = 2
REFUSED_STREAM = 3
UNSUPPORTED_VERSION = 4
CANCEL = 5
INTERNAL_ERROR = 6
FLOW_CONTROL_ERROR = 7
STREAM_IN_USE = 8
STREAM_ALREADY_CLOSED = 9
FRAME_TOO_LARGE = 11

# SETTINGS ids
SETTINGS_MAX_CONCURRENT_STREAMS = 4
SETTINGS_INITIAL_WINDOW_SIZE = 7

# GOAWAY status codes
GOAWAY_OK = 0
GOAWAY_PROTOCOL_ERROR = 1
GOAWAY_INTERNAL_ERROR = 2

MAX_LENGTH = (1 << 24) - 1
_STREAM_MASK = 0x7FFFFFFF
MAX_HEADER_BLOCK = 1 << 20  # refuse to inflate header blocks past 1 MiB

Headers = dict[str, list[str]]


class ProtocolError(Exception):
    """The peer broke the framing (bad version, truncated header block, ...); end the session."""


@dataclass
class DataFrame:
    stream_id: int
    data: bytes = b""
    fin: bool = False


@dataclass
class SynStream:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    associated_id: int = 0
    priority: int = 0
    slot: int = 0
    fin: bool = False
    unidirectional: bool = False


@dataclass
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass
class RstStream:
    stream_id: int
    status: int = CANCEL


@dataclass
class Settings:
    entries: list[tuple[int, int, int]] = field(default_factory=list)  # (flags, id, value)
    clear: bool = False


@dataclass
class Ping:
    id: int


@dataclass
class GoAway:
    last_good_stream_id: int = 0
    status: int = GOAWAY_OK


@dataclass
class HeadersFrame:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass
class WindowUpdate:
    stream_id: int
    delta: int


Frame = DataFrame | SynStream | SynReply | RstStream | Settings | Ping | GoAway | HeadersFrame | WindowUpdate


def first(headers: Headers, name: str, default: str = "") -> str:
    """The first value of a header (names are case-insensitive; SPDY sends them lowercase)."""
    values = headers.get(name.lower())
    return values[0] if values else default


# --- header blocks ------------------------------------------------------------------------------


def pack_header_block(headers: Headers) -> bytes:
    """The uncompressed name/value block. Names are lowercased; values of one name NUL-joined."""
    pairs = [(k.lower().encode(), "\0".join(v).encode()) for k, v in headers.items() if v]
    out = bytearray(struct.pack(">I", len(pairs)))
    for name, value in pairs:
        out += struct.pack(">I", len(name)) + name + struct.pack(">I", len(value)) + value
    return bytes(out)


def unpack_header_block(block: bytes) -> Headers:
    headers: Headers = {}
    try:
        (count,) = struct.unpack_from(">I", block, 0)
        pos = 4
        for _ in range(count):
            (n,) = struct.unpack_from(">I", block, pos)
            name = block[pos + 4:pos + 4 + n]
            pos += 4 + n
            (m,) = struct.unpack_from(">I", block, pos)
            value = block[pos + 4:pos + 4 + m]
            pos += 4 + m
            if len(name) != n or len(value) != m:
                raise ProtocolError("truncated header block")
            if not name:
                continue
            key = name.decode("utf-8", "replace")
            if key != key.lower():
                raise ProtocolError(f"header {key!r} was not lowercased")
            headers.setdefault(key, []).extend(v.decode("utf-8", "replace") for v in value.split(b"\0") if v)
    except struct.error as e:
        raise ProtocolError("truncated header block") from e
    return headers


class HeaderCompressor:
    """One direction's zlib stream for header blocks."""

    def __init__(self, level: int = zlib.Z_BEST_COMPRESSION):  # as Go's spdy framer
        self._z = zlib.compressobj(level, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)

    def compress(self, headers: Headers) -> bytes:
        return self._z.compress(pack_header_block(headers)) + self._z.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    def __init__(self) -> None:
        self._z = zlib.decompressobj(15, DICTIONARY)

    def decompress(self, data: bytes) -> Headers:
        try:
            block = self._z.decompress(data, MAX_HEADER_BLOCK)
        except zlib.error as e:
            raise ProtocolError(f"header block does not inflate: {e}") from e
        if self._z.unconsumed_tail:
            raise ProtocolError("header block too large")
        return unpack_header_block(block)


# --- framing ------------------------------------------------------------------------------------


def _control(kind: int, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_LENGTH:
        raise ValueError("control frame too large")
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


class Framer:
    """Encode and decode the frames of one session (it owns the two header zlib streams)."""

    def __init__(self) -> None:
        self._compressor = HeaderCompressor()
        self._decompressor = HeaderDecompressor()
        self._buf = bytearray()

    # -- writing ----------------------------------------------------------------------------
    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, DataFrame):
            if len(frame.data) > MAX_LENGTH:
                raise ValueError("data frame too large")
            flags = FLAG_FIN if frame.fin else 0
            return struct.pack(">II", frame.stream_id & _STREAM_MASK, (flags << 24) | len(frame.data)) + frame.data
        if isinstance(frame, SynStream):
            flags = (FLAG_FIN if frame.fin else 0) | (FLAG_UNIDIRECTIONAL if frame.unidirectional else 0)
            head = struct.pack(">IIBB", frame.stream_id & _STREAM_MASK, frame.associated_id & _STREAM_MASK,
                               (frame.priority & 0x7) << 5, frame.slot)
            return _control(SYN_STREAM, flags, head + self._compressor.compress(frame.headers))
        if isinstance(frame, SynReply):
            head = struct.pack(">I", frame.stream_id & _STREAM_MASK)
            return _control(SYN_REPLY, FLAG_FIN if frame.fin else 0, head + self._compressor.compress(frame.headers))
        if isinstance(frame, HeadersFrame):
            head = struct.pack(">I", frame.stream_id & _STREAM_MASK)
            return _control(HEADERS, FLAG_FIN if frame.fin else 0, head + self._compressor.compress(frame.headers))
        if isinstance(frame, RstStream):
            return _control(RST_STREAM, 0, struct.pack(">II", frame.stream_id & _STREAM_MASK, frame.status))
        if isinstance(frame, Settings):
            body = struct.pack(">I", len(frame.entries)) + b"".join(
                struct.pack(">II", (flags << 24) | (sid & 0xFFFFFF), value) for flags, sid, value in frame.entries)
            return _control(SETTINGS, FLAG_SETTINGS_CLEAR if frame.clear else 0, body)
        if isinstance(frame, Ping):
            return _control(PING, 0, struct.pack(">I", frame.id & 0xFFFFFFFF))
        if isinstance(frame, GoAway):
            return _control(GOAWAY, 0, struct.pack(">II", frame.last_good_stream_id & _STREAM_MASK, frame.status))
        if isinstance(frame, WindowUpdate):
            return _control(WINDOW_UPDATE, 0, struct.pack(">II", frame.stream_id & _STREAM_MASK,
                                                          frame.delta & _STREAM_MASK))
        raise TypeError(f"not a SPDY frame: {frame!r}")

    # -- reading ----------------------------------------------------------------------------
    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return the frames they complete (unknown control types skipped)."""
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= 8:
            word, flags_len = struct.unpack_from(">II", self._buf, 0)
            length = flags_len & 0xFFFFFF
            if len(self._buf) < 8 + length:
                break
            flags = flags_len >> 24
            payload = bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            if not word & 0x80000000:
                frames.append(DataFrame(word & _STREAM_MASK, payload, bool(flags & FLAG_FIN)))
                continue
            version, kind = (word >> 16) & 0x7FFF, word & 0xFFFF
            if version != VERSION:
                raise ProtocolError(f"unsupported SPDY version {version}")
            frame = self._control(kind, flags, payload)
            if frame is not None:
                frames.append(frame)
        return frames

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def _control(self, kind: int, flags: int, p: bytes) -> Frame | None:
        try:
            if kind == SYN_STREAM:
                sid, assoc, pri, slot = struct.unpack_from(">IIBB", p, 0)
                return SynStream(sid & _STREAM_MASK, self._decompressor.decompress(p[10:]), assoc & _STREAM_MASK,
                                 pri >> 5, slot, bool(flags & FLAG_FIN), bool(flags & FLAG_UNIDIRECTIONAL))
            if kind == SYN_REPLY:
                (sid,) = struct.unpack_from(">I", p, 0)
                return SynReply(sid & _STREAM_MASK, self._decompressor.decompress(p[4:]), bool(flags & FLAG_FIN))
            if kind == HEADERS:
                (sid,) = struct.unpack_from(">I", p, 0)
                return HeadersFrame(sid & _STREAM_MASK, self._decompressor.decompress(p[4:]), bool(flags & FLAG_FIN))
            if kind == RST_STREAM:
                sid, status = struct.unpack_from(">II", p, 0)
                return RstStream(sid & _STREAM_MASK, status)
            if kind == SETTINGS:
                (n,) = struct.unpack_from(">I", p, 0)
                entries = []
                for i in range(n):
                    fid, value = struct.unpack_from(">II", p, 4 + 8 * i)
                    entries.append((fid >> 24, fid & 0xFFFFFF, value))
                return Settings(entries, bool(flags & FLAG_SETTINGS_CLEAR))
            if kind == PING:
                return Ping(struct.unpack_from(">I", p, 0)[0])
            if kind == GOAWAY:
                sid, status = struct.unpack_from(">II", p, 0) if len(p) >= 8 else (*struct.unpack_from(">I", p, 0), 0)
                return GoAway(sid & _STREAM_MASK, status)
            if kind == WINDOW_UPDATE:
                sid, delta = struct.unpack_from(">II", p, 0)
                return WindowUpdate(sid & _STREAM_MASK, delta & _STREAM_MASK)
        except struct.error as e:
            raise ProtocolError(f"truncated control frame of type {kind}") from e
        return None  # unknown control frames are ignored (SPDY/3 §2.2.1)
