"""Episodes: scenarios placed on a resident and a time, with their magnitudes drawn once.

An :class:`Assignment` is what a user asks for ("fever on r003 on day 2"); resolving it gives
an :class:`Episode` with concrete start, end and shift sizes, drawn from a generator keyed on
(seed, resident, scenario, day) so the same list always gives the same episodes.
:func:`default_assignments` spreads scenarios over a minority of residents after a warm-up,
leaving most residents normal so false-alarm rates can be measured.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulators.grid import DAY_MS, F64, HOUR_MS, I64
from simulators.labels import Label
from simulators.noise import seed_key
from simulators.phrases import POOLS, pool
from simulators.profiles import ResidentProfile
from simulators.scenarios import SCENARIOS, Scenario, get_scenario

_EPISODE_STREAM = 0xE915
_SCHEDULE_STREAM = 0x5CED
_MASK64 = 2**64 - 1

#: Scenarios the default schedule cycles through; ``low_mood`` becomes the resident's language.
DEFAULT_CYCLE: tuple[str, ...] = (
    "fever_onset",
    "hypoxia",
    "fall_no_movement",
    "low_mood",
    "tachycardia",
    "not_out_of_bed",
    "agitation",
    "hypertensive_crisis",
    "night_wandering",
    "missed_checkup",
    "news2_rise",
    "bradycardia",
    "sos_call",
    "slow_decline",
)


@dataclass(frozen=True, slots=True)
class Assignment:
    """A request for a scenario on a resident (id) on simulated ``day`` (0 = the first day).

    Without ``start_ms`` the episode starts at the scenario's natural time that day (e.g.
    ``night_wandering`` between 01:00 and 03:30); without ``end_ms`` it lasts a drawn duration.
    """

    resident: str
    scenario: str
    day: int = 0
    start_ms: int | None = None
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Episode:
    """A resolved scenario on one resident: ``[start, end)`` in ms with drawn magnitudes."""

    resident: int
    resident_id: str
    scenario: Scenario
    start: int
    end: int
    by: tuple[tuple[str, float], ...]
    to: tuple[tuple[str, float], ...]
    key: int
    language: str
    phrase: int

    @property
    def label(self) -> Label:
        """The ground truth this episode writes."""
        return Label(self.resident_id, self.scenario.name, self.start, self.end, self.scenario.tier)

    def active(self, lo: int, hi: int) -> bool:
        """Whether the episode overlaps the time span ``[lo, hi)``."""
        return self.start < hi and self.end > lo

    def envelope(self, t: I64) -> F64:
        """Strength of the effect in [0, 1] at times ``t`` (zero outside ``[start, end)``)."""
        tf = t.astype(np.float64)
        inside = (t >= self.start) & (t < self.end)
        if self.scenario.shape == "rise":
            env = (tf - self.start) / float(self.end - self.start)
        else:
            ramp = self.scenario.ramp_s * 1000.0
            if ramp <= 0:
                env = np.ones_like(tf)
            else:
                env = np.minimum((tf - self.start) / ramp, (self.end - tf) / ramp)
        return np.where(inside, np.clip(env, 0.0, 1.0), 0.0)


def natural_start(
    scenario: Scenario, profile: ResidentProfile, day_start_ms: int, rng: np.random.Generator
) -> int:
    """When ``scenario`` naturally begins for ``profile`` on the day from ``day_start_ms``."""
    anchor = scenario.anchor
    if anchor == "any":
        hours = rng.uniform(0.0, 24.0)
    elif anchor == "awake":
        hours = rng.uniform(profile.wake_h + 1.0, profile.bed_h - 2.0)
    elif anchor == "wake":
        # The routine wakes up to 15 min either side of wake_h: start at the earliest.
        hours = profile.wake_h - 0.25
    elif anchor == "night":
        hours = rng.uniform(1.0, 3.5)
    elif anchor == "afternoon":
        hours = rng.uniform(14.5, 17.0)
    elif anchor == "checkup":
        hours = profile.checkup_h
    else:  # midnight
        hours = 0.0
    return day_start_ms + round(hours * HOUR_MS)


def resolve(
    assignment: Assignment,
    profiles: Sequence[ResidentProfile],
    *,
    seed: int,
    first_day_ms: int,
) -> Episode:
    """Turn an assignment into an episode; ``first_day_ms`` is local midnight of day 0."""
    by_id = {p.id: p for p in profiles}
    if assignment.resident not in by_id:
        raise KeyError(f"no resident {assignment.resident!r} in this home")
    profile = by_id[assignment.resident]
    scenario = get_scenario(assignment.scenario)
    rng = np.random.default_rng(
        [
            seed & _MASK64,
            _EPISODE_STREAM,
            profile.index,
            zlib.crc32(scenario.name.encode()),
            assignment.day & _MASK64,
        ]
    )
    day_start = first_day_ms + assignment.day * DAY_MS
    start = natural_start(scenario, profile, day_start, rng)
    duration_ms = round(rng.uniform(*scenario.duration_s) * 1000)
    if assignment.start_ms is not None:
        start = assignment.start_ms
    end = assignment.end_ms if assignment.end_ms is not None else start + duration_ms
    by = tuple((s.measure, round(float(rng.uniform(*s.by)), 2)) for s in scenario.shifts if s.by)
    to = tuple((s.measure, round(float(rng.uniform(*s.to)), 2)) for s in scenario.shifts if s.to)
    speech = scenario.speech
    language = (speech.language if speech and speech.language else None) or profile.language
    phrase = 0
    if speech is not None:
        phrase = int(rng.integers(len(POOLS[pool(speech.pool, language)])))
    return Episode(
        resident=profile.index,
        resident_id=profile.id,
        scenario=scenario,
        start=int(start),
        end=int(end),
        by=by,
        to=to,
        key=seed_key(
            seed, _EPISODE_STREAM, profile.index, zlib.crc32(scenario.name.encode()), start
        ),
        language=language,
        phrase=phrase,
    )


def default_assignments(
    profiles: Sequence[ResidentProfile],
    *,
    seed: int,
    horizon_days: int = 7,
    warmup_days: int = 2,
) -> list[Assignment]:
    """A deterministic schedule: ~30 % of residents get one to three episodes each.

    Episodes start on days ``warmup_days .. horizon_days - 1`` (so models first see normal
    data), a resident's episodes are at least two days apart, and scenarios are dealt from a
    shuffled cycle so that a home of ~40 residents sees every scenario.
    """
    if not profiles or horizon_days < 1:
        return []
    rng = np.random.default_rng([seed & _MASK64, _SCHEDULE_STREAM])
    first = min(warmup_days, horizon_days - 1)
    n_affected = max(1, round(0.3 * len(profiles)))
    affected = sorted(rng.permutation(len(profiles))[:n_affected].tolist())
    cycle = [DEFAULT_CYCLE[i] for i in rng.permutation(len(DEFAULT_CYCLE))]
    dealt = 0
    out: list[Assignment] = []
    for i in affected:
        profile = profiles[i]
        day = first + int(rng.integers(0, 2))
        for _ in range(int(rng.integers(1, 4))):
            if day >= horizon_days:
                break
            name = cycle[dealt % len(cycle)]
            dealt += 1
            if name == "low_mood":
                name = f"low_mood_{profile.language}"
            out.append(Assignment(profile.id, name, day=day))
            span = int(np.ceil(SCENARIOS[name].duration_s[1] / 86_400.0))
            day += span + 1 + int(rng.integers(0, 2))
            if name == "slow_decline":
                break
    return out
