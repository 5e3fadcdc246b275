import pytest

from kubelite.streaming import wschannel as w


@pytest.mark.parametrize("name,channel,data,wire", [
    (w.V5, w.STDOUT, b"hi", b"\x01hi"),
    (w.V4, w.ERROR, b"{}", b"\x03{}"),
    (w.V1, w.STDIN, b"", b"\x00"),
    (w.V4_BASE64, w.STDOUT, b"hi", "1aGk="),
    (w.V1_BASE64, w.STDERR, b"\xff", "2/w=="),
], ids=["v5", "v4", "v1", "v4-base64", "v1-base64"])
def test_encode_decode(name, channel, data, wire):
    p = w.protocol(name)
    assert p.encode(channel, data) == wire
    assert p.decode(wire) == (channel, data)


def test_v5_close_channel():
    p = w.protocol(w.V5)
    assert p.has_close and p.status_json
    assert p.decode(b"\xff\x00") == (w.CLOSE, b"\x00")
    assert not w.protocol(w.V4).has_close
    assert not w.protocol(w.V1).status_json


def test_bad_messages():
    with pytest.raises(w.ChannelError):
        w.protocol(w.V5).decode(b"")
    with pytest.raises(w.ChannelError):
        w.protocol(w.V4_BASE64).decode("1***")
    with pytest.raises(w.ChannelError):
        w.protocol(w.V4_BASE64).decode("xaGk=")


def test_negotiation_follows_the_client_order():
    # the Python client offers both in one header; kubectl only v5
    offers = w.offered(["v5.channel.k8s.io,v4.channel.k8s.io"])
    assert offers == [w.V5, w.V4]
    assert w.negotiate(offers, w.REMOTECOMMAND) == w.V5
    assert w.negotiate(offers, w.PORTFORWARD) == w.V4  # no v5 for port-forward
    assert w.negotiate(["v4.channel.k8s.io", "v5.channel.k8s.io"], w.REMOTECOMMAND) == w.V4
    assert w.negotiate([], w.REMOTECOMMAND) == ""
    assert w.negotiate(["foo"], w.REMOTECOMMAND) is None
    assert w.protocol("").name == w.V1


def test_port_prefix_is_little_endian():
    assert w.port_prefix(8080) == bytes([0x90, 0x1F])
