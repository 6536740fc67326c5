"""The readings every benchmark phase moves: seeded, valid per the wire contract, all distinct.

A workload is a grid of ``devices`` vitals terminals x steps. Reading ``(step, device)`` has
the timestamp ``start_ms + step * devices + device``: every reading in a run has its own
millisecond, so a point InfluxDB holds twice (or under a wrong timestamp) shows up as an extra
point in ``count()``, and ``sum(steps)`` is a checksum a lost-and-duplicated pair cannot
hide behind.

The same readings come out three ways: MQTT messages of one reading, messages of ``k``
readings (``k`` consecutive steps of one device), and the line protocol ingest would write for
them (for the InfluxDB ceiling). Payloads are formatted with f-strings like
:class:`simulators.fleet.Fleet` (pydantic would be slower than the consumers being measured);
``tests/bench`` checks that :func:`careloop.wire.decode` accepts them and that
:class:`ingest.Decoder` makes exactly the lines :meth:`Workload.lines` makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from careloop.wire import POSTURES, Topic, check_id
from ingest.lineproto import head

#: 2026-01-01T00:00:00Z; far from "now" so nothing else in a database is confused with it.
DEFAULT_START_MS = 1_767_225_600_000


@dataclass(frozen=True, slots=True)
class Expected:
    """What InfluxDB must hold after a phase: this many points, their ``steps`` summing so."""

    readings: int
    steps_sum: int


@dataclass(frozen=True, slots=True)
class _Row:
    """One step's values for every device (plain lists: cheap to format)."""

    heart_rate: list[float]
    spo2: list[float]
    respiration_rate: list[float]
    steps: list[int]
    posture: list[str]


class Workload:
    """``devices`` terminals at ``site``; values are a pure function of (seed, step, device)."""

    def __init__(
        self, devices: int, *, seed: int, site: str, start_ms: int = DEFAULT_START_MS
    ) -> None:
        if devices < 1:
            raise ValueError("a workload needs at least one device")
        check_id(site, "site")
        self.n_devices = devices
        self.seed = seed
        self.site = site
        self.start_ms = start_ms
        width = max(5, len(str(devices - 1)))
        self.residents = [f"b{i:0{width}d}" for i in range(devices)]
        self.devices = [f"term-{r}" for r in self.residents]
        self.topics = [str(Topic(site, d, "vitals")).encode() for d in self.devices]
        self._heads = [
            f'{{"v":1,"device":"{d}","resident":"{r}","seq":'
            for d, r in zip(self.devices, self.residents, strict=True)
        ]
        self._line_heads = [
            head("vitals", site, r, d) for d, r in zip(self.devices, self.residents, strict=True)
        ]

    def ts(self, step: int, device: int) -> int:
        """The timestamp of reading ``(step, device)``; unique within the workload."""
        return self.start_ms + step * self.n_devices + device

    def _row(self, step: int) -> _Row:
        rng = np.random.default_rng([self.seed & (2**63 - 1), step])
        n = self.n_devices
        walking = rng.random(n) < 0.08
        # Values stay well inside the contract's ranges, so ingest's shortcut decoder takes
        # every message (the common case being measured), and floats always carry a decimal
        # point, so a naive bridge infers the same field types ingest writes.
        hr = np.round(rng.uniform(58.0, 95.0, n) + np.where(walking, 18.0, 0.0), 1)
        spo2 = np.rint(rng.uniform(94.0, 99.0, n))
        rr = np.round(rng.uniform(12.5, 18.5, n) + np.where(walking, 4.0, 0.0), 1)
        steps = rng.integers(0, 200, n)
        return _Row(
            hr.tolist(),
            spo2.tolist(),
            rr.tolist(),
            steps.tolist(),
            [POSTURES[3] if w else POSTURES[1] for w in walking.tolist()],
        )

    # -- what a phase publishes ---------------------------------------------------------------

    def messages(self, per_message: int, count: int) -> Iterator[tuple[bytes, bytes]]:
        """The first ``count`` messages of ``per_message`` readings: ``(topic, payload)``.

        Round ``k`` sends one message per device carrying steps ``k*per_message`` onwards; a
        device's ``seq`` is its round number.
        """
        if per_message < 1:
            raise ValueError("per_message must be at least 1")
        sent = 0
        rnd = 0
        while sent < count:
            first = rnd * per_message
            rows = [self._row(first + j) for j in range(per_message)]
            for d in range(min(self.n_devices, count - sent)):
                readings = ",".join(
                    f'{{"ts":{self.ts(first + j, d)},"heart_rate":{row.heart_rate[d]},'
                    f'"spo2":{row.spo2[d]},"respiration_rate":{row.respiration_rate[d]},'
                    f'"steps":{row.steps[d]},"posture":"{row.posture[d]}"}}'
                    for j, row in enumerate(rows)
                )
                body = f'{self._heads[d]}{rnd},"ts":{self.ts(first, d)},"readings":[{readings}]}}'
                yield self.topics[d], body.encode()
            sent += min(self.n_devices, count - sent)
            rnd += 1

    def rounds(self, count: int) -> list[int]:
        """How many devices send in each round of :meth:`messages` ``(k, count)``."""
        full, rest = divmod(count, self.n_devices)
        return [self.n_devices] * full + ([rest] if rest else [])

    def expected(self, per_message: int, count: int) -> Expected:
        """What :meth:`messages` with the same arguments puts in InfluxDB."""
        total = 0
        for rnd, take in enumerate(self.rounds(count)):
            for j in range(per_message):
                total += sum(self._row(rnd * per_message + j).steps[:take])
        return Expected(count * per_message, total)

    def last_message(self, per_message: int, count: int) -> tuple[str, int]:
        """``(device, ts of its first reading)`` of the last message of :meth:`messages`.

        A consumer that keeps the broker's order writes it last, so polling for its
        ``per_message`` points is a cheap "probably complete" test before a full count.
        """
        rounds = self.rounds(count)
        if not rounds:
            raise ValueError("count must be at least 1")
        last = len(rounds) - 1
        device = rounds[-1] - 1
        return self.devices[device], self.ts(last * per_message, device)

    # -- what the InfluxDB ceiling writes -----------------------------------------------------

    def lines(self, count: int) -> Iterator[str]:
        """Line protocol of the first ``count`` readings, step by step: exactly what ingest
        writes for :meth:`messages` ``(1, count)`` (same series, fields, order and time)."""
        sent = 0
        step = 0
        while sent < count:
            row = self._row(step)
            for d in range(min(self.n_devices, count - sent)):
                yield (
                    f"{self._line_heads[d]} heart_rate={row.heart_rate[d]!r},"
                    f"spo2={row.spo2[d]!r},respiration_rate={row.respiration_rate[d]!r},"
                    f'steps={row.steps[d]}i,posture="{row.posture[d]}" {self.ts(step, d)}'
                )
            sent += min(self.n_devices, count - sent)
            step += 1

    def bodies(self, count: int, batch: int) -> list[bytes]:
        """:meth:`lines` as ``/write`` bodies of ``batch`` lines each, built up front."""
        out: list[bytes] = []
        chunk: list[str] = []
        for line in self.lines(count):
            chunk.append(line)
            if len(chunk) == batch:
                out.append("\n".join(chunk).encode())
                chunk = []
        if chunk:
            out.append("\n".join(chunk).encode())
        return out
