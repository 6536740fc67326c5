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

import numpy as np
from numpy.typing import NDArray

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

    def arrays(self, start: int, stop: int) -> StepArrays:
        """Steps ``start <= step < stop`` for every resident as arrays, not dicts.

        The same values :meth:`emissions` sends (a test checks them cell by cell), for
        consumers that score thousands of residents at once (evaluation, benchmarks).
        """
        return self._arrays(list(range(start, stop)), self._cohort)

    def _arrays(self, steps: Sequence[int], cohort: Cohort) -> StepArrays:
        grid = Grid.build(steps, start_ms=self.start_ms, dt_ms=self.interval_ms, cohort=cohort)
        fx = effects_for(grid, self.episodes)
        rt = routine(grid, fx)
        vs = vitals(grid, rt, fx)
        temp_every = max(1, round(TEMPERATURE_EVERY_S * 1000 / self.interval_ms))
        bp_every = max(1, round(BP_EVERY_S * 1000 / self.interval_ms))
        phase = np.asarray(steps, dtype=np.int64)[:, None] + 7 * cohort.index.reshape(1, -1)
        temp_due = phase % temp_every == 0
        bp_due = phase % bp_every == 0
        nan = np.nan
        fields: dict[str, NDArray[np.float64]] = {
            "heart_rate": vs.heart_rate,
            "spo2": vs.spo2,
            "respiration_rate": vs.respiration_rate,
            "posture": rt.posture.astype(np.float64),
            "activity": rt.activity.round(1),
            "steps": rt.steps.astype(np.float64),
            "bed_occupied": rt.bed.astype(np.float64),
            "room_motion": rt.motion.astype(np.float64),
            "temperature": np.where(temp_due, vs.temperature, nan),
            "consciousness": np.where(temp_due, np.where(vs.confused, 1.0, 0.0), nan),
            "systolic_bp": np.where(bp_due, vs.systolic_bp, nan),
            "diastolic_bp": np.where(bp_due, vs.diastolic_bp, nan),
            "supplemental_oxygen": np.where(bp_due, 0.0, nan),
        }
        ts = np.array([self.time_ms(step) for step in steps], dtype=np.int64)
        return StepArrays(
            ts=ts,
            fields=fields,
            events=events(grid, rt, fx),
            utterances=utterances(grid, rt, fx),
        )

    def _compute(self, steps: Sequence[int], cohort: Cohort) -> list[list[Emission]]:
        arrays = self._arrays(steps, cohort)
        f = arrays.fields
        cols = {name: f[name].tolist() for name in f}
        extra_event = _by_cell(arrays.events)
        extra_speech = _by_cell(arrays.utterances)
        out: list[list[Emission]] = []
        for k, step in enumerate(steps):
            ts = self.time_ms(step)
            row: list[Emission] = []
            hr, spo2, rr = cols["heart_rate"][k], cols["spo2"][k], cols["respiration_rate"][k]
            posture, act, stp = cols["posture"][k], cols["activity"][k], cols["steps"][k]
            bed, motion = cols["bed_occupied"][k], cols["room_motion"][k]
            temp, acvpu = cols["temperature"][k], cols["consciousness"][k]
            sys_bp, dia_bp = cols["systolic_bp"][k], cols["diastolic_bp"][k]
            for r, profile in enumerate(cohort.profiles):
                reading: dict[str, Any] = {
                    "ts": ts,
                    "heart_rate": hr[r],
                    "spo2": spo2[r],
                    "respiration_rate": rr[r],
                    "posture": POSTURES[int(posture[r])],
                    "activity": act[r],
                    "steps": int(stp[r]),
                    "bed_occupied": bool(bed[r]),
                    "room_motion": bool(motion[r]),
                }
                if temp[r] == temp[r]:  # not NaN: this step charts temperature
                    reading["temperature"] = temp[r]
                    reading["consciousness"] = "C" if acvpu[r] else "A"
                if sys_bp[r] == sys_bp[r]:
                    reading["systolic_bp"] = sys_bp[r]
                    reading["diastolic_bp"] = dia_bp[r]
                    reading["supplemental_oxygen"] = False
                terminal, voice, rid = profile.devices.terminal, profile.devices.voice, profile.id
                row.append(Emission(terminal, rid, "vitals", reading))
                for ev in extra_event.get((k, r), ()):
                    row.append(Emission(terminal, rid, "event", ev))
                for ut in extra_speech.get((k, r), ()):
                    row.append(Emission(voice, rid, "utterance", ut))
            out.append(row)
        return out


@dataclass(frozen=True, slots=True)
class StepArrays:
    """A block of steps as arrays: ``fields[name]`` is (steps, residents), NaN = not sent.

    Enums are codes (posture: index in ``careloop.wire.POSTURES``; consciousness: index in
    ``ACVPU``), booleans 0/1. ``events`` and ``utterances`` are (step row, resident column,
    reading) hits, as the devices would send them.
    """

    ts: NDArray[np.int64]
    fields: dict[str, NDArray[np.float64]]
    events: list[Hit]
    utterances: list[Hit]


def _by_cell(hits: list[Hit]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """Group hits by grid cell, each cell's readings in time order."""
    cells: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for k, r, reading in hits:
        cells.setdefault((k, r), []).append(reading)
    for readings in cells.values():
        readings.sort(key=lambda x: x["ts"])
    return cells
