"""What the scorer does with a batch of MQTT messages, on its engine thread.

Each message is decoded with the wire contract (plain vitals messages through its checked
shortcut, :mod:`models.runtime.fastvitals`), **checked against the device registry** (a
device speaks only for the resident it is registered to, at its own site: the same check
ingest makes, so a provisioned terminal can neither open nor clear another resident's
needs, nor invent residents), refused if it or any of its readings is stamped too far
ahead of this clock (the envelope's ``ts`` is the device's send time, a reading's is its
sensor's: either can be fast), and scored.
Consecutive vitals become one VitalsBatch; an event, utterance, motion window or status of
a resident with vitals waiting first flushes them, so a fall event and that resident's
readings after it are seen in arrival order. Another resident's event does not: residents are scored
independently, and a stream where events of many residents are interleaved with vitals
would otherwise be cut into batches of a few readings each, every one paying the whole
vectorised step (a flood of small events could slow the scorer tenfold).
A motion window (a worn tag's raw samples) goes to the resident's posture tracker first
(a fall candidate opens the fall there, :mod:`models.runtime.motion`); the posture it gives
joins the vitals batch like a terminal's ``posture``, so it is scored after that fall.
Bad messages are counted by reason and warned about at most every ``WARN_EVERY_S`` (topic
and reason only, never the payload).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from careloop.logs import fields
from careloop.wire import (
    EventMessage,
    MotionMessage,
    StatusMessage,
    UtteranceMessage,
    VitalsMessage,
    WireError,
    decode,
)
from careloop.wire.control import CONTROL_PREFIX
from careloop.wire.needs import NeedMessage
from models.runtime.columns import encode_readings
from models.runtime.engine import ScoringEngine
from models.runtime.fastvitals import FastVitals
from models.runtime.metrics import ScoreMetrics
from people import DeviceRegistry

log = logging.getLogger(__name__)

#: At most one "bad message" warning per this many seconds (the rest are counted).
WARN_EVERY_S = 10.0
#: Seconds between registry re-reads in steady state (a miss re-reads at once).
REGISTRY_REFRESH_S = 5.0

_SCORED = (VitalsMessage, EventMessage, UtteranceMessage, MotionMessage, StatusMessage)


class Intake:
    """Decode, check and score queued messages (engine thread only)."""

    def __init__(
        self,
        engine: ScoringEngine,
        registry: DeviceRegistry,
        metrics: ScoreMetrics,
        counts: dict[str, int],
        *,
        max_batch_readings: int,
        max_clock_skew_s: float,
        on_erase: Callable[[str, bytes], None],
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.metrics = metrics
        self.counts = counts
        self.limit = max_batch_readings
        self.skew_ms = max_clock_skew_s * 1000.0
        self.on_erase = on_erase
        #: The latest reading time seen, and when (monotonic) it arrived.
        self.latest_ts = engine.now
        self.latest_at = time.monotonic()
        self._last_warn = 0.0
        self._suppressed = 0
        #: The shortcut for plain vitals messages (the contract decides everything else).
        self.fast = FastVitals()

    def score(self, items: list[tuple[str, bytes]]) -> list[NeedMessage]:
        """Score ``(topic, payload)`` messages in arrival order; the needs they raised."""
        engine = self.engine
        started = time.perf_counter()
        out: list[NeedMessage] = []
        slots: list[int] = []
        vitals: list[Mapping[str, Any]] = []
        waiting: set[int] = set()  # slots with vitals in ``vitals``
        scored = {"vitals": 0, "event": 0, "utterance": 0, "motion": 0, "status": 0}

        def flush() -> None:
            if vitals:
                out.extend(engine.score_vitals(encode_readings(slots, vitals)))
                slots.clear()
                vitals.clear()
                waiting.clear()

        for topic, payload in items:
            if topic.startswith(CONTROL_PREFIX):
                flush()
                self.on_erase(topic, payload)
                continue
            plain = self.fast.decode(topic, payload)
            msg: Any = None
            if plain is not None:  # the common case: plain vitals, checked without pydantic
                parsed, obj = plain
                resident, ts, readings = obj["resident"], obj["ts"], obj["readings"]
            else:
                try:
                    parsed, msg = decode(topic, payload)
                except WireError as exc:
                    self.rejected(topic, exc.reason)
                    continue
                if not isinstance(msg, _SCORED):
                    continue  # a downlink command: not subscribed to, never scored
                resident, ts, readings = msg.resident, msg.ts, None
            self.registry.refresh_every(REGISTRY_REFRESH_S)
            verdict = self.registry.check(parsed.device, parsed.site, resident)
            if verdict != "ok":
                self.rejected(topic, verdict)
                continue
            kind = parsed.kind
            if isinstance(msg, StatusMessage):
                slot = engine.slot(parsed.site, resident)
                if slot in waiting:
                    flush()
                engine.device_status(slot, ts, msg.state, msg.reason)
                scored["status"] += 1
                continue
            if readings is None:  # as the engine takes them: dicts, as on the wire
                readings = (
                    [dict(r) for r in msg.readings]
                    if kind in ("vitals", "motion")  # motion: no copy of the samples
                    else [r.model_dump(exclude_none=True) for r in msg.readings]
                )
            if self.skew_ms > 0 and self._too_far_ahead(ts, readings):
                self.rejected(topic, "too_far_ahead:ts")
                continue
            slot = engine.slot(parsed.site, resident)
            latest = ts
            if kind == "vitals":
                for reading in readings:
                    slots.append(slot)
                    vitals.append(reading)
                    if reading["ts"] > latest:
                        latest = reading["ts"]
                waiting.add(slot)
                if len(vitals) >= self.limit:
                    flush()
            elif kind == "motion":
                for window in readings:
                    if slot in waiting:  # this resident's postures before a fall it may open
                        flush()
                    needs, posture = engine.score_motion(slot, parsed.device, window)
                    out.extend(needs)
                    if posture is not None:
                        slots.append(slot)
                        vitals.append(posture)
                        waiting.add(slot)
                    latest = max(latest, window["ts"])
            else:
                if slot in waiting:
                    flush()
                score = engine.score_event if kind == "event" else engine.score_utterance
                for reading in readings:
                    out.extend(score(slot, reading))
                    latest = max(latest, reading["ts"])
            scored[kind] += len(readings)
            if latest > self.latest_ts:
                self.latest_ts = latest
                self.latest_at = time.monotonic()
        flush()
        for name, n in scored.items():
            if n:
                self.metrics.scored.labels(name).inc(n)
        self.counts["readings"] += sum(n for name, n in scored.items() if name != "status")
        self.metrics.residents.set(len(engine.directory))
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        return out

    def _too_far_ahead(self, ts: int, readings: list[dict[str, Any]]) -> bool:
        """Whether a message (its ``ts``) or one of its readings is stamped more than the
        allowed skew ahead of this clock: the engine runs on the latest reading time, so one
        fast sensor would otherwise make every other resident look silent."""
        limit = time.time() * 1000.0 + self.skew_ms
        return ts > limit or any(r["ts"] > limit for r in readings)

    def reading_now(self) -> int:
        """The engine's idea of now: latest reading time + wall time since it arrived (ms)."""
        if self.latest_ts <= 0:
            return 0
        return self.latest_ts + int((time.monotonic() - self.latest_at) * 1000)

    def rejected(self, topic: str, reason: str) -> None:
        """Count a bad message; warn at most every WARN_EVERY_S (topic ids, never payload)."""
        self.counts["rejected"] += 1
        self.metrics.rejected.labels(reason).inc()
        now = time.monotonic()
        if now - self._last_warn < WARN_EVERY_S:
            self._suppressed += 1
            return
        log.warning(
            "bad message skipped",
            extra=fields(topic=topic[:200], reason=reason, since_last=self._suppressed),
        )
        self._last_warn = now
        self._suppressed = 0
