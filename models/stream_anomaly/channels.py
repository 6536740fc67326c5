"""Multi-scale pattern novelty: how far the last ``L`` values are from shapes seen before.

For each window length ``L`` (a few samples up to about a day) the last ``L`` values are
described by ``bins`` bin means, and their novelty is the root-mean-square distance to the
nearest prototype seen at least ``min_count`` times *before* the window began: windows enter
a length's memory only once they no longer overlap the current one (the matrix-profile
"exclusion zone"), so a slowly growing anomaly cannot match itself.

Given timestamps, a day-long window is added once the sampling interval is known from the
first ``_SPACING_SAMPLES`` intervals. Each length has its own memory and its own seeded random
generator, so the distances of one length do not depend on which other lengths run beside it:
an evaluation can compute them once for a superset of lengths and replay any subset.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.stream_anomaly.memory import PatternMemory, Search

_DAY_MS = 86_400_000.0
#: timestamps read before the sampling interval (hence the day window) is fixed
_SPACING_SAMPLES = 16
#: a day window longer than this many samples is not used (memory and speed)
_MAX_DAY_POINTS = 4096


def day_length(spacing_ms: float, bins: int) -> int | None:
    """Samples in a day at ``spacing_ms``, rounded down to whole bins; None if unusable."""
    if spacing_ms <= 0:
        return None
    day = round(_DAY_MS / spacing_ms) // bins * bins
    return day if 2 * bins <= day <= _MAX_DAY_POINTS else None


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


class _Length:
    """One window length: its prototypes and the windows waiting to be stored."""

    def __init__(self, length: int, bins: int, capacity: int, seed: int) -> None:
        self.length = length
        self.bins = min(bins, length)
        self.width = length // self.bins
        self.memory = PatternMemory(self.bins, capacity, np.random.default_rng([seed, length]))
        self.pending: deque[tuple[NDArray[np.float64], Search]] = deque()

    def feature(self, window: NDArray[np.float64]) -> NDArray[np.float64]:
        """Bin means of the oldest ``bins * width`` of the last ``length`` values of ``window``.

        ``np.add.reduce`` then a division gives the same numbers as ``mean`` (which does just
        that) without its Python-level overhead, a large share of a detector's time.
        """
        start = window.size - self.length
        block = window[start : start + self.bins * self.width].reshape(self.bins, self.width)
        return np.add.reduce(block, axis=1) / self.width

    def learn(self, f: NDArray[np.float64], search: Search, radius: float) -> None:
        self.pending.append((f, search))
        if len(self.pending) > self.length:  # no longer overlaps the current window
            old, hint = self.pending.popleft()
            self.memory.absorb(old, radius, hint)


@dataclass(frozen=True)
class Measurement:
    """What one value looked like to every window length (``inf``: no distance yet)."""

    features: tuple[NDArray[np.float64] | None, ...]
    searches: tuple[Search | None, ...]
    distances: tuple[float, ...]
    #: the smallest usual distance worth dividing by (an exactly repeating series has 0)
    floor: float


class PatternChannels:
    """Novelty distances of the latest windows at several lengths (see the module doc)."""

    def __init__(
        self,
        *,
        scales: Sequence[int],
        bins: int,
        day_scale: bool,
        radius: float,
        min_count: int,
        capacity: int,
        seed: int,
    ) -> None:
        self.bins = bins
        self.day_scale = day_scale
        self.radius = radius
        self.min_count = min_count
        self.capacity = capacity
        self.seed = seed
        lengths = sorted(set(scales))
        self._lengths = [_Length(n, bins, capacity, seed) for n in lengths]
        self._ring = _Ring(max(lengths))
        self._origin: float | None = None  # first value: windows are stored relative to it
        self._lo = math.inf
        self._hi = -math.inf
        self._stamps: list[float] = []
        self._day: int | None = None

    @property
    def day(self) -> int | None:
        """The day window's length once the sampling interval is known (else None)."""
        return self._day

    @property
    def lengths(self) -> tuple[int, ...]:
        """The window lengths in use, the day window last once it is known."""
        return tuple(s.length for s in self._lengths)

    def measure(self, v: float) -> Measurement:
        """Distances of the windows ending with ``v`` (no state change)."""
        count = self._ring.count + 1
        origin = v if self._origin is None else self._origin
        window = np.append(self._ring.tail(self._ring.count), v - origin)
        floor = 1e-3 * (max(self._hi, v) - min(self._lo, v)) + 1e-12
        features: list[NDArray[np.float64] | None] = []
        searches: list[Search | None] = []
        distances: list[float] = []
        for s in self._lengths:
            if count < s.length:
                features.append(None)
                searches.append(None)
                distances.append(math.inf)
                continue
            f = s.feature(window)
            found = s.memory.search(f, self.min_count)
            features.append(f)
            searches.append(found)
            distances.append(found.distance)
        return Measurement(tuple(features), tuple(searches), tuple(distances), floor)

    def learn(self, v: float, ts: float | None, m: Measurement) -> None:
        """Store ``v`` (measured as ``m``); ``ts`` in epoch ms helps find the day length."""
        if self._origin is None:
            self._origin = v
        self._lo, self._hi = min(self._lo, v), max(self._hi, v)
        radius = self.radius * (self._hi - self._lo)
        for s, f, found in zip(self._lengths, m.features, m.searches, strict=True):
            if f is not None and found is not None:
                s.learn(f, found, radius)
        self._ring.push(v - self._origin)
        if ts is not None and self.day_scale:
            self._learn_spacing(ts)

    def _learn_spacing(self, ts: float) -> None:
        """From the first timestamps, fix the sampling interval and add the day window."""
        if len(self._stamps) > _SPACING_SAMPLES:
            return
        self._stamps.append(ts)
        if len(self._stamps) <= _SPACING_SAMPLES:
            return
        day = day_length(float(np.median(np.diff(self._stamps))), self.bins)
        self._day = day
        if day is None or day in self.lengths:
            return
        self._lengths.append(_Length(day, self.bins, self.capacity, self.seed))
        if day > self._ring.size:
            self._ring = self._ring.grown(day)
