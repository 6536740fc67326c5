"""The edge agent: sensors -> durable outbox -> MQTT, losing nothing across any outage.

Two background loops live in a TaskGroup the agent owns:

* ``sample``: takes batches from the adapter, computes a voice device's speech features
  from its words or audio (:mod:`edge.speech`, in a worker thread), validates each reading
  against the wire contract (dropping utterance text unless the resident consented), and
  stores them with the adapter's cursor in the outbox.
* ``publish``: connected through :func:`careloop.mqtt.run_forever` (the one reconnect loop),
  it announces the device (retained ``online`` birth, ``offline`` last will), listens for
  ``cmd`` downlinks, and sends the outbox in order at QoS 1, deleting readings only after
  the broker's PUBACK. While behind it packs up to ``max_batch`` readings per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
from pydantic import ValidationError

from careloop.logs import fields
from careloop.mqtt import (
    NO_MATCHING_SUBSCRIBERS,
    Backoff,
    ConfirmingClient,
    make_client,
    payload_bytes,
    run_forever,
)
from careloop.settings import Settings
from careloop.wire import (
    READING_TYPES,
    CommandMessage,
    Topic,
    WireError,
    decode,
    encode,
    encode_stored,
    status_message,
)
from edge.adapters import Sample, SampleBatch, SensorAdapter
from edge.errors import AdapterError, EdgeError
from edge.outbox import Outbox, Row
from edge.questions import RepeatedQuestions
from edge.speech import BAD_INPUT, Absent, SpeechFeaturizer

log = logging.getLogger(__name__)

#: Seconds to wait before asking a failed adapter for readings again.
ADAPTER_RETRY_S = 5.0


@dataclass
class AgentStats:
    """Counters a test, a status page or a metrics exporter can read."""

    sampled: int = 0
    invalid: int = 0
    dropped: int = 0
    published: int = 0
    messages: int = 0
    unheard: int = 0
    connected: bool = False
    available: bool = True
    adapter_done: bool = False
    #: Utterances whose features were computed on the device (from words or audio).
    featurized: int = 0
    #: Features left out, by ``"feature:reason"`` (reasons: :data:`edge.speech.REASONS`).
    absent: dict[str, int] = field(default_factory=dict)


def _now_ms() -> int:
    return int(time.time() * 1000)


class EdgeAgent:
    """One device's agent. Use as ``async with EdgeAgent(settings, adapter) as agent: ...``.

    Entering opens the outbox and starts the loops; leaving publishes a clean ``offline``
    status, stops the loops and closes the outbox. An agent is entered once only.
    """

    def __init__(
        self,
        settings: Settings,
        adapter: SensorAdapter,
        *,
        outbox: Path | None = None,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        self.settings = settings
        self.adapter = adapter
        self.device = adapter.device
        self.resident = adapter.resident
        self.site = settings.site
        edge = settings.edge
        self.outbox_path = outbox or edge.outbox or (settings.paths.edge / f"{self.device}.sqlite3")
        self.stats = AgentStats()
        self.speech = SpeechFeaturizer(
            questions=RepeatedQuestions(
                window_s=edge.question_window_min * 60, similarity=edge.question_similarity
            )
        )
        self._clock = clock
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._outbox: Outbox | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._state = "new"

    # -- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> EdgeAgent:
        if self._state != "new":
            raise EdgeError(f"agent {self.device} was already started; make a new one")
        self._state = "running"
        edge = self.settings.edge
        self._outbox = await asyncio.to_thread(
            Outbox, self.outbox_path, max_rows=edge.max_rows, synchronous=edge.synchronous
        )
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._tasks = [
            self._tg.create_task(self._sample_loop(), name=f"{self.device}:sample"),
            self._tg.create_task(self._publish_loop(), name=f"{self.device}:publish"),
        ]
        return self

    def cancel(self) -> None:
        """Cancel the agent's loops now, without waiting (``__aexit__`` then only reaps them).

        A home of many agents cancels them all first: stopping them one by one would leave
        the rest generating readings on the event loop while each in turn is reaped.
        """
        for task in self._tasks:
            task.cancel()

    async def __aexit__(self, *exc_info: object) -> None:
        if self._state != "running":
            return
        self._state = "closed"
        self.cancel()
        assert self._tg is not None
        try:
            await self._tg.__aexit__(None, None, None)
        finally:
            if self._outbox is not None:
                self._outbox.close()

    @property
    def pending(self) -> int:
        """Readings in the outbox not yet acknowledged by the broker."""
        return len(self._outbox) if self._outbox is not None else 0

    async def wait_drained(self) -> None:
        """Return once the adapter has finished and every reading was acknowledged."""
        while not (self.stats.adapter_done and self.pending == 0):
            self._drained.clear()
            await self._drained.wait()

    # -- sampling --------------------------------------------------------------------------
    async def _sample_loop(self) -> None:
        assert self._outbox is not None
        while True:
            try:
                async for batch in self.adapter.batches(self._outbox.cursor):
                    await self._store(batch)
                self.stats.adapter_done = True
                self._drained.set()
                return
            except AdapterError as exc:
                if self.stats.available:
                    log.error(
                        "device unavailable", extra=fields(device=self.device, error=exc.reason)
                    )
                self.stats.available = False
                await asyncio.sleep(ADAPTER_RETRY_S)

    async def _store(self, batch: SampleBatch) -> None:
        assert self._outbox is not None
        samples = batch.samples
        if any(s.speech is not None for s in samples):
            samples = await asyncio.to_thread(self._featurize, samples)
        items = []
        for sample in samples:
            body = self._serialize(sample.kind, sample.reading)
            if body is not None:
                items.append((sample.kind, body))
        dropped = await asyncio.to_thread(self._outbox.put, items, batch.cursor)
        if not self.stats.available:
            log.info("device available again", extra=fields(device=self.device))
            self.stats.available = True
        self.stats.sampled += len(items)
        self.stats.dropped += dropped
        self._wake.set()

    def _featurize(self, samples: list[Sample]) -> list[Sample]:
        """Samples with their speech features computed; each absent feature logged (ids,
        feature and reason only) and counted."""
        out = []
        for sample in samples:
            if sample.speech is None:
                out.append(sample)
                continue
            try:
                reading, absent = self.speech.features(sample.reading, sample.speech)
            except Exception as exc:
                # A bug here must not stop the device: the reading goes without features.
                log.error(
                    "speech features failed",
                    extra=fields(device=self.device, error=type(exc).__name__),
                )
                reading, absent = sample.reading, [Absent("features", "error", type(exc).__name__)]
            self.stats.featurized += 1
            for a in absent:
                key = f"{a.feature}:{a.reason}"
                self.stats.absent[key] = self.stats.absent.get(key, 0) + 1
                level = logging.WARNING if a.reason in BAD_INPUT else logging.INFO
                log.log(
                    logging.DEBUG if a.reason == "not_given" else level,
                    "speech feature left out",
                    extra=fields(
                        device=self.device, feature=a.feature, reason=a.reason, detail=a.detail
                    ),
                )
            out.append(Sample(sample.kind, reading))
        return out

    def _serialize(self, kind: str, reading: dict[str, Any]) -> str | None:
        """Validate one reading; the compact JSON to store, or None (logged) if invalid."""
        if kind == "utterance" and not self.settings.edge.text_consent:
            reading = {k: v for k, v in reading.items() if k != "text"}
        model = READING_TYPES.get(kind)
        try:
            if model is None:
                raise WireError("kind", f"must be one of {', '.join(READING_TYPES)}", kind)
            return model.model_validate(reading).model_dump_json(exclude_none=True)
        except (ValidationError, WireError) as exc:
            self.stats.invalid += 1
            log.warning(
                "invalid reading skipped",
                extra=fields(device=self.device, kind=kind, error=str(exc)[:200]),
            )
            return None

    # -- publishing ------------------------------------------------------------------------
    def _status(self, state: str, reason: str, session: int) -> bytes:
        return encode(
            status_message(
                device=self.device,
                resident=self.resident,
                seq=session,
                ts=self._clock(),
                state=state,
                reason=reason,
            )
        )

    async def _publish_loop(self) -> None:
        assert self._outbox is not None
        mqtt = self.settings.mqtt
        backoff = Backoff(mqtt.backoff_initial, mqtt.backoff_max)
        status_topic = str(Topic(self.site, self.device, "status"))

        def connect() -> ConfirmingClient:
            assert self._outbox is not None
            self._session = self._outbox.next_session()
            will = aiomqtt.Will(
                status_topic, self._status("offline", "lost", self._session), qos=1, retain=True
            )
            return make_client(mqtt, self.device, will=will, persistent=True)

        def on_state(up: bool) -> None:
            self.stats.connected = up

        await run_forever(
            connect, self._session_body, name=self.device, backoff=backoff, on_state=on_state
        )

    async def _session_body(self, client: ConfirmingClient) -> None:
        status_topic = str(Topic(self.site, self.device, "status"))
        await client.publish(
            status_topic, self._status("online", "connected", self._session), qos=1, retain=True
        )
        await client.subscribe(str(Topic(self.site, self.device, "cmd")), qos=1)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._pump(client), name=f"{self.device}:pump")
                tg.create_task(self._commands(client), name=f"{self.device}:commands")
        except asyncio.CancelledError:
            # Leaving on purpose: say so, so nobody mistakes a shutdown for a lost device.
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await asyncio.wait_for(
                    client.publish(
                        status_topic,
                        self._status("offline", "shutdown", self._session),
                        qos=1,
                        retain=True,
                    ),
                    timeout=2.0,
                )
            raise

    async def _pump(self, client: ConfirmingClient) -> None:
        """Send the outbox in order; a reading leaves only once somebody received it.

        A PUBACK saying "no matching subscribers" means the broker dropped the message, so
        the readings stay and the message is retried with backoff until a subscriber
        (ingest) is back.
        """
        assert self._outbox is not None
        outbox = self._outbox
        unheard = Backoff(0.5, 5.0)
        while True:
            rows = await asyncio.to_thread(outbox.peek, self.settings.edge.max_batch)
            if not rows:
                self._drained.set()
                self._wake.clear()
                if len(outbox) == 0:
                    await self._wake.wait()
                continue
            topic = str(Topic(self.site, self.device, rows[0].kind))  # type: ignore[arg-type]  # kinds stored were validated
            reason = await client.publish_confirmed(topic, self._message(rows), qos=1)
            if reason == NO_MATCHING_SUBSCRIBERS:
                if unheard.attempt == 0:
                    log.warning(
                        "nobody subscribed, keeping readings",
                        extra=fields(device=self.device, pending=len(outbox)),
                    )
                self.stats.unheard += 1
                await asyncio.sleep(unheard.next_delay())
                continue
            unheard.reset()
            await asyncio.to_thread(outbox.ack, rows)
            self.stats.published += len(rows)
            self.stats.messages += 1

    def _message(self, rows: list[Row]) -> bytes:
        """The message carrying ``rows`` (stored as validated JSON; the wire contract builds
        the envelope around them).

        ``seq`` is the last row id: ids only grow, so it increases message to message (a
        redelivered batch may repeat or extend it; receivers treat repeats as duplicates).
        """
        return encode_stored(
            device=self.device,
            resident=self.resident,
            seq=rows[-1].id,
            ts=self._clock(),
            readings=[r.body for r in rows],
        )

    async def _commands(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            try:
                _, command = decode(message.topic.value, payload_bytes(message))
            except WireError as exc:
                log.warning(
                    "bad command ignored", extra=fields(device=self.device, reason=exc.reason)
                )
                continue
            if isinstance(command, CommandMessage):
                await self.adapter.handle_command(command)
