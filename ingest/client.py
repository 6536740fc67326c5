"""The MQTT side of ingest: paho-mqtt 2.x with manual acks and a bulk reader.

Stock paho reads a socket a few bytes at a time (one ``recv`` for the packet type, one per
length byte, one for the rest), runs one ``select`` per packet, and builds an MQTT v5
``Properties`` object for every PUBLISH: about 60 µs a message on our 2-core reference
machine, which caps a subscriber near 16k messages/s before it does any work. Ingest's
target is a multiple of that, so :class:`IngestClient` overrides the read path only:

* :meth:`IngestClient._packet_read` reads up to 256 KiB per ``recv`` and handles every
  complete packet in it. QoS 0/1 PUBLISH packets are decoded here (topic, packet id, payload;
  properties are skipped: ingest uses none) and handed to ``on_publish_received``; every other
  packet (CONNACK, SUBACK, PINGRESP, DISCONNECT, QoS 2) goes through paho's own handler, so
  connect, subscribe, keepalive and session handling stay paho's;
* :meth:`IngestClient.ack_many` sends the PUBACKs of a whole batch as one write instead of one
  packet (and one ``send``) per message;
* :meth:`IngestClient.loop_unread` is a round of ``loop`` that sends and keeps the connection
  alive but leaves the socket unread, so the service can push back on the broker while its
  writers catch up.

They rely on paho internals (``_packet_read``, ``_sock_recv``, ``_in_packet``, ``_packet_handle``,
``_packet_queue``, ``_sockpairR``/``_sockpairW``, ``_ping_t``) that are unchanged from paho
1.6 to 2.2; the constructor checks they exist and fails with
:class:`~ingest.errors.ClientError` rather than misbehave on a paho that changed them.
``tests/ingest/test_client.py`` feeds the reader packets split at arbitrary byte positions.

Threading: everything except :meth:`wake` must be called from the thread that runs
:meth:`loop` (the "MQTT thread"); paho writes directly to the socket from the caller's
thread when no ``loop_start`` thread exists.
"""

from __future__ import annotations

import contextlib
import select
import struct
from collections.abc import Callable
from typing import Any

from paho.mqtt.client import MQTT_LOG_ERR, Client, MQTTErrorCode, MQTTv5, time_func
from paho.mqtt.enums import CallbackAPIVersion

from ingest.errors import ClientError

#: ``on_publish_received(topic, packet_id, qos, payload)``.
PublishHandler = Callable[[bytes, int, int, bytes], None]

_READ_SIZE = 256 * 1024
_PUBLISH = 0x30
_PUBACK = 0x40
_NEEDED = (
    "_packet_read",
    "_sock_recv",
    "_packet_handle",
    "_packet_queue",
    "_in_packet",
    "_sockpairR",
    "_sockpairW",
    "_ping_t",
)


class IngestClient(Client):
    """A paho ``Client`` (MQTT v5, manual acks) with a bulk read path for PUBLISH packets."""

    def __init__(self, client_id: str, on_publish_received: PublishHandler) -> None:
        super().__init__(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTv5, manual_ack=True
        )
        missing = [name for name in _NEEDED if not hasattr(self, name)]
        if missing:
            raise ClientError(
                f"this paho-mqtt lacks {', '.join(missing)}; ingest's reader supports paho 2.x "
                "(see ingest/client.py)"
            )
        self.on_publish_received = on_publish_received
        self._rbuf = bytearray()
        # Packets that take paho's own path (QoS 2) still end up in the same handler.
        self.on_message = self._paho_message

    # -- reading -------------------------------------------------------------------------
    def reconnect(self) -> MQTTErrorCode:
        """Start a new connection; bytes left from the old one are dropped first."""
        self._rbuf.clear()
        return super().reconnect()

    def _packet_read(self) -> MQTTErrorCode:
        if self._sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        try:
            # paho's _sock_recv, not sock.recv: over TLS a socket select() calls readable
            # may hold only part of a TLS record, and the SSLWantReadError that raises is
            # "try again" (paho maps it to BlockingIOError), not a lost connection. One
            # call returns at most one record (16 KiB); paho's loop reads again while the
            # socket has decrypted bytes pending.
            data = self._sock_recv(_READ_SIZE)
        except BlockingIOError:
            return MQTTErrorCode.MQTT_ERR_AGAIN
        except OSError as err:
            self._easy_log(MQTT_LOG_ERR, "failed to receive on socket: %s", err)
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if not data:
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        self._mark_received()
        buf = self._rbuf
        buf += data
        rc, used = self._handle_buffer(buf)
        del buf[:used]
        return rc

    def _mark_received(self) -> None:
        with self._msgtime_mutex:
            self._last_bytes_received = time_func()

    def _handle_buffer(self, buf: bytearray) -> tuple[MQTTErrorCode, int]:
        """Handle every complete packet in ``buf``; returns (rc, bytes consumed)."""
        handler = self.on_publish_received
        size = len(buf)
        pos = 0
        while size - pos >= 2:
            command = buf[pos]
            i = pos + 1
            length = 0
            shift = 0
            while True:
                if i >= size:
                    return MQTTErrorCode.MQTT_ERR_SUCCESS, pos  # length incomplete
                byte = buf[i]
                length |= (byte & 0x7F) << shift
                i += 1
                if not byte & 0x80:
                    break
                shift += 7
                if shift > 21:
                    return MQTTErrorCode.MQTT_ERR_PROTOCOL, pos
            end = i + length
            if end > size:
                return MQTTErrorCode.MQTT_ERR_SUCCESS, pos  # body incomplete
            qos = (command >> 1) & 0x03
            if command & 0xF0 == _PUBLISH and qos < 2:
                try:
                    topic_end = i + 2 + ((buf[i] << 8) | buf[i + 1])
                    j = topic_end + (2 if qos else 0)
                    mid = ((buf[topic_end] << 8) | buf[topic_end + 1]) if qos else 0
                    props = buf[j]
                    if props & 0x80:  # rare: 128 bytes of properties or more
                        props, j = _varint(buf, j)
                    else:
                        j += 1
                except IndexError:
                    return MQTTErrorCode.MQTT_ERR_PROTOCOL, pos
                if topic_end == i + 2 or j + props > end:
                    return MQTTErrorCode.MQTT_ERR_PROTOCOL, pos
                handler(bytes(buf[i + 2 : topic_end]), mid, qos, bytes(buf[j + props : end]))
            else:
                rc = self._paho_packet(command, length, bytes(buf[i:end]))
                if rc:
                    return rc, end
            pos = end
        return MQTTErrorCode.MQTT_ERR_SUCCESS, pos

    def _paho_packet(self, command: int, length: int, body: bytes) -> MQTTErrorCode:
        """Let paho handle one packet exactly as its own reader would have."""
        self._in_packet = {
            "command": command,
            "have_remaining": 1,
            "remaining_count": [],
            "remaining_mult": 1,
            "remaining_length": length,
            "packet": bytearray(body),
            "to_process": 0,
            "pos": 0,
        }
        try:
            return self._packet_handle()
        except Exception as exc:  # paho's MalformedPacket and struct errors
            self._easy_log(MQTT_LOG_ERR, "malformed packet: %s", exc)
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        finally:
            self._in_packet = {
                "command": 0,
                "have_remaining": 0,
                "remaining_count": [],
                "remaining_mult": 1,
                "remaining_length": 0,
                "packet": bytearray(b""),
                "to_process": 0,
                "pos": 0,
            }

    def _paho_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.on_publish_received(message._topic, message.mid, message.qos, message.payload)

    # -- acknowledging -------------------------------------------------------------------
    def ack_many(self, mids: list[int]) -> None:
        """PUBACK the QoS 1 messages ``mids``, in order, as one write.

        Ingest subscribes at QoS 1, so the broker never sends it QoS 2 (a delivery's QoS is
        the lower of the publisher's and the subscription's).
        """
        if not mids:
            return
        packets = b"".join(struct.pack("!BBH", _PUBACK, 2, mid) for mid in mids)
        self._packet_queue(_PUBACK, packets, 0, 0)

    # -- holding back ----------------------------------------------------------------------
    def can_hold(self) -> bool:
        """Whether the socket may be left unread: connected, and no PINGRESP awaited (paho
        drops a connection whose PINGRESP is not read within the keepalive)."""
        return self.is_connected() and not self._ping_t

    def loop_unread(self, timeout: float) -> MQTTErrorCode:
        """One round of :meth:`loop` that leaves the socket unread, for backpressure.

        Waits up to ``timeout`` for :meth:`wake`, sends what is queued (PUBACKs) and keeps
        the connection alive; what the broker sends meanwhile waits in TCP buffers, then
        in the broker. Call it only while :meth:`can_hold`.
        """
        sock, wake = self._sock, self._sockpairR
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        try:
            woken, _, _ = select.select(
                [wake] if wake is not None else [], [sock] if self.want_write() else [], [], timeout
            )
        except (OSError, ValueError, TypeError):
            return self.loop(0.0)  # a broken socket: paho's own loop reports and closes it
        if woken and wake is not None:
            with contextlib.suppress(BlockingIOError):
                wake.recv(10000)
        if self.want_write():
            rc = self.loop_write()
            if rc or self._sock is None:
                return rc
        return self.loop_misc()

    def wake(self) -> None:
        """Break the MQTT thread out of ``select`` (callable from any thread)."""
        pair = self._sockpairW
        if pair is not None:
            # Full (already woken) or closed (stopping): either way nothing to do.
            with contextlib.suppress(OSError):
                pair.send(b"\0")


def _varint(buf: bytearray, i: int) -> tuple[int, int]:
    """An MQTT variable byte integer at ``i``: (value, index after it)."""
    value = 0
    shift = 0
    while True:
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            return value, i
        shift += 7
