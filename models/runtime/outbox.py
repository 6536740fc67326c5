"""The scorer's need outbox: needs raised but not yet acknowledged by the broker.

The engine thread adds needs (:meth:`NeedOutbox.extend`), the MQTT session publishes them in
order at QoS 1 and drops each only after its PUBACK (:meth:`NeedOutbox.first` /
:meth:`NeedOutbox.acked`). The file beside the snapshot holds every need not yet known to be
published: :meth:`NeedOutbox.extend` appends a batch's needs to it (one write and fsync)
before returning, so once the scorer acknowledges the messages that raised them (only after
that) a kill -9 or a crash cannot lose them; the snapshot rewrites it with what is left
(:meth:`NeedOutbox.save`). After a restart the file's needs are published again: one that
was already published has the same id, and the alert service handles a repeated need once.
Adding happens on the engine thread, not in whoever awaited the scoring: a cancelled await
(shutdown) cannot drop needs, and a snapshot (also on that thread) sees exactly the needs its
state raised but the broker has not acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
from collections import deque
from pathlib import Path

from pydantic import ValidationError

from careloop.files import open_private, write_private
from careloop.logs import fields
from careloop.mqtt import ConfirmingClient
from careloop.wire.needs import NeedMessage, NeedTopic, encode_need
from models.runtime.metrics import ScoreMetrics

log = logging.getLogger(__name__)

#: Needs kept while the broker is away; beyond this the oldest are dropped (and counted).
MAX_OUTBOX = 100_000


class NeedOutbox:
    """Thread-safe FIFO of needs with a wake-up for the publisher and a file beside it."""

    def __init__(self, path: Path, metrics: ScoreMetrics, counts: dict[str, int]) -> None:
        self.path = path
        self.metrics = metrics
        self.counts = counts
        self._needs: deque[NeedMessage] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        #: Set while nothing waits for a PUBACK (a clean stop waits for it).
        self.empty = asyncio.Event()
        self.empty.set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the publisher runs on (woken from the engine thread)."""
        self._loop = loop

    def __len__(self) -> int:
        with self._lock:
            return len(self._needs)

    # -- engine thread --------------------------------------------------------------------
    def extend(self, needs: list[NeedMessage]) -> bool:
        """Queue ``needs`` for publishing and wake the publisher; whether they are on disk
        (the messages that raised them may be acknowledged only then).

        The log line says what kind of need a site has, never whose: need ids name the
        resident, and a resident beside a need kind is a health fact about a person.
        """
        if not needs:
            return True
        durable = self._append(needs)
        with self._lock:
            self._needs.extend(needs)
            while len(self._needs) > MAX_OUTBOX:
                self._needs.popleft()
                self.counts["needs_dropped"] += 1
            size = len(self._needs)
        self.counts["needs_raised"] += len(needs)
        self.metrics.outbox.set(size)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake)
        for need in needs:
            log.info(
                "need",
                extra=fields(
                    site=need.site, kind=need.kind, tier=need.tier, state=need.state,
                ),
            )  # fmt: skip
        return durable

    def _append(self, needs: list[NeedMessage]) -> bool:
        """Add ``needs`` to the file, on disk before this returns (engine thread, as
        :meth:`save`, so the two never interleave). A disk that fails is logged, not
        raised: the needs are still published, but not acknowledged as safe."""
        try:
            with open_private(self.path) as out:
                out.write("".join(n.model_dump_json() + "\n" for n in needs).encode())
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            log.error("need outbox file not written", extra=fields(error=exc.strerror))
            self.metrics.outbox_disk.set(0)
            self.metrics.outbox_disk_errors.inc()
            return False
        self.metrics.outbox_disk.set(1)
        return True

    def forget(self, site: str, resident: str) -> None:
        """Drop a resident's needs (erasure; the caller then rewrites the file by
        :meth:`save`, as the snapshot after an erase does)."""
        with self._lock:
            kept = [n for n in self._needs if (n.site, n.resident) != (site, resident)]
            self._needs.clear()
            self._needs.extend(kept)

    def load(self) -> None:
        """Needs a previous run raised and had not seen PUBACKed (some may have been)."""
        if not self.path.exists():
            return
        needs = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                needs.append(NeedMessage.model_validate_json(line))
            except ValidationError:
                self.counts["needs_dropped"] += 1
        with self._lock:
            self._needs.extend(needs)

    def save(self) -> None:
        """Write what waits for a PUBACK (atomically, owner-readable only)."""
        with self._lock:
            pending = list(self._needs)
        write_private(self.path, "".join(n.model_dump_json() + "\n" for n in pending).encode())

    # -- event loop -----------------------------------------------------------------------
    def _wake(self) -> None:
        self.empty.clear()
        self._ready.set()

    def first(self) -> NeedMessage | None:
        with self._lock:
            return self._needs[0] if self._needs else None

    def acked(self, need: NeedMessage) -> None:
        """``need`` (the first) was PUBACKed: drop it."""
        with self._lock:
            if self._needs and self._needs[0] is need:
                self._needs.popleft()
            left = len(self._needs)
        self.counts["needs_published"] += 1
        self.metrics.needs.labels(need.kind, need.tier).inc()
        self.metrics.outbox.set(left)

    async def wait(self) -> None:
        """Return once there is something to publish (sets ``empty`` while there is not)."""
        while True:
            self._ready.clear()
            with self._lock:
                if self._needs:
                    return
            self.empty.set()
            await self._ready.wait()

    async def publish(self, client: ConfirmingClient) -> None:
        """Send the needs in order for as long as ``client``'s session lasts; a need leaves
        the outbox only after its PUBACK (a reconnect sends it again).

        The PUBACK is waited for without a time limit: behind a flood of readings in the
        same socket it can take long on a busy machine, and giving up ended a healthy
        session (and re-sent every message in flight). A dead connection is noticed by the
        keepalive and the receive task, whose error ends the session and this wait.
        """
        while True:
            await self.wait()
            while (need := self.first()) is not None:
                topic = str(NeedTopic(need.site, need.resident))
                await client.publish(topic, encode_need(need), qos=1, timeout=math.inf)
                self.acked(need)
