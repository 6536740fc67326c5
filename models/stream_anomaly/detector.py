"""A streaming univariate anomaly detector: multi-scale pattern novelty with alarm discipline.

For each window length ``L`` (a few samples up to about a day) the detector describes the last
``L`` values by ``bins`` bin means and asks how far that shape is from the shapes it has seen
*before* the window began (root-mean-square distance to the nearest prototype seen at least
``min_count`` times; recent windows are left out because they overlap the current one and
would always match it). That distance is divided by the 99th percentile of the same scale's
recent distances, so "3" means three times as novel as the series usually gets, whatever its
units or noise. The score is the largest ratio over scales.

Two rules then make the output behave like an alarm, which is what a care team (and NAB's
scoring) rewards: one early report per episode, no repeats.

* a ratio is reported only when it beats every ratio of the last ``refractory`` steps, so a
  lasting anomaly reports its onset, not every step it goes on;
* after an *alarm* (a reported ratio ``>= alarm_ratio``) reports are silenced for
  ``refractory`` steps unless the episode becomes ``escalation`` times more novel.

The reported ratio ``r`` is returned as ``r / (1 + r)`` in ``[0, 1)``: 0.5 is the usual
99th-percentile novelty, ``alarm_ratio`` 1.5 is 0.6. Observations are dicts with the watched
``field`` (``"value"`` by default, e.g. ``"heart_rate"`` on careloop's wire) and optionally
``"ts"`` (epoch milliseconds, as on the wire), which adds a day-long window once the sampling
interval is known. A missing or non-finite reading scores 0 and is not learned.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from models.base import ModelError, Observation, StreamingDetector
from models.stream_anomaly.memory import PatternMemory, RollingQuantile

_DAY_MS = 86_400_000.0
#: timestamps read before the sampling interval (hence the day window) is fixed
_SPACING_SAMPLES = 16
#: distances a scale needs in its history before it scores
_WARM = 50
#: a day window longer than this many samples is not used (memory and speed)
_MAX_DAY_POINTS = 4096


class _Ring:
    """The last ``size`` values, readable as one contiguous array without copying."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.buf = np.zeros(2 * size)
        self.pos = 0
        self.count = 0

    def push(self, v: float) -> None:
        self.buf[self.pos] = v
        self.buf[self.pos + self.size] = v
        self.pos = (self.pos + 1) % self.size
        self.count = min(self.count + 1, self.size)

    def tail(self, k: int) -> NDArray[np.float64]:
        """The last ``k <= size`` values, oldest first."""
        end = self.pos + self.size
        return self.buf[end - k : end]

    def grown(self, size: int) -> _Ring:
        ring = _Ring(size)
        for v in self.tail(self.count):
            ring.push(float(v))
        return ring


class _Scale:
    """One window length: its prototypes, windows waiting to be stored, usual distances."""

    def __init__(
        self, length: int, bins: int, capacity: int, history: int, rng: np.random.Generator
    ) -> None:
        self.length = length
        self.bins = min(bins, length)
        self.memory = PatternMemory(self.bins, capacity, rng)
        self.pending: deque[NDArray[np.float64]] = deque()
        self.usual = RollingQuantile(history)
        self.skipped = 0

    def feature(self, window: NDArray[np.float64]) -> NDArray[np.float64]:
        """Bin means of the last ``length`` values of ``window``."""
        tail = window[window.size - self.length :]
        return tail[: self.bins * (self.length // self.bins)].reshape(self.bins, -1).mean(axis=1)

    def ratio(self, d: float, floor: float, q: float) -> float:
        if not math.isfinite(d) or len(self.usual) < _WARM:
            return 0.0
        return d / max(self.usual.quantile(q), floor)

    def learn(self, f: NDArray[np.float64], d: float, radius: float) -> None:
        if math.isfinite(d):
            # The first distances come from a nearly empty memory: not the usual novelty.
            if self.skipped < self.length:
                self.skipped += 1
            else:
                self.usual.add(d)
        self.pending.append(f)
        if len(self.pending) > self.length:  # no longer overlaps the current window
            self.memory.absorb(self.pending.popleft(), radius)


@dataclass(frozen=True)
class _Evaluation:
    features: tuple[NDArray[np.float64] | None, ...]
    distances: tuple[float, ...]
    raw: float
    reported: float


class MultiScaleNovelty(StreamingDetector):
    """Multi-scale nearest-pattern novelty with online calibration and alarm suppression."""

    def __init__(
        self,
        *,
        field: str = "value",
        scales: Sequence[int] = (1, 8, 32, 128, 512),
        bins: int = 8,
        day_scale: bool = True,
        radius: float = 0.02,
        min_count: int = 2,
        capacity: int = 3000,
        history: int = 4000,
        quantile: float = 0.99,
        alarm_ratio: float = 1.5,
        refractory: int = 300,
        escalation: float = 3.0,
        seed: int = 0,
    ) -> None:
        self.field = field
        self.scales = scales
        self.bins = bins
        self.day_scale = day_scale
        self.radius = radius
        self.min_count = min_count
        self.capacity = capacity
        self.history = history
        self.quantile = quantile
        self.alarm_ratio = alarm_ratio
        self.refractory = refractory
        self.escalation = escalation
        self.seed = seed
        self._check()
        rng = np.random.default_rng(seed)
        self._rng = rng
        lengths = sorted(set(scales))
        self._scales = [_Scale(n, bins, capacity, history, rng) for n in lengths]
        self._ring = _Ring(max(lengths))
        self._origin: float | None = None  # first value: windows are stored relative to it
        self._lo = math.inf
        self._hi = -math.inf
        self._stamps: list[float] = []
        self._step = 0
        self._recent: deque[tuple[int, float]] = deque()  # (step, raw): decreasing raw
        self._alarm_until = -1
        self._alarm_raw = 0.0
        self._cached: tuple[tuple[float, float | None], _Evaluation] | None = None

    def _check(self) -> None:
        if not self.scales or any(int(n) != n or n < 1 for n in self.scales):
            raise ModelError(f"scales must be positive integers, got {self.scales!r}")
        if self.bins < 1 or self.capacity < 1 or self.min_count < 1 or self.history < _WARM:
            raise ModelError(f"bins, capacity, min_count must be >= 1, history >= {_WARM}")
        if not 0.5 <= self.quantile < 1.0 or self.radius < 0 or self.refractory < 0:
            raise ModelError("quantile must be in [0.5, 1), radius and refractory >= 0")
        if self.alarm_ratio <= 0 or self.escalation < 1:
            raise ModelError("alarm_ratio must be > 0 and escalation >= 1")

    @property
    def window_lengths(self) -> tuple[int, ...]:
        """The window lengths in use, the day window included once it is known."""
        return tuple(s.length for s in self._scales)

    # -- reading observations ------------------------------------------------------------
    def _read(self, x: Observation) -> tuple[float, float | None] | None:
        raw = x.get(self.field)
        if raw is None or isinstance(raw, bool):
            return None
        v = float(raw)
        if not math.isfinite(v):
            return None
        ts = x.get("ts")
        if isinstance(ts, datetime):
            return v, ts.timestamp() * 1000.0
        return v, (float(ts) if ts is not None else None)

    # -- scoring -------------------------------------------------------------------------
    def _evaluate(self, key: tuple[float, float | None]) -> _Evaluation:
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        v = key[0]
        count = self._ring.count + 1
        origin = v if self._origin is None else self._origin
        window = np.append(self._ring.tail(self._ring.count), v - origin)
        lo, hi = min(self._lo, v), max(self._hi, v)
        # An exactly repeating series has usual distances of 0: a tiny floor keeps ratios finite.
        floor = 1e-3 * (hi - lo) + 1e-12
        features: list[NDArray[np.float64] | None] = []
        distances: list[float] = []
        raw = 0.0
        for scale in self._scales:
            if count < scale.length:
                features.append(None)
                distances.append(math.inf)
                continue
            f = scale.feature(window)
            d = scale.memory.nearest(f, self.min_count)
            features.append(f)
            distances.append(d)
            raw = max(raw, scale.ratio(d, floor, self.quantile))
        reported = raw
        if self._recent and raw <= self._recent[0][1]:
            reported = 0.0  # not above the recent maximum: the episode was already reported
        if self._step <= self._alarm_until and reported < self.escalation * self._alarm_raw:
            reported = 0.0
        ev = _Evaluation(tuple(features), tuple(distances), raw, reported)
        self._cached = (key, ev)
        return ev

    def score_one(self, x: Observation) -> float:
        key = self._read(x)
        if key is None:
            return 0.0
        r = self._evaluate(key).reported
        return r / (1.0 + r)

    # -- learning ------------------------------------------------------------------------
    def learn_one(self, x: Observation) -> None:
        key = self._read(x)
        if key is None:
            return
        ev = self._evaluate(key)
        self._cached = None
        v, ts = key
        if self._origin is None:
            self._origin = v
        self._lo, self._hi = min(self._lo, v), max(self._hi, v)
        radius = self.radius * (self._hi - self._lo)
        for scale, f, d in zip(self._scales, ev.features, ev.distances, strict=True):
            if f is not None:
                scale.learn(f, d, radius)
        self._ring.push(v - self._origin)
        self._remember(ev)
        if ts is not None and self.day_scale:
            self._learn_spacing(ts)
        self._step += 1

    def _remember(self, ev: _Evaluation) -> None:
        """Keep the running maximum of raw ratios and the alarm state up to date."""
        while self._recent and self._recent[0][0] <= self._step - self.refractory:
            self._recent.popleft()
        while self._recent and self._recent[-1][1] <= ev.raw:
            self._recent.pop()
        if self.refractory > 0:
            self._recent.append((self._step, ev.raw))
        if ev.reported >= self.alarm_ratio:
            self._alarm_until = self._step + self.refractory
            self._alarm_raw = ev.reported

    def _learn_spacing(self, ts: float) -> None:
        """From the first timestamps, fix the sampling interval and add the day window."""
        if len(self._stamps) > _SPACING_SAMPLES:
            return
        self._stamps.append(ts)
        if len(self._stamps) <= _SPACING_SAMPLES:
            return
        spacing = float(np.median(np.diff(self._stamps)))
        if spacing <= 0:
            return
        day = round(_DAY_MS / spacing) // self.bins * self.bins
        if day < 2 * self.bins or day > _MAX_DAY_POINTS:
            return
        if any(s.length == day for s in self._scales):
            return
        self._scales.append(_Scale(day, self.bins, self.capacity, self.history, self._rng))
        if day > self._ring.size:
            self._ring = self._ring.grown(day)
