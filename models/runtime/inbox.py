"""The scorer's inbox: MQTT messages of the sites it owns, queued until scored in a batch.

The session's client hands in the messages of each socket read in one list (its
:class:`~careloop.mqttbulk.Stream`, on the event loop: no asyncio work per message); the
scorer task takes them out as one batch every ``max_delay`` seconds, or sooner once
``max_batch`` are waiting. Messages of sites another partition owns are dropped before
anything is decoded (a topic split). A message is acknowledged to the broker only once it
is queued here, those of one read in one write; at ``MAX_QUEUED`` what arrives waits beside
the queue, unacknowledged (so the broker holds the rest back), until the engine catches up,
and is left to the broker to deliver again if the connection drops meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from careloop.mqtt import ConfirmingClient
from careloop.mqttbulk import Received, Stream
from careloop.wire.control import CONTROL_PREFIX
from models.base import ModelError
from models.runtime.config import site_partition
from models.runtime.metrics import ScoreMetrics

#: Unacknowledged messages the broker may have on their way to the scorer (MQTT v5 Receive
#: Maximum; each is acknowledged once in the inbox). It bounds how far behind a flood of
#: readings the PUBACK of a need the scorer publishes can be: with paho's automatic
#: acknowledgements the broker kept tens of thousands in flight and, on a loaded machine, a
#: PUBACK took longer than ``mqtt.publish_timeout`` to be read, ending the session.
RECEIVE_MAXIMUM = 256
#: Queued messages at which the inbox stops taking (and acknowledging) until the scorer has
#: drained it (bounds memory).
MAX_QUEUED = 50_000


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
        #: The current session's stream, and what it handed in while the inbox was full.
        self._stream: Stream | None = None
        self._waiting: list[Received] = []

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

    def take(self, items: list[Received]) -> list[int]:
        """Queue the owned messages of ``items`` (count the others skipped); returns the
        packet ids of all of them, to acknowledge now that they are in (or dropped)."""
        queued = self._queued
        before = len(queued)
        owns = self.owns
        size = 0
        mids: list[int] = []
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
            if not before:
                self._since = time.monotonic()
                self._work.set()
            if len(queued) >= self.max_batch:
                self._full.set()
        return mids

    async def receive(self, client: ConfirmingClient) -> None:
        """Queue every message of ``client``'s session until the connection ends (raising
        :class:`aiomqtt.MqttError`, for :func:`careloop.mqtt.run_forever` to reconnect).

        ``client`` acknowledges by hand (:func:`careloop.mqtt.make_client`'s
        ``receive_maximum``): a message not yet queued when the connection drops was never
        acknowledged, so the broker delivers it to the next session instead of it being
        lost with this one; and while the inbox is full nothing is acknowledged, so the
        broker holds the rest back.
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
            self._waiting.clear()  # unacknowledged: the broker sends them again

    def _received(self, items: list[Received]) -> None:
        """One socket read's messages (event loop): queued and acknowledged, or held back."""
        if self._waiting or len(self._queued) >= MAX_QUEUED:
            self._waiting.extend(items)
            return
        mids = self.take(items)
        if self._stream is not None:
            self._stream.ack(mids)

    async def next_batch(self, max_delay: float) -> None:
        """Wait until something is queued and it is ``max_delay`` old, or the batch is full."""
        await self._work.wait()
        left = max_delay - (time.monotonic() - self._since)
        if left > 0 and not self._full.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), left)

    def drain(self) -> list[tuple[str, bytes]]:
        """Everything queued, in arrival order (and room for the receive task again)."""
        items, self._queued = self._queued, []
        self._work.clear()
        self._full.clear()
        if self._waiting and self._stream is not None:
            waiting, self._waiting = self._waiting, []
            self._stream.ack(self.take(waiting))
        return items
