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

from models.state import State, StateReader, nest
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

    def state(self) -> State:
        # the buffer holds every value twice (see tail); one copy is enough to rebuild it
        return {"pos": self.pos, "count": self.count}, {"values": self.buf[: self.size].copy()}

    def load_state(self, state: StateReader) -> None:
        values = state.array("values", np.float64, (self.size,))
        self.buf = np.concatenate([values, values])
        self.pos = state.integer("pos", lo=0, hi=self.size - 1)
        self.count = state.integer("count", lo=0, hi=self.size)


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

    def state(self) -> State:
        """The memory, and the pending windows with the search each was scored by."""
        pending = list(self.pending)
        arrays = {
            "pending": np.array([f for f, _ in pending], dtype=np.float64).reshape(-1, self.bins),
            "pending_sq": np.array([(s.distance, s.sq) for _, s in pending]).reshape(-1, 2),
            "pending_at": np.array(
                [(s.nearest, s.size, s.replaced) for _, s in pending], dtype=np.int64
            ).reshape(-1, 3),
        }
        doc, memory = nest({}, {"memory": self.memory.state()})
        return doc, {**memory, **arrays}

    def load_state(self, state: StateReader) -> None:
        features = state.array("pending", np.float64, (None, self.bins))
        n = len(features)
        if n > self.length:
            state.fail(f"{n} windows pending for a window length of {self.length}")
        sq = state.array("pending_sq", np.float64, (n, 2)).tolist()
        at = state.array("pending_at", np.int64, (n, 3))
        self.memory.load_state(state.scope("memory"))
        # each hint must be a search this memory could have answered (absorb indexes by it)
        nearest, size, replaced = at[:, 0], at[:, 1], at[:, 2]
        ok = (size >= 0) & (size <= len(self.memory)) & (nearest >= -1) & (nearest < size)
        ok &= (replaced >= 0) & (replaced <= self.memory.replaced)
        if not ok.all():
            state.fail(f"{state.path}pending_at points outside the memory")
        self.pending = deque(
            (f, Search(d, k, q, size, replaced))
            for f, (d, q), (k, size, replaced) in zip(features, sq, at.tolist(), strict=True)
        )


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

    # -- state ---------------------------------------------------------------------------
    def state(self) -> State:
        doc = {"lengths": list(self.lengths), "day": self._day, "origin": self._origin}
        arrays = {
            "range": np.array([self._lo, self._hi]),
            "stamps": np.array(self._stamps, dtype=np.float64),
        }
        parts = {f"window{s.length}": s.state() for s in self._lengths}
        doc, nested = nest(doc, {"ring": self._ring.state(), **parts})
        return doc, {**nested, **arrays}

    def load_state(self, state: StateReader) -> None:
        """Lengths must be the parameters' scales, then the day window if one was found."""
        lengths = state.integers("lengths")
        base = [s.length for s in self._lengths]
        day = state.optional_integer("day", lo=2 * self.bins, hi=_MAX_DAY_POINTS)
        extra = [day] if day is not None and day not in base else []
        if lengths != base + extra or (extra and not self.day_scale):
            state.fail(f"window lengths {lengths!r:.80} do not fit scales {base} and day {day}")
        stamps = state.array("stamps", np.float64, (None,))
        if len(stamps) > _SPACING_SAMPLES + 1 or (
            day is not None and len(stamps) <= _SPACING_SAMPLES
        ):
            state.fail(f"{len(stamps)} timestamps do not fit a day window of {day}")
        self._lengths += [_Length(n, self.bins, self.capacity, self.seed) for n in extra]
        for s in self._lengths:
            s.load_state(state.scope(f"window{s.length}"))
        self._ring = _Ring(max(self.lengths))
        self._ring.load_state(state.scope("ring"))
        self._lo, self._hi = state.array("range", np.float64, (2,)).tolist()
        self._stamps = stamps.tolist()
        self._origin = state.optional_number("origin")
        self._day = day
