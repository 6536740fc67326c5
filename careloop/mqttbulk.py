"""A bulk read path and bulk PUBACKs for paho clients that receive a stream of QoS 1 messages.

Stock paho reads a socket a few bytes at a time (one ``recv`` for the packet type, one per
length byte, one for the rest), runs one ``select`` per packet, and builds an MQTT v5
``Properties`` object for every PUBLISH: about 60 µs a message on our 2-core reference
machine, before the application does any work. Ingest (on its own paho thread) and the
scorer (on aiomqtt's event loop) both receive far more than that allows, so both replace
paho's read path with :class:`BulkReader`:

* :meth:`BulkReader.read` reads up to 256 KiB per ``recv`` and handles every complete packet
  in it. QoS 0/1 PUBLISH packets are decoded here (topic, packet id, payload; properties are
  skipped: neither uses any) and handed to the handler; every other packet (CONNACK, SUBACK,
  PUBACK, PINGRESP, DISCONNECT, QoS 2) goes through paho's own handler, so connect,
  subscribe, publish, keepalive and session handling stay paho's;
* :func:`ack_many` sends the PUBACKs of many messages as one write instead of one packet
  (and one ``send``, and on an event loop one writer registration) per message.

They rely on paho internals (``_packet_read``, ``_sock_recv``, ``_in_packet``,
``_packet_handle``, ``_packet_queue``, ``_msgtime_mutex``) that are unchanged from paho 1.6 to
2.2; :func:`missing_internals` names any a paho lacks, and users refuse to start rather than
misbehave on a paho that changed them. ``tests/ingest/test_client.py`` feeds the reader
packets split at arbitrary byte positions.

Threading: a reader runs on whatever thread runs the client's network loop (ingest's MQTT
thread, or the event loop for an aiomqtt client), and so must its handler.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from paho.mqtt.client import MQTT_LOG_ERR, MQTTErrorCode, time_func

#: ``handler(topic, packet_id, qos, payload)``, for every QoS 0/1 PUBLISH read.
PublishHandler = Callable[[bytes, int, int, bytes], None]

_READ_SIZE = 256 * 1024
_PUBLISH = 0x30
_PUBACK = 0x40
#: The paho internals the reader and :func:`ack_many` use.
NEEDED = (
    "_packet_read",
    "_sock_recv",
    "_packet_handle",
    "_packet_queue",
    "_in_packet",
    "_msgtime_mutex",
)


def missing_internals(client: Any) -> list[str]:
    """The paho internals (:data:`NEEDED`) ``client`` lacks; empty on a supported paho."""
    return [name for name in NEEDED if not hasattr(client, name)]


class BulkReader:
    """The read path of one paho client: whole ``recv`` buffers, PUBLISH packets decoded
    here, anything else handed to paho as its own reader would have."""

    def __init__(self, client: Any, handler: PublishHandler) -> None:
        self.client = client
        self.handler = handler
        self._buf = bytearray()

    def reset(self) -> None:
        """Forget bytes left from an old connection (call on every new connection)."""
        self._buf.clear()

    def read(self) -> MQTTErrorCode:
        """paho's ``_packet_read``: one ``recv``, every complete packet in the buffer."""
        client = self.client
        if client._sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        try:
            # paho's _sock_recv, not sock.recv: over TLS a socket select() calls readable
            # may hold only part of a TLS record, and the SSLWantReadError that raises is
            # "try again" (paho maps it to BlockingIOError), not a lost connection. One
            # call returns at most one record (16 KiB); paho's loop (and aiomqtt's reader)
            # read again while the socket has decrypted bytes pending.
            data = client._sock_recv(_READ_SIZE)
        except BlockingIOError:
            return MQTTErrorCode.MQTT_ERR_AGAIN
        except OSError as err:
            client._easy_log(MQTT_LOG_ERR, "failed to receive on socket: %s", err)
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if not data:
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        with client._msgtime_mutex:
            client._last_bytes_received = time_func()
        buf = self._buf
        buf += data
        rc, used = self.handle(buf)
        del buf[:used]
        return rc

    def handle(self, buf: bytearray) -> tuple[MQTTErrorCode, int]:
        """Handle every complete packet in ``buf``; returns (rc, bytes consumed)."""
        handler = self.handler
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
        client = self.client
        client._in_packet = {
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
            rc: MQTTErrorCode = client._packet_handle()
            return rc
        except Exception as exc:  # paho's MalformedPacket and struct errors
            client._easy_log(MQTT_LOG_ERR, "malformed packet: %s", exc)
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        finally:
            client._in_packet = {
                "command": 0,
                "have_remaining": 0,
                "remaining_count": [],
                "remaining_mult": 1,
                "remaining_length": 0,
                "packet": bytearray(b""),
                "to_process": 0,
                "pos": 0,
            }


#: ``(topic, payload, packet_id)`` of one received message; ``packet_id`` 0 = nothing to
#: acknowledge (QoS 0, or QoS 2, which paho acknowledges itself once handed on).
Received = tuple[str, bytes, int]
#: Takes the messages of one socket read, in arrival order.
Sink = Callable[[list[Received]], None]


class Stream:
    """The received messages of an aiomqtt client's paho client, a socket read at a time.

    aiomqtt hands each message through an ``asyncio.Queue`` to an iterator that creates a
    task per message, and each manual PUBACK registers a socket writer with the event loop:
    a few event-loop wakeups per message, about 150 µs of CPU on our reference machine. A
    :class:`Stream` installs a :class:`BulkReader` on the paho client instead: aiomqtt's
    reader callback (on the event loop) reads the socket as before, and every message of
    that read goes to :meth:`attach`'s sink in one list; :meth:`ack` acknowledges many in
    one write. Messages read before a sink is attached (the broker sends a persistent
    session's backlog right after CONNACK) wait unacknowledged until it is.
    """

    def __init__(self, client: Any) -> None:
        missing = missing_internals(client)
        if missing:
            raise RuntimeError(
                f"this paho-mqtt lacks {', '.join(missing)}; careloop's bulk reader supports "
                "paho 2.x (see careloop/mqttbulk.py)"
            )
        self.client = client
        self._reader = BulkReader(client, self._take)
        self._got: list[Received] = []
        self._qos2: list[int] = []
        self._sink: Sink | None = None
        client._packet_read = self._read  # one connection per client (run_forever)
        client.on_message = self._paho_message

    def attach(self, sink: Sink | None) -> None:
        """Hand every message from now on (and any read before) to ``sink``; None detaches."""
        self._sink = sink
        if sink is not None:
            self._hand_on()

    def ack(self, packet_ids: list[int]) -> None:
        """PUBACK ``packet_ids`` (0s skipped) in one write. Call only once the messages are
        safely where the application keeps them: once acknowledged, the broker forgets them.
        On a connection that is gone nothing is sent, and the broker redelivers them."""
        if self.client._sock is not None:
            ack_many(self.client, [mid for mid in packet_ids if mid])

    def _take(self, topic: bytes, mid: int, qos: int, payload: bytes) -> None:
        # a topic that is not UTF-8 fails the wire contract's topic check later, by name
        self._got.append((topic.decode("utf-8", "replace"), payload, mid if qos else 0))

    def _paho_message(self, client: Any, userdata: Any, message: Any) -> None:
        """QoS 2 (paho's own path; never sent on QoS 1 subscriptions): handed on the same
        way, and acknowledged by paho once handed on."""
        self._got.append((message.topic, message.payload, 0))
        self._qos2.append(message.mid)

    def _read(self) -> MQTTErrorCode:
        rc = self._reader.read()
        if self._got and self._sink is not None:
            self._hand_on()
        return rc

    def _hand_on(self) -> None:
        assert self._sink is not None
        got, self._got = self._got, []
        if got:
            self._sink(got)
        while self._qos2:
            self.client.ack(self._qos2.pop(0), 2)


def ack_many(client: Any, mids: list[int]) -> None:
    """Queue the PUBACKs of the QoS 1 messages ``mids`` on paho ``client``, in order, as one
    write. (Subscribers at QoS 1 never get QoS 2: a delivery's QoS is the lower of the
    publisher's and the subscription's.)"""
    if not mids:
        return
    packets = b"".join(struct.pack("!BBH", _PUBACK, 2, mid) for mid in mids)
    client._packet_queue(_PUBACK, packets, 0, 0)


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
