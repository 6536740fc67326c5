"""The two stores the novelty detector keeps per window length.

* :class:`PatternMemory`: prototypes of windows seen long enough ago, searched for the nearest
  one;
* :class:`RollingQuantile`: a sorted sliding window of recent distances, giving the
  "usual" novelty the current one is measured against.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

import numpy as np
from numpy.typing import NDArray


class PatternMemory:
    """Prototype windows with nearest-neighbour search (root-mean-square distance).

    A window within ``radius`` of a prototype is absorbed by it (its count goes up); any other
    window becomes a new prototype (leader clustering), so a regular series keeps a handful of
    prototypes however long it runs. Searches can skip prototypes seen fewer than
    ``min_count`` times: a pattern met once before is still rare. When ``capacity`` is
    reached a seeded random prototype is replaced, which keeps old and recent patterns alike.
    """

    def __init__(self, dim: int, capacity: int, rng: np.random.Generator) -> None:
        size = min(64, capacity)
        self._rows = np.empty((size, dim))
        self._sq = np.empty(size)  # squared norms, for one matrix-vector search
        self._count = np.zeros(size, dtype=np.int64)
        self._n = 0
        self._capacity = capacity
        self._rng = rng

    def __len__(self) -> int:
        return self._n

    def _sq_distances(self, f: NDArray[np.float64]) -> NDArray[np.float64]:
        # |r - f|^2 = |r|^2 - 2 r.f + |f|^2: one matrix-vector product instead of a
        # prototypes-by-dim temporary (callers centre values, so cancellation stays small).
        return self._sq[: self._n] - 2.0 * (self._rows[: self._n] @ f) + float(f @ f)

    def nearest(self, f: NDArray[np.float64], min_count: int = 1) -> float:
        """RMS distance from ``f`` to the closest prototype seen ``min_count`` times (or inf)."""
        if self._n == 0:
            return math.inf
        sq = self._sq_distances(f)
        if min_count > 1:
            sq = np.where(self._count[: self._n] >= min_count, sq, np.inf)
        best = float(sq.min())
        return math.sqrt(max(best, 0.0) / f.size) if math.isfinite(best) else math.inf

    def absorb(self, f: NDArray[np.float64], radius: float) -> None:
        """Count ``f`` against its nearest prototype if within ``radius``, else store it."""
        if self._n:
            sq = self._sq_distances(f)
            k = int(sq.argmin())
            if math.sqrt(max(float(sq[k]), 0.0) / f.size) <= radius:
                self._count[k] += 1
                return
        if self._n < self._capacity:
            if self._n == self._rows.shape[0]:
                size = min(2 * self._n, self._capacity)
                self._rows = np.resize(self._rows, (size, self._rows.shape[1]))
                self._sq = np.resize(self._sq, size)
                self._count = np.resize(self._count, size)
            k = self._n
            self._n += 1
        else:
            k = int(self._rng.integers(self._capacity))
        self._rows[k] = f
        self._sq[k] = float(f @ f)
        self._count[k] = 1


class RollingQuantile:
    """Quantiles of the last ``size`` values, kept sorted (O(size) per update, no numpy)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._fifo: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._fifo)

    def add(self, x: float) -> None:
        """Insert ``x``, dropping the oldest value once the window is full."""
        self._fifo.append(x)
        bisect.insort(self._sorted, x)
        if len(self._fifo) > self._size:
            old = self._fifo.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]

    def quantile(self, q: float) -> float:
        """The lower empirical ``q``-quantile (a stored value, no interpolation)."""
        return self._sorted[int(q * (len(self._sorted) - 1))]
