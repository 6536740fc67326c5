"""A minimal MQTT client on a bare socket, for the benchmark's producer and bare subscriber.

The benchmark needs two MQTT ends that are never the bottleneck: a producer that queues
hundreds of thousands of QoS 1 messages in the broker in a few seconds, and a subscriber that
only counts (the broker ceiling). paho spends ~20-60 µs of Python per message on both sides,
which would make them the thing measured. This client speaks only what those two jobs need
(CONNECT, SUBSCRIBE, QoS 1 PUBLISH and PUBACK, DISCONNECT; MQTT 3.1.1 and 5), pipelines
publishes in large writes and acknowledges every message of one ``recv`` in one write.

It is benchmark tooling, not a general client: no TLS, no QoS 2, no keepalive pings (a run
never idles for ``KEEPALIVE`` seconds), no reconnects; any surprise raises
:class:`RawMqttError`.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Self

from careloop.errors import CareloopError

KEEPALIVE = 600
_READ_SIZE = 256 * 1024
_CONNACK, _PUBLISH, _PUBACK, _SUBACK = 0x20, 0x30, 0x40, 0x90
_PROP_SESSION_EXPIRY, _PROP_RECEIVE_MAXIMUM = 0x11, 0x21
#: Subscribe option "Retain Handling = 2": send no retained messages (as ingest asks).
_RETAIN_NONE = 2 << 4


class RawMqttError(CareloopError):
    """The broker refused something, closed the connection, or did not answer in time."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


class RawClient:
    """One MQTT connection (``version`` 4 = 3.1.1 or 5); a context manager."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        *,
        version: int = 5,
        clean_start: bool = True,
        session_expiry: int = 0,
        receive_maximum: int | None = None,
        timeout: float = 30.0,
    ) -> None:
        if version not in (4, 5):
            raise ValueError("version must be 4 (MQTT 3.1.1) or 5")
        self.host, self.port, self.client_id = host, port, client_id
        self.version = version
        self.clean_start = clean_start
        self.session_expiry = session_expiry
        self.receive_maximum = receive_maximum
        self.timeout = timeout
        self.session_present = False
        self._sock: socket.socket | None = None
        self._buf = bytearray()

    # -- connection ---------------------------------------------------------------------------

    def connect(self) -> Self:
        """Open the socket, send CONNECT, wait for a successful CONNACK."""
        if self._sock is not None:
            raise RawMqttError("already connected")
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        flags = 0x02 if self.clean_start else 0x00
        body = _utf8("MQTT") + bytes([self.version, flags]) + struct.pack("!H", KEEPALIVE)
        if self.version == 5:
            props = b""
            if self.session_expiry:
                props += bytes([_PROP_SESSION_EXPIRY]) + struct.pack("!I", self.session_expiry)
            if self.receive_maximum:
                props += bytes([_PROP_RECEIVE_MAXIMUM]) + struct.pack("!H", self.receive_maximum)
            body += _varint(len(props)) + props
        body += _utf8(self.client_id)
        sock.sendall(_packet(0x10, body))
        first, packet = self._read_packet()
        if first & 0xF0 != _CONNACK or len(packet) < 2 or packet[1] != 0:
            raise RawMqttError(f"{self.client_id}: connection refused: {packet[:2].hex()}")
        self.session_present = bool(packet[0] & 0x01)
        return self

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """SUBSCRIBE and wait for the SUBACK; raises unless granted ``qos``."""
        options = qos | (_RETAIN_NONE if self.version == 5 else 0)
        body = struct.pack("!H", 1) + (b"\x00" if self.version == 5 else b"")
        body += _utf8(topic_filter) + bytes([options])
        self._send(_packet(0x82, body))
        while True:
            first, packet = self._read_packet()
            if first & 0xF0 == _SUBACK:
                break
        granted = packet[-1]
        if granted != qos:
            raise RawMqttError(f"{self.client_id}: subscription {topic_filter!r}: code {granted}")

    def disconnect(self) -> None:
        """Send DISCONNECT (the session stays for ``session_expiry``) and close."""
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendall(b"\xe0\x00")
            # Wait for the broker to close its end, so the session is stored before we go on.
            sock.settimeout(self.timeout)
            while sock.recv(_READ_SIZE):
                pass
        except OSError:
            pass
        finally:
            sock.close()
            self._sock = None

    def __enter__(self) -> Self:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()

    # -- publishing ---------------------------------------------------------------------------

    def publish_all(
        self, messages: Iterable[tuple[bytes, bytes]], *, window: int = 20_000, chunk: int = 500
    ) -> int:
        """Publish every ``(topic, payload)`` at QoS 1 and wait for all PUBACKs.

        Up to ``window`` messages are unacknowledged at once (below the 65535 packet ids);
        ``chunk`` packets go out per ``sendall``. Returns how many the broker acknowledged.
        """
        if not 0 < window < 65_535:
            raise ValueError("window must be between 1 and 65534")
        props = b"\x00" if self.version == 5 else b""
        sent = acked = 0
        out: list[bytes] = []
        for topic, payload in messages:
            mid = sent % 65_535 + 1
            body_len = 2 + len(topic) + 2 + len(props) + len(payload)
            out.append(
                b"\x32"
                + _varint(body_len)
                + struct.pack("!H", len(topic))
                + topic
                + struct.pack("!H", mid)
                + props
                + payload
            )
            sent += 1
            if len(out) >= chunk:
                self._send(b"".join(out))
                out.clear()
                acked += self._count_acks(block=False)
                while sent - acked > window:
                    acked += self._count_acks(block=True)
        if out:
            self._send(b"".join(out))
        while acked < sent:
            acked += self._count_acks(block=True)
        return acked

    def _count_acks(self, *, block: bool) -> int:
        """PUBACKs in whatever has arrived; if ``block``, at least one read's worth."""
        data = self._recv(block=block)
        if not data:
            if block:
                raise RawMqttError(f"{self.client_id}: no PUBACK for {self.timeout:.0f} s")
            return 0
        self._buf += data
        n = 0
        for first, _body in self._packets():
            if first & 0xF0 == _PUBACK:
                n += 1
        return n

    # -- subscribing --------------------------------------------------------------------------

    def receive(self, count: int, *, idle_timeout: float = 30.0) -> int:
        """Receive QoS 0/1 PUBLISHes until ``count`` arrived; acknowledge each at once.

        Every message of one ``recv`` is acknowledged in one write. Returns how many arrived;
        fewer than ``count`` only if nothing came for ``idle_timeout`` seconds.
        """
        got = 0
        last = time.monotonic()
        while got < count:
            data = self._recv(block=True, timeout=1.0)
            if not data:
                if time.monotonic() - last > idle_timeout:
                    break
                continue
            last = time.monotonic()
            self._buf += data
            acks: list[bytes] = []
            for first, body in self._packets():
                if first & 0xF0 != _PUBLISH:
                    continue
                got += 1
                if first & 0x06:  # QoS 1: the packet id follows the topic
                    at = 2 + ((body[0] << 8) | body[1])
                    acks.append(b"\x40\x02" + body[at : at + 2])
            if acks:
                self._send(b"".join(acks))
        return got

    # -- plumbing -----------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if self._sock is None:
            raise RawMqttError("not connected")
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(data)
        except OSError as exc:
            raise RawMqttError(f"{self.client_id}: send failed: {exc}") from exc

    def _recv(self, *, block: bool, timeout: float | None = None) -> bytes:
        sock = self._sock
        if sock is None:
            raise RawMqttError("not connected")
        try:
            sock.settimeout((timeout or self.timeout) if block else 0.0)
            data = sock.recv(_READ_SIZE)
        except (BlockingIOError, TimeoutError):
            return b""
        except OSError as exc:
            raise RawMqttError(f"{self.client_id}: receive failed: {exc}") from exc
        if not data:
            raise RawMqttError(f"{self.client_id}: the broker closed the connection")
        return data

    def _packets(self, limit: int | None = None) -> list[tuple[int, bytes]]:
        """Complete packets in the buffer, at most ``limit``, removed from it: (first byte,
        body). One pass and one ``del``: a 256 KiB read holds about a thousand packets."""
        buf = self._buf
        out: list[tuple[int, bytes]] = []
        pos, size = 0, len(buf)
        while size - pos >= 2 and (limit is None or len(out) < limit):
            i, length, shift, complete = pos + 1, 0, 0, False
            while i < size:
                byte = buf[i]
                i += 1
                length |= (byte & 0x7F) << shift
                if not byte & 0x80:
                    complete = True
                    break
                shift += 7
            if not complete or i + length > size:
                break
            out.append((buf[pos], bytes(buf[i : i + length])))
            pos = i + length
        del buf[:pos]
        return out

    def _read_packet(self) -> tuple[int, bytes]:
        """One whole packet, blocking (connect and subscribe only)."""
        deadline = time.monotonic() + self.timeout
        while True:
            packets = self._packets(limit=1)
            if packets:
                return packets[0]
            if time.monotonic() > deadline:
                raise RawMqttError(f"{self.client_id}: no answer from the broker")
            self._buf += self._recv(block=True, timeout=1.0)
