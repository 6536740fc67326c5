"""Sensor adapters: the one small interface between a device's sensors and the agent.

An adapter yields :class:`SampleBatch` es — readings plus an opaque resume ``cursor`` — and
the agent stores each batch and its cursor in one transaction. After a crash the agent hands
the stored cursor back, so an adapter that can resume (a file, a simulator) neither skips nor
repeats a reading. Live sensors that cannot resume return ``None`` cursors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from careloop.logs import fields
from careloop.wire import CommandMessage
from edge.errors import AdapterError
from edge.speech import SpeechInput
from simulators import CareHome
from simulators.motion import activity_of, motion_window

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of one kind (``vitals``, ``event`` or ``utterance``).

    A voice device's utterance may come with ``speech`` (the recogniser's words with their
    timings, the audio, or both) for the agent to compute its features from on the device.
    """

    kind: str
    reading: dict[str, Any]
    speech: SpeechInput | None = None


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Readings produced together, and the position to resume after them."""

    samples: list[Sample]
    cursor: str | None = None


@dataclass
class SensorAdapter(ABC):
    """What a device's sensors look like to the agent."""

    device: str
    resident: str
    commands: list[CommandMessage] = field(default_factory=list, init=False, repr=False)

    @abstractmethod
    def batches(self, cursor: str | None) -> AsyncIterator[SampleBatch]:
        """Yield readings from ``cursor`` on (None: from the start or from now)."""

    async def handle_command(self, command: CommandMessage) -> None:
        """Act on a downlink command; the base class records it and logs its action."""
        self.commands.append(command)
        log.info("command", extra=fields(device=self.device, action=command.action, id=command.id))


class SimulatedAdapter(SensorAdapter):
    """Readings of one simulated resident's device, paced against the wall clock.

    ``speed`` is how many simulated seconds pass per wall second (``math.inf``: as fast as
    the outbox takes them). The cursor is the next simulation step, so a restarted agent
    continues exactly where the crashed one stopped. The ``tag`` role is the resident's worn
    tag: every 30 simulated seconds a synthetic ``motion`` window of what the terminal says
    the resident did meanwhile (:func:`simulators.motion.activity_of`).
    """

    def __init__(
        self,
        home: CareHome,
        index: int,
        role: Literal["terminal", "voice", "tag"],
        *,
        speed: float = 1.0,
        steps: int | None = None,
    ) -> None:
        profile = home.profiles[index]
        super().__init__(device=getattr(profile.devices, role), resident=profile.id)
        self.home = home
        self.index = index
        self.role = role
        self.speed = speed
        self.steps = steps
        #: The tag's current window: the terminal's postures, and whether a fall happened.
        self._postures: list[str | None] = []
        self._fell = False

    async def batches(self, cursor: str | None) -> AsyncIterator[SampleBatch]:
        step = int(cursor) if cursor else 0
        first, started = step, time.monotonic()
        interval = float(self.home.interval_s)
        while self.steps is None or step < self.steps:
            if math.isfinite(self.speed):
                due = started + (step - first) * interval / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif step % 50 == 0:
                await asyncio.sleep(0)  # let the publisher run while generating flat out
            emissions = self.home.resident_emissions(self.index, step)
            samples = (
                self._tag(emissions, step)
                if self.role == "tag"
                else [Sample(e.kind, e.reading) for e in emissions if e.device == self.device]
            )
            step += 1
            yield SampleBatch(samples, str(step))

    def _tag(self, emissions: list[Any], step: int) -> list[Sample]:
        """The tag's window when ``step`` ends one (every 30 simulated seconds), else []."""
        for e in emissions:
            if e.kind == "vitals":
                self._postures.append(e.reading.get("posture"))
            elif e.kind == "event" and e.reading["type"] == "fall_detected":
                self._fell = True
        per = max(1, round(30.0 / float(self.home.interval_s)))
        if (step + 1) % per:
            return []
        act = activity_of(self._postures, self._fell)
        self._postures, self._fell = [], False
        start, end = self.home.time_ms(step + 1 - per), self.home.time_ms(step + 1)
        window = motion_window(act, start, seconds=(end - start - 500) / 1000, seed=self.index)
        return [Sample("motion", window)]


class ReplayAdapter(SensorAdapter):
    """Readings from a JSON-lines file (``{"kind": ..., "reading": {...}}`` per line).

    For sensor daemons that write a file, and for tests. An utterance line may also carry
    ``words`` (``[{"text", "start", "end"}]``), ``audio`` (a WAV path, or ``{"path", "rate"}``
    for raw PCM; relative to the file's folder) and ``energy_db``: the speech input the agent
    computes features from (:class:`~edge.speech.SpeechInput`). The cursor is the byte offset after
    the last line taken; with ``follow`` the file is watched for new lines like ``tail -f``.
    """

    def __init__(
        self, device: str, resident: str, path: Path, *, follow: bool = False, batch: int = 50
    ) -> None:
        super().__init__(device=device, resident=resident)
        self.path = Path(path)
        self.follow = follow
        self.batch = batch

    async def batches(self, cursor: str | None) -> AsyncIterator[SampleBatch]:
        offset = int(cursor) if cursor else 0
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise AdapterError(self.device, f"cannot open {self.path}: {exc}") from exc
        with handle:
            handle.seek(offset)
            pending: list[Sample] = []
            while True:
                line = handle.readline()
                if line.endswith(b"\n"):
                    offset += len(line)
                    sample = self._parse(line, offset)
                    if sample is not None:
                        pending.append(sample)
                    if len(pending) < self.batch:
                        continue
                else:
                    handle.seek(offset)  # a partial last line: read it again once complete
                if pending:
                    yield SampleBatch(pending, str(offset))
                    pending = []
                    await asyncio.sleep(0)
                elif not self.follow:
                    return
                else:
                    await asyncio.sleep(0.2)

    def _parse(self, line: bytes, offset: int) -> Sample | None:
        """One line as a sample; a malformed line is logged and skipped, never fatal."""
        if not line.strip():
            return None
        try:
            item = json.loads(line)
            kind, reading = str(item["kind"]), dict(item["reading"])
            return Sample(kind, reading, SpeechInput.from_json(item, self.path.parent))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning(
                "skipping bad line",
                extra=fields(device=self.device, offset=offset, error=type(exc).__name__),
            )
            return None
