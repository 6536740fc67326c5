"""The MQTT side of ingest: paho-mqtt 2.x with manual acks and a bulk reader.

Stock paho spends about 60 µs a message on our 2-core reference machine reading and
parsing (careloop/mqttbulk.py says where), which caps a subscriber near 16k messages/s
before it does any work. Ingest's target is a multiple of that, so :class:`IngestClient`
changes the read path only, with the kernel's :mod:`careloop.mqttbulk` (shared with the
scorer):

* :meth:`IngestClient._packet_read` reads up to 256 KiB per ``recv`` and hands every QoS 0/1
  PUBLISH in it to ``on_publish_received``; every other packet goes through paho's own
  handler, so connect, subscribe, keepalive and session handling stay paho's;
* :meth:`IngestClient.ack_many` sends the PUBACKs of a whole batch as one write instead of one
  packet (and one ``send``) per message;
* :meth:`IngestClient.loop_unread` is a round of ``loop`` that sends and keeps the connection
  alive but leaves the socket unread, so the service can push back on the broker while its
  writers catch up.

They rely on paho internals (:data:`careloop.mqttbulk.NEEDED`, and ``_sockpairR``/
``_sockpairW``, ``_ping_t`` here) that are unchanged from paho 1.6 to 2.2; the constructor
checks they exist and fails with :class:`~ingest.errors.ClientError` rather than misbehave on
a paho that changed them. ``tests/ingest/test_client.py`` feeds the reader packets split at
arbitrary byte positions.

Threading: everything except :meth:`wake` must be called from the thread that runs
:meth:`loop` (the "MQTT thread"); paho writes directly to the socket from the caller's
thread when no ``loop_start`` thread exists.
"""

from __future__ import annotations

import contextlib
import select
from typing import Any

from paho.mqtt.client import Client, MQTTErrorCode, MQTTv5
from paho.mqtt.enums import CallbackAPIVersion

from careloop.mqttbulk import BulkReader, PublishHandler, ack_many, missing_internals
from ingest.errors import ClientError

_NEEDED = ("_sockpairR", "_sockpairW", "_ping_t")


class IngestClient(Client):
    """A paho ``Client`` (MQTT v5, manual acks) with a bulk read path for PUBLISH packets."""

    def __init__(self, client_id: str, on_publish_received: PublishHandler) -> None:
        super().__init__(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTv5, manual_ack=True
        )
        missing = missing_internals(self) + [n for n in _NEEDED if not hasattr(self, n)]
        if missing:
            raise ClientError(
                f"this paho-mqtt lacks {', '.join(missing)}; ingest's reader supports paho 2.x "
                "(see ingest/client.py)"
            )
        self.on_publish_received = on_publish_received
        self._reader = BulkReader(self, on_publish_received)
        # Packets that take paho's own path (QoS 2) still end up in the same handler.
        self.on_message = self._paho_message

    # -- reading and acknowledging (careloop.mqttbulk) -----------------------------------
    def reconnect(self) -> MQTTErrorCode:
        """Start a new connection; bytes left from the old one are dropped first."""
        self._reader.reset()
        return super().reconnect()

    def _packet_read(self) -> MQTTErrorCode:
        return self._reader.read()

    def _handle_buffer(self, buf: bytearray) -> tuple[MQTTErrorCode, int]:
        """Handle every complete packet in ``buf``; returns (rc, bytes consumed)."""
        return self._reader.handle(buf)

    def _paho_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.on_publish_received(message._topic, message.mid, message.qos, message.payload)

    def ack_many(self, mids: list[int]) -> None:
        """PUBACK the QoS 1 messages ``mids``, in order, as one write."""
        ack_many(self, mids)

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
