"""The scorer's inbox: MQTT messages of the sites it owns, queued until scored in a batch.

The receive task (event loop) puts raw ``(topic, payload)`` pairs in; the scorer task takes
them out as one batch every ``max_delay`` seconds, or sooner once ``max_batch`` are
waiting. Messages of sites another partition owns are dropped before anything is decoded
(a topic split). A message is acknowledged to the broker only once it is queued here, and
the receive task pauses at ``MAX_QUEUED`` (acknowledging nothing, so the broker holds the
rest back) while the engine catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from careloop.mqtt import ConfirmingClient, payload_bytes
from careloop.wire.control import CONTROL_PREFIX
from models.runtime.config import site_partition
from models.runtime.metrics import ScoreMetrics

#: Unacknowledged messages the broker may have on their way to the scorer (MQTT v5 Receive
#: Maximum; each is acknowledged once in the inbox). It bounds how far behind a flood of
#: readings the PUBACK of a need the scorer publishes can be: with paho's automatic
#: acknowledgements the broker kept tens of thousands in flight and, on a loaded machine, a
#: PUBACK took longer than ``mqtt.publish_timeout`` to be read, ending the session.
RECEIVE_MAXIMUM = 256
#: Queued messages at which the receive task waits for the scorer (bounds memory).
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
        self._room = asyncio.Event()
        self._room.set()
        self._owned: dict[str, bool] = {}

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

    def take(self, message: Any) -> None:
        """Queue one received message (or count it skipped: another partition's)."""
        topic = message.topic.value
        payload = payload_bytes(message)
        self.metrics.received_bytes.inc(len(topic) + len(payload))
        if not self.owns(topic):
            self.counts["skipped"] += 1
            self.metrics.skipped.inc()
            return
        if not self._queued:
            self._since = time.monotonic()
            self._work.set()
        self._queued.append((topic, payload))
        self.counts["received"] += 1
        self.metrics.received.inc()
        if len(self._queued) >= self.max_batch:
            self._full.set()

    async def receive(self, client: ConfirmingClient) -> None:
        """Queue every message of ``client``'s session, acknowledging each once it is queued,
        and pause while the inbox is full.

        ``client`` acknowledges by hand (:func:`careloop.mqtt.make_client`'s
        ``receive_maximum``): a message still in its queue when the connection drops was
        never acknowledged, so the broker delivers it to the next session instead of it
        being lost with this one; and while the inbox is full nothing is acknowledged, so
        the broker holds the rest back.
        """
        async for message in client.messages:
            client.check_connected()  # else the broker delivers it again: no double count
            self.take(message)
            client.ack(message)
            if len(self._queued) >= MAX_QUEUED:
                self._room.clear()
                await self._room.wait()

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
        self._room.set()
        return items
