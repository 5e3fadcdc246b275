"""SPDY/3.1 as kubectl speaks it (Go's spdystream): frames and header compression (`frames`,
`dictionary`) and a session with streams and flow control over any byte stream (`session`)."""

from .frames import Framer, ProtocolError
from .session import ByteStream, SpdySession, SpdyStream, StreamReset

__all__ = ["ByteStream", "Framer", "ProtocolError", "SpdySession", "SpdyStream", "StreamReset"]
