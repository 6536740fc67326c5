"""A simulated care home: residents, their devices, scenarios, and what every device sends.

Every emission at step ``k`` is a pure function of (seed, profiles, scenario list, k): there
is no state carried between steps, so an edge agent can resume from a cursor after a crash,
two runs with the same seed are identical, and a batch of steps or a single resident can be
computed alone with bit-identical results. Vitals are sent at device-like cadences: heart
rate, SpO2, breathing, posture, activity, steps, bed and room motion every step; temperature
and consciousness every 5 minutes; blood pressure and supplemental oxygen every 10 minutes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from careloop.wire import POSTURES, Topic
from simulators.effects import effects_for
from simulators.episodes import Assignment, Episode, default_assignments, resolve
from simulators.events import Hit, events
from simulators.grid import DAY_MS, Cohort, Grid
from simulators.labels import Label
from simulators.physiology import vitals
from simulators.profiles import ResidentProfile, make_profiles
from simulators.routine import routine
from simulators.speech import utterances

EmissionKind = Literal["vitals", "event", "utterance"]

#: 2026-01-05 00:00 UTC, a Monday; simulated local time is UTC.
DEFAULT_START_MS = 1_767_571_200_000
TEMPERATURE_EVERY_S = 300.0
BP_EVERY_S = 600.0
#: Steps computed together by :meth:`CareHome.iter_emissions`.
BATCH_STEPS = 256


@dataclass(frozen=True, slots=True)
class Emission:
    """One reading from one device: what the device would put in a data message."""

    device: str
    resident: str
    kind: EmissionKind
    reading: dict[str, Any]

    def topic(self, site: str) -> Topic:
        """The MQTT topic this reading is published on."""
        return Topic(site, self.device, self.kind)


class CareHome:
    """``n_residents`` simulated residents of one site, stepping every ``interval_s`` seconds.

    ``scenarios`` is ``"default"`` (a seeded schedule over ``horizon_days``, see
    :func:`~simulators.episodes.default_assignments`), ``"none"``, or a list of
    :class:`~simulators.episodes.Assignment` / :class:`~simulators.labels.Label` items.
    """

    def __init__(
        self,
        n_residents: int,
        *,
        seed: int,
        site: str = "demo-home",
        start_ms: int = DEFAULT_START_MS,
        interval_s: float = 10.0,
        scenarios: Literal["default", "none"] | Sequence[Assignment | Label] = "default",
        horizon_days: int = 7,
    ) -> None:
        if n_residents < 1:
            raise ValueError("a home needs at least one resident")
        if not 1.0 <= interval_s <= 3600.0:
            raise ValueError("interval_s must be between 1 and 3600 seconds")
        self.seed = seed
        self.site = site
        self.start_ms = int(start_ms)
        self.interval_s = interval_s
        self.interval_ms = round(interval_s * 1000)
        self.profiles: list[ResidentProfile] = make_profiles(n_residents, seed=seed, site=site)
        self.first_day_ms = self.start_ms - self.start_ms % DAY_MS
        if scenarios == "default":
            assignments: Sequence[Assignment | Label] = default_assignments(
                self.profiles, seed=seed, horizon_days=horizon_days
            )
        elif scenarios == "none":
            assignments = []
        elif isinstance(scenarios, str):
            raise ValueError('scenarios must be "default", "none" or a list')
        else:
            assignments = scenarios
        self.episodes: list[Episode] = [self._resolve(a) for a in assignments]
        self.labels: list[Label] = [ep.label for ep in self.episodes]
        self._cohort = Cohort.build(self.profiles, seed=seed)
        self._single: dict[int, Cohort] = {}

    def _resolve(self, item: Assignment | Label) -> Episode:
        if isinstance(item, Label):
            day = (item.start - self.first_day_ms) // DAY_MS
            item = Assignment(item.resident, item.scenario, int(day), item.start, item.end)
        return resolve(item, self.profiles, seed=self.seed, first_day_ms=self.first_day_ms)

    def time_ms(self, step: int) -> int:
        """Simulated time of ``step`` (Unix epoch ms)."""
        return self.start_ms + step * self.interval_ms

    def step_at(self, ts_ms: int) -> int:
        """The step whose interval contains ``ts_ms`` (for resuming from a time cursor)."""
        return (ts_ms - self.start_ms) // self.interval_ms

    def emissions(self, step: int) -> list[Emission]:
        """Everything every device sends at ``step``, resident by resident."""
        return self._compute([step], self._cohort)[0]

    def resident_emissions(self, index: int, step: int) -> list[Emission]:
        """What resident ``index``'s devices send at ``step`` (the same values as
        :meth:`emissions`, computed for this resident alone)."""
        cohort = self._single.get(index)
        if cohort is None:
            if not 0 <= index < len(self.profiles):
                raise IndexError(f"no resident at index {index}")
            cohort = self._single[index] = self._cohort.take([index])
        return self._compute([step], cohort)[0]

    def iter_emissions(self, start: int, stop: int) -> Iterator[tuple[int, list[Emission]]]:
        """``(step, emissions(step))`` for ``start <= step < stop``, computed in batches."""
        for lo in range(start, stop, BATCH_STEPS):
            steps = list(range(lo, min(lo + BATCH_STEPS, stop)))
            yield from zip(steps, self._compute(steps, self._cohort), strict=True)

    def _compute(self, steps: Sequence[int], cohort: Cohort) -> list[list[Emission]]:
        grid = Grid.build(steps, start_ms=self.start_ms, dt_ms=self.interval_ms, cohort=cohort)
        fx = effects_for(grid, self.episodes)
        rt = routine(grid, fx)
        vs = vitals(grid, rt, fx)
        hits_event = events(grid, rt, fx)
        hits_speech = utterances(grid, rt, fx)

        temp_every = max(1, round(TEMPERATURE_EVERY_S * 1000 / self.interval_ms))
        bp_every = max(1, round(BP_EVERY_S * 1000 / self.interval_ms))
        cols = [
            vs.heart_rate.tolist(),
            vs.spo2.tolist(),
            vs.respiration_rate.tolist(),
            rt.posture.tolist(),
            rt.activity.round(1).tolist(),
            rt.steps.tolist(),
            rt.bed.tolist(),
            rt.motion.tolist(),
        ]
        temp, sys_bp, dia_bp = (
            vs.temperature.tolist(),
            vs.systolic_bp.tolist(),
            vs.diastolic_bp.tolist(),
        )
        confused = vs.confused.tolist()
        extra_event = _by_cell(hits_event)
        extra_speech = _by_cell(hits_speech)
        index = cohort.index.tolist()
        out: list[list[Emission]] = []
        for k, step in enumerate(steps):
            ts = self.time_ms(step)
            row: list[Emission] = []
            hr, spo2, rr, posture, act, stp, bed, motion = (c[k] for c in cols)
            for r, profile in enumerate(cohort.profiles):
                reading: dict[str, Any] = {
                    "ts": ts,
                    "heart_rate": hr[r],
                    "spo2": spo2[r],
                    "respiration_rate": rr[r],
                    "posture": POSTURES[posture[r]],
                    "activity": act[r],
                    "steps": stp[r],
                    "bed_occupied": bed[r],
                    "room_motion": motion[r],
                }
                phase = step + 7 * index[r]
                if phase % temp_every == 0:
                    reading["temperature"] = temp[k][r]
                    reading["consciousness"] = "C" if confused[k][r] else "A"
                if phase % bp_every == 0:
                    reading["systolic_bp"] = sys_bp[k][r]
                    reading["diastolic_bp"] = dia_bp[k][r]
                    reading["supplemental_oxygen"] = False
                terminal, voice, rid = profile.devices.terminal, profile.devices.voice, profile.id
                row.append(Emission(terminal, rid, "vitals", reading))
                for ev in extra_event.get((k, r), ()):
                    row.append(Emission(terminal, rid, "event", ev))
                for ut in extra_speech.get((k, r), ()):
                    row.append(Emission(voice, rid, "utterance", ut))
            out.append(row)
        return out


def _by_cell(hits: list[Hit]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """Group hits by grid cell, each cell's readings in time order."""
    cells: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for k, r, reading in hits:
        cells.setdefault((k, r), []).append(reading)
    for readings in cells.values():
        readings.sort(key=lambda x: x["ts"])
    return cells
