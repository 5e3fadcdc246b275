"""Kubernetes' WebSocket channel protocols (exec, attach, and the Python client's port-forward).

Every message carries one channel's data:
- binary protocols (`channel.k8s.io`, `v4.channel.k8s.io`, `v5.channel.k8s.io`): byte 0 is the
  channel number, the rest is the payload;
- base64 protocols (`base64.channel.k8s.io`, `v4.base64.channel.k8s.io`): a text message whose
  first character is the channel digit ('0'..'9') and the rest the payload in base64.

Remote command channels: 0 stdin, 1 stdout, 2 stderr, 3 error (the final status), 4 resize
(JSON `{"Width":w,"Height":h}`). Version 4 writes a `metav1.Status` JSON on the error channel,
older versions plain text. Version 5 adds channel 255, "close": `[255, n]` means the sender
closed channel n (kubectl sends `[255, 0]` when its stdin ends).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

STDIN = 0
STDOUT = 1
STDERR = 2
ERROR = 3
RESIZE = 4
CLOSE = 255

V1 = "channel.k8s.io"
V1_BASE64 = "base64.channel.k8s.io"
V4 = "v4.channel.k8s.io"
V4_BASE64 = "v4.base64.channel.k8s.io"
V5 = "v5.channel.k8s.io"
PORTFORWARD_TUNNEL = "SPDY/3.1+portforward.k8s.io"  # kubectl port-forward: SPDY inside binary messages


class ChannelError(ValueError):
    """A message that does not follow the negotiated channel protocol."""


@dataclass(frozen=True)
class ChannelProtocol:
    name: str
    version: int  # 1, 4 or 5
    base64: bool = False

    @property
    def status_json(self) -> bool:
        """Whether the error channel carries a `metav1.Status` (v4+) rather than plain text."""
        return self.version >= 4

    @property
    def has_close(self) -> bool:
        return self.version >= 5

    def encode(self, channel: int, data: bytes) -> bytes | str:
        if self.base64:
            if channel > 9:
                raise ChannelError(f"channel {channel} cannot be sent with {self.name}")
            return chr(ord("0") + channel) + base64.b64encode(data).decode()
        return bytes((channel,)) + data

    def decode(self, message: bytes | str) -> tuple[int, bytes]:
        if self.base64:
            text = message.decode() if isinstance(message, (bytes, bytearray)) else message
            if not text:
                raise ChannelError("empty message")
            channel = ord(text[0]) - ord("0")
            if not 0 <= channel <= 9:
                raise ChannelError(f"invalid channel {text[0]!r}")
            try:
                return channel, base64.b64decode(text[1:], validate=True)
            except binascii.Error as e:
                raise ChannelError(f"invalid base64 payload: {e}") from e
        data = message.encode() if isinstance(message, str) else bytes(message)
        if not data:
            raise ChannelError("empty message")
        return data[0], data[1:]


PROTOCOLS = {p.name: p for p in (
    ChannelProtocol(V5, 5), ChannelProtocol(V4, 4), ChannelProtocol(V4_BASE64, 4, True),
    ChannelProtocol(V1, 1), ChannelProtocol(V1_BASE64, 1, True),
)}
# What the kubelet accepts, in its order of preference (the client's order decides, see `negotiate`).
REMOTECOMMAND = (V5, V4, V4_BASE64, V1, V1_BASE64)
PORTFORWARD = (V4, V4_BASE64, V1, V1_BASE64)


def offered(header_values: list[str]) -> list[str]:
    """The protocols a client offered: every `Sec-WebSocket-Protocol` header, comma-split."""
    out: list[str] = []
    for value in header_values:
        out += [p.strip() for p in value.split(",") if p.strip()]
    return out


def negotiate(offers: list[str], supported: tuple[str, ...]) -> str | None:
    """The first offered protocol we support. No offer at all means the unversioned binary one
    (as Kubernetes' wsstream treats an empty subprotocol); `None` means no overlap."""
    if not offers:
        return ""
    for p in offers:
        if p in supported:
            return p
    return None


def protocol(name: str) -> ChannelProtocol:
    """The channel protocol for a negotiated name ("" = unversioned binary)."""
    return PROTOCOLS.get(name) or PROTOCOLS[V1]


def port_prefix(port: int) -> bytes:
    """The first message of each port-forward channel: the port, 2 bytes little-endian."""
    return port.to_bytes(2, "little")
