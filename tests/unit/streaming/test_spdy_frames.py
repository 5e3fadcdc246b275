import struct
import zlib

import pytest

from kubelite.streaming.spdy import frames as f
from kubelite.streaming.spdy.dictionary import DICTIONARY, DICTIONARY_ID


def test_dictionary_is_the_spdy3_one():
    # a peer names the dictionary by its Adler-32 in the zlib header: kubectl's first header
    # block starts 78 f9 e3 c6 (observed), i.e. this dictionary id
    assert zlib.adler32(DICTIONARY) == DICTIONARY_ID == 0xE3C6A7C2
    assert len(DICTIONARY) == 1423
    assert DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert DICTIONARY.endswith(b",utf-,*,enq=0.")


def test_header_block_layout():
    block = f.pack_header_block({"streamType": ["error"], "port": ["80"]})
    assert block == (struct.pack(">I", 2) + struct.pack(">I", 10) + b"streamtype" + struct.pack(">I", 5) + b"error"
                     + struct.pack(">I", 4) + b"port" + struct.pack(">I", 2) + b"80")
    assert f.unpack_header_block(block) == {"streamtype": ["error"], "port": ["80"]}


def test_multiple_values_are_nul_joined():
    block = f.pack_header_block({"x-stream-protocol-version": ["v4.channel.k8s.io", "v3.channel.k8s.io"]})
    assert b"v4.channel.k8s.io\x00v3.channel.k8s.io" in block
    assert f.unpack_header_block(block)["x-stream-protocol-version"] == ["v4.channel.k8s.io", "v3.channel.k8s.io"]


def test_uppercase_names_are_a_protocol_error():
    block = struct.pack(">I", 1) + struct.pack(">I", 4) + b"Port" + struct.pack(">I", 2) + b"80"
    with pytest.raises(f.ProtocolError):
        f.unpack_header_block(block)


def test_compressed_block_starts_like_go_and_inflates_with_plain_zlib():
    c = f.HeaderCompressor()
    first = c.compress({"streamtype": ["data"], "port": ["8080"], "requestid": ["0"]})
    assert first[:6] == bytes.fromhex("78f9e3c6a7c2")  # best compression + FDICT + dictionary id, as Go writes
    d = zlib.decompressobj(zdict=DICTIONARY)
    assert f.unpack_header_block(d.decompress(first)) == {"streamtype": ["data"], "port": ["8080"],
                                                          "requestid": ["0"]}
    second = c.compress({"streamtype": ["error"], "port": ["8080"], "requestid": ["0"]})
    assert second[:2] != b"\x78\xf9"  # the same zlib stream continues (one context per direction)
    assert f.unpack_header_block(d.decompress(second))["streamtype"] == ["error"]


def test_blocks_from_an_independent_compressor_decode():
    # what a Go peer does: one zlib stream at best compression with the dictionary, sync-flushed per block
    z = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    d = f.HeaderDecompressor()
    for i in range(3):
        raw = f.pack_header_block({"streamtype": ["stdout"], "requestid": [str(i)]})
        data = z.compress(raw) + z.flush(zlib.Z_SYNC_FLUSH)
        assert d.decompress(data) == {"streamtype": ["stdout"], "requestid": [str(i)]}


def test_garbage_header_block_is_a_protocol_error():
    with pytest.raises(f.ProtocolError):
        f.HeaderDecompressor().decompress(b"not zlib at all")


ROUND_TRIP = [
    f.DataFrame(1, b"hello", fin=False),
    f.DataFrame(3, b"", fin=True),
    f.SynStream(1, {"streamtype": ["error"]}, associated_id=0, priority=3, fin=False),
    f.SynStream(5, {"streamtype": ["stdin"]}, unidirectional=True, fin=True),
    f.SynReply(1, {}),
    f.SynReply(3, {"x": ["y"]}, fin=True),
    f.RstStream(7, f.CANCEL),
    f.Settings([(0, f.SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20)], clear=True),
    f.Ping(2),
    f.GoAway(9, f.GOAWAY_OK),
    f.HeadersFrame(1, {"a": ["b"]}, fin=True),
    f.WindowUpdate(1, 32768),
    f.WindowUpdate(0, 65536),
]


@pytest.mark.parametrize("frame", ROUND_TRIP, ids=[type(x).__name__ for x in ROUND_TRIP])
def test_round_trip(frame):
    writer, reader = f.Framer(), f.Framer()
    assert reader.feed(writer.encode(frame)) == [frame]


def test_control_frame_header_layout():
    data = f.Framer().encode(f.Ping(1))
    assert data == bytes.fromhex("80030006") + bytes.fromhex("00000004") + bytes.fromhex("00000001")
    data = f.Framer().encode(f.DataFrame(3, b"ab", fin=True))
    assert data == bytes.fromhex("00000003") + bytes.fromhex("01000002") + b"ab"


def test_frames_split_anywhere_reassemble():
    writer, reader = f.Framer(), f.Framer()
    wire = b"".join(writer.encode(fr) for fr in ROUND_TRIP)
    got = []
    for i in range(len(wire)):
        got += reader.feed(wire[i:i + 1])
    assert got == ROUND_TRIP
    assert reader.buffered == 0


def test_unknown_control_frames_are_skipped():
    unknown = struct.pack(">HHI", 0x8003, 0x00F0, 3) + b"abc"
    reader = f.Framer()
    assert reader.feed(unknown + f.Framer().encode(f.Ping(1))) == [f.Ping(1)]


def test_wrong_version_is_a_protocol_error():
    with pytest.raises(f.ProtocolError):
        f.Framer().feed(struct.pack(">HHI", 0x8002, f.PING, 4) + b"\0\0\0\1")


def test_first_header_lookup_is_case_insensitive():
    assert f.first({"streamtype": ["data"]}, "streamType") == "data"
    assert f.first({}, "port", "none") == "none"
