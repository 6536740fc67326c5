"""The (steps x residents) grid every simulator computation broadcasts over.

Profiles become ``(1, R)`` parameter arrays (a :class:`Cohort`), steps become ``(K, 1)`` time
arrays (a :class:`Grid`), and numpy broadcasting does the rest. One resident alone is a cohort
of one column; one step is a grid of one row. Because every operation downstream is
element-wise, a cell's value does not depend on which other cells were computed with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from simulators.noise import (
    GOLDEN,
    SMOOTH_PERIODS_S,
    U64,
    channel_keys,
    mix,
    resident_keys,
    uniforms,
)
from simulators.profiles import ResidentProfile

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

SECOND_MS = 1_000
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

#: Smooth-noise channels, each with its own phases per resident.
SHARED, HR, RR, SPO2, BP, TEMP = range(6)
N_SMOOTH = 6
_PHASE_STREAM = 0x5400
#: Length of the slots ordinary utterances are scheduled in.
UTTERANCE_SLOT_MS = 30 * MINUTE_MS


def _col(values: Sequence[float]) -> F64:
    return np.asarray(values, dtype=np.float64).reshape(1, -1)


@dataclass(frozen=True, eq=False)
class Cohort:
    """Profile parameters of a set of residents as ``(1, R)`` arrays (times of day in ms)."""

    profiles: tuple[ResidentProfile, ...]
    index: I64
    keys: U64
    resting_hr: F64
    spo2: F64
    respiration_rate: F64
    systolic_bp: F64
    diastolic_bp: F64
    temperature: F64
    wake_ms: F64
    bed_ms: F64
    meals_ms: tuple[F64, F64, F64]
    checkup_ms: F64
    activity_level: F64
    nap_probability: F64
    utterance_p: F64
    phases: F64
    columns: dict[int, int] = field(repr=False)
    _channels: dict[int, U64] = field(default_factory=dict, repr=False)
    _memo: dict[tuple[int, int, int], F64] = field(default_factory=dict, repr=False)

    def draw(self, counter: I64, channel: int, lanes: int, *, memo: bool = True) -> F64:
        """``lanes`` uniforms per cell for ``counter`` (``(K, 1)``) on ``channel``.

        Equal to ``uniforms(keyed(self.keys, counter, channel), lanes)``. Slot and day
        counters repeat across consecutive single steps, so one-row draws are memoised (a
        cache of a pure function: it changes speed, never values).
        """
        ck = self._channels.get(channel)
        if ck is None:
            ck = self._channels[channel] = channel_keys(self.keys, channel)
        memo_key = None
        if memo and counter.shape[0] == 1:
            memo_key = (channel, lanes, int(counter[0, 0]))
            hit = self._memo.get(memo_key)
            if hit is not None:
                return hit
        out = uniforms(mix(ck + counter.astype(np.uint64) * GOLDEN), lanes)
        if memo_key is not None:
            if len(self._memo) > 512:
                self._memo.clear()
            out.flags.writeable = False  # shared between calls: nobody may change it
            self._memo[memo_key] = out
        return out

    @classmethod
    def build(cls, profiles: Sequence[ResidentProfile], *, seed: int) -> Cohort:
        """Arrays for ``profiles`` (in order); randomness keyed on each profile's index."""
        index = np.asarray([p.index for p in profiles], dtype=np.int64)
        n_max = int(index.max()) + 1 if len(index) else 0
        keys = resident_keys(seed, n_max)[index].reshape(1, -1)
        phases = np.stack(
            [
                np.random.default_rng([seed & (2**64 - 1), _PHASE_STREAM, int(i)]).uniform(
                    0.0, 2.0 * np.pi, (N_SMOOTH, len(SMOOTH_PERIODS_S))
                )
                for i in index
            ]
        ).reshape(1, len(profiles), N_SMOOTH, len(SMOOTH_PERIODS_S))
        awake_slots = [(p.bed_h - p.wake_h) * 2.0 for p in profiles]
        return cls(
            profiles=tuple(profiles),
            index=index,
            keys=keys,
            resting_hr=_col([p.resting_hr for p in profiles]),
            spo2=_col([p.spo2 for p in profiles]),
            respiration_rate=_col([p.respiration_rate for p in profiles]),
            systolic_bp=_col([p.systolic_bp for p in profiles]),
            diastolic_bp=_col([p.diastolic_bp for p in profiles]),
            temperature=_col([p.temperature for p in profiles]),
            wake_ms=_col([p.wake_h * HOUR_MS for p in profiles]),
            bed_ms=_col([p.bed_h * HOUR_MS for p in profiles]),
            meals_ms=(
                _col([p.meals_h[0] * HOUR_MS for p in profiles]),
                _col([p.meals_h[1] * HOUR_MS for p in profiles]),
                _col([p.meals_h[2] * HOUR_MS for p in profiles]),
            ),
            checkup_ms=_col([p.checkup_h * HOUR_MS for p in profiles]),
            activity_level=_col([p.activity_level for p in profiles]),
            nap_probability=_col([p.nap_probability for p in profiles]),
            utterance_p=_col(
                [
                    min(1.0, p.utterances_per_day / s)
                    for p, s in zip(profiles, awake_slots, strict=True)
                ]
            ),
            phases=phases,
            columns={int(i): c for c, i in enumerate(index)},
        )

    def take(self, columns: Sequence[int]) -> Cohort:
        """The cohort of the residents at ``columns`` (positions in this cohort)."""
        cols = np.asarray(columns, dtype=np.int64)

        def pick(a: F64) -> F64:
            return np.ascontiguousarray(a[:, cols])

        index = self.index[cols]
        return Cohort(
            profiles=tuple(self.profiles[c] for c in columns),
            index=index,
            keys=np.ascontiguousarray(self.keys[:, cols]),
            resting_hr=pick(self.resting_hr),
            spo2=pick(self.spo2),
            respiration_rate=pick(self.respiration_rate),
            systolic_bp=pick(self.systolic_bp),
            diastolic_bp=pick(self.diastolic_bp),
            temperature=pick(self.temperature),
            wake_ms=pick(self.wake_ms),
            bed_ms=pick(self.bed_ms),
            meals_ms=(pick(self.meals_ms[0]), pick(self.meals_ms[1]), pick(self.meals_ms[2])),
            checkup_ms=pick(self.checkup_ms),
            activity_level=pick(self.activity_level),
            nap_probability=pick(self.nap_probability),
            utterance_p=pick(self.utterance_p),
            phases=np.ascontiguousarray(self.phases[:, cols]),
            columns={int(i): c for c, i in enumerate(index)},
        )

    @property
    def size(self) -> int:
        """Number of residents (columns)."""
        return len(self.profiles)


@dataclass(frozen=True, eq=False)
class Grid:
    """Steps ``(K, 1)`` of a home's clock, against a cohort's residents."""

    steps: I64
    t: I64
    dt_ms: int
    start_ms: int
    cohort: Cohort

    @classmethod
    def build(
        cls, steps: Sequence[int] | I64, *, start_ms: int, dt_ms: int, cohort: Cohort
    ) -> Grid:
        """The grid of ``steps`` (ints) for ``cohort``."""
        k = np.asarray(steps, dtype=np.int64).reshape(-1, 1)
        return cls(steps=k, t=start_ms + k * dt_ms, dt_ms=dt_ms, start_ms=start_ms, cohort=cohort)

    @cached_property
    def shape(self) -> tuple[int, int]:
        """``(K, R)``."""
        return (self.t.shape[0], self.cohort.size)

    @cached_property
    def day(self) -> I64:
        """Local day number (days since the epoch; simulated local time is UTC)."""
        return self.t // DAY_MS

    @cached_property
    def sod(self) -> F64:
        """Milliseconds since local midnight, as float for arithmetic with profile times."""
        return (self.t % DAY_MS).astype(np.float64)

    @cached_property
    def tf(self) -> F64:
        """Times as float ms (exact: epoch ms are far below 2**53)."""
        return self.t.astype(np.float64)

    @property
    def t_s(self) -> F64:
        """Seconds since the home's start, for smooth noise."""
        return (self.t - self.start_ms).astype(np.float64) / 1000.0

    @property
    def span(self) -> tuple[int, int]:
        """``[first, last)`` ms covered by the grid's steps."""
        return int(self.t[0, 0]), int(self.t[-1, 0]) + self.dt_ms

    def in_step(self, when: F64 | I64) -> NDArray[np.bool_]:
        """Whether times ``when`` fall inside each cell's step ``[t, t + dt)``."""
        return (when >= self.t) & (when < self.t + self.dt_ms)
