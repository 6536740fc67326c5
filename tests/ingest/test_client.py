"""The bulk reader of IngestClient: any split of the byte stream gives the same packets."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import IngestClient


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish(topic: bytes, mid: int, qos: int, payload: bytes, props: bytes) -> bytes:
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    body += varint(len(props)) + props + payload
    return bytes([0x30 | (qos << 1)]) + varint(len(body)) + body


packets = st.lists(
    st.tuples(
        st.binary(min_size=1, max_size=40),
        st.integers(1, 65535),
        st.sampled_from([0, 1]),
        st.binary(max_size=300),
        # none, format flag, alias, a user property of 136 bytes (a two-byte length)
        st.sampled_from(
            [b"", b"\x01\x01", b"\x23\x00\x05", b"\x26\x00\x03key\x00\x80" + b"v" * 128]
        ),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(items=packets, cuts=st.lists(st.integers(0, 4000), max_size=6))
def test_packets_survive_any_split(items, cuts):
    got = []
    client = IngestClient("t", lambda t, m, q, p: got.append((t, m if q else 0, q, p)))
    stream = b"".join(publish(*item) for item in items)
    buf = bytearray()
    edges = sorted({c % (len(stream) + 1) for c in cuts} | {len(stream)})
    start = 0
    for edge in edges:
        buf += stream[start:edge]
        start = edge
        rc, used = client._handle_buffer(buf)
        assert rc == 0
        del buf[:used]
    assert not buf
    assert got == [(t, m if q else 0, q, p) for t, m, q, p, _ in items]


def test_ack_many_queues_one_write_of_pubacks():
    client = IngestClient("t", lambda *a: None)
    client.ack_many([1, 2, 300])
    [packet] = list(client._out_packet)
    assert packet["packet"] == b"\x40\x02\x00\x01\x40\x02\x00\x02\x40\x02\x01\x2c"
