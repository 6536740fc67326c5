"""The scorer's inbox: MQTT messages of the sites it owns, queued until scored in a batch.

The session's client hands in the messages of each socket read in one list (its
:class:`~careloop.mqttbulk.Stream`, on the event loop: no asyncio work per message); the
scorer task takes them out as one batch (:meth:`Inbox.drain`) every ``max_delay`` seconds, or
sooner once a batch's worth is waiting. Messages of sites another partition owns are dropped
before anything is decoded (a topic split), and acknowledged with the batch they came in.

An owned message is acknowledged to the broker only after it has been scored and the needs it
raised are in the need outbox's file (:meth:`Inbox.acknowledge`, the whole batch in one
write): a scorer killed with -9 at any moment leaves every message it had not finished with
unacknowledged, and the broker delivers it again to the restarted partition (same client id,
persistent session). The broker keeps at most ``RECEIVE_MAXIMUM`` unacknowledged messages in
flight, which also bounds the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import NamedTuple

from careloop.mqtt import ConfirmingClient
from careloop.mqttbulk import Received, Stream
from careloop.wire.control import CONTROL_PREFIX
from models.base import ModelError
from models.runtime.config import site_partition
from models.runtime.metrics import ScoreMetrics

#: Unacknowledged messages the broker may have on their way to the scorer (MQTT v5 Receive
#: Maximum; each is acknowledged once scored). It bounds how far behind a flood of readings
#: the PUBACK of a need the scorer publishes can be (with paho's automatic acknowledgements
#: the broker kept tens of thousands in flight and, on a loaded machine, a PUBACK took longer
#: than ``mqtt.publish_timeout`` to be read, ending the session), how many messages a restart
#: scores again, and the inbox's memory. Since a message is acknowledged only once scored,
#: it is also the most a batch can hold: half of it is scored while the broker sends the other
#: half, so it is large enough for batches to amortise the engine's per-batch work.
RECEIVE_MAXIMUM = 1024
#: Queued messages that make a batch full (scored without waiting for ``max_delay``).
BATCH_AT = RECEIVE_MAXIMUM // 2


class Inbox:
    """Owned messages waiting to be scored (event loop only)."""

    def __init__(
        self,
        sites: tuple[str, ...] | None,
        partition: tuple[int, int],
        *,
        max_batch: int,
        metrics: ScoreMetrics,
        counts: dict[str, int],
    ) -> None:
        self.sites = sites
        self.partition = partition
        self.max_batch = max_batch
        self.metrics = metrics
        self.counts = counts
        self._queued: list[tuple[str, bytes]] = []
        self._since = 0.0
        self._work = asyncio.Event()
        self._full = asyncio.Event()
        self._owned: dict[str, bool] = {}
        #: The current session's stream, and the packet ids of its queued messages.
        self._stream: Stream | None = None
        self._mids: list[int] = []

    def owns(self, topic: str) -> bool:
        """Whether this scorer's partition owns the topic's site (explicit sites: always)."""
        if self.sites is not None:
            return True
        parts = topic.split("/", 4)
        # careloop/v1/<site>/... for devices, careloop/control/v1/<site>/... for control
        at = 3 if topic.startswith(CONTROL_PREFIX) else 2
        site = parts[at] if len(parts) > at else ""
        owned = self._owned.get(site)
        if owned is None:
            owned = site_partition(site, self.partition[1]) == self.partition[0]
            if len(self._owned) < 100_000:
                self._owned[site] = owned
        return owned

    def take(self, items: list[Received]) -> None:
        """Queue the owned messages of ``items`` and count the others skipped. The packet
        ids of all of them wait for :meth:`acknowledge`, in arrival order: the broker looks
        an acknowledgement up in its in-flight list from the oldest, so a skipped message
        acknowledged ahead of older owned ones would cost it a walk down that list."""
        queued = self._queued
        before = len(queued)
        owns = self.owns
        size = 0
        mids = self._mids
        pending = len(mids)
        for topic, payload, mid in items:
            size += len(topic) + len(payload)
            mids.append(mid)
            if owns(topic):
                queued.append((topic, payload))
        taken = len(queued) - before
        skipped = len(items) - taken
        self.metrics.received_bytes.inc(size)
        if skipped:
            self.counts["skipped"] += skipped
            self.metrics.skipped.inc(skipped)
        if taken:
            self.counts["received"] += taken
            self.metrics.received.inc(taken)
        if items and not (before or pending):
            self._since = time.monotonic()
            self._work.set()
        if len(queued) >= self.max_batch or len(mids) >= BATCH_AT:
            self._full.set()

    async def receive(self, client: ConfirmingClient) -> None:
        """Queue every message of ``client``'s session until the connection ends (raising
        :class:`aiomqtt.MqttError`, for :func:`careloop.mqtt.run_forever` to reconnect).

        ``client`` acknowledges by hand (:func:`careloop.mqtt.make_client`'s
        ``receive_maximum``): a message not yet scored when the connection drops was never
        acknowledged, so the broker delivers it to the next session. What this session
        queued is still scored (its packet ids are forgotten: they meant nothing to another
        connection), so such a message can be scored twice; its needs keep their ids.
        """
        stream = client.stream
        if stream is None:
            raise ModelError("the scorer's client needs make_client(receive_maximum=...)")
        self._stream = stream
        try:
            stream.attach(self._received)
            await client.until_disconnected()
        finally:
            stream.attach(None)
            self._stream = None
            self._mids = []

    def _received(self, items: list[Received]) -> None:
        """One socket read's messages (event loop)."""
        self.take(items)

    async def next_batch(self, max_delay: float) -> None:
        """Wait until something is queued and it is ``max_delay`` old, or the batch is full."""
        await self._work.wait()
        left = max_delay - (time.monotonic() - self._since)
        if left > 0 and not self._full.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), left)

    def drain(self) -> Batch:
        """Everything queued, in arrival order, with what :meth:`acknowledge` needs."""
        items, self._queued = self._queued, []
        mids, self._mids = self._mids, []
        self._work.clear()
        self._full.clear()
        return Batch(items, mids, self._stream)

    def acknowledge(self, batch: Batch) -> None:
        """``batch`` is scored and its needs are in the outbox's file: PUBACK its messages
        in one write, if the connection they came on is still the current one (otherwise
        the broker delivers them again)."""
        if batch.mids and batch.stream is not None and batch.stream is self._stream:
            batch.stream.ack(batch.mids)


class Batch(NamedTuple):
    """Messages taken out of the inbox to score, and how to acknowledge them once scored."""

    items: list[tuple[str, bytes]]
    #: Packet ids of the messages (of ``stream``'s connection).
    mids: list[int]
    stream: Stream | None
