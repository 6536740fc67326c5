"""The two stores the novelty detector keeps per window length.

* :class:`PatternMemory`: prototypes of windows seen long enough ago, searched for the nearest
  one;
* :class:`RollingQuantile`: a sorted sliding window of recent distances, giving the
  "usual" novelty the current one is measured against.
"""

from __future__ import annotations

import bisect
import math
from array import array
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from models.state import State, StateReader


class Search(NamedTuple):
    """One search of a memory: what the window is scored by, and a hint to store it later."""

    #: RMS distance to the nearest prototype seen ``min_count`` times (inf if none)
    distance: float
    #: the nearest prototype of any count (-1 if the memory was empty), its squared distance
    nearest: int
    sq: float
    #: the memory's size and replacement count at the time, to tell what is new since
    size: int
    replaced: int


class PatternMemory:
    """Prototype windows with nearest-neighbour search (root-mean-square distance).

    A window within ``radius`` of a prototype is absorbed by it (its count goes up); any other
    window becomes a new prototype (leader clustering), so a regular series keeps a handful of
    prototypes however long it runs. Searches can skip prototypes seen fewer than
    ``min_count`` times: a pattern met once before is still rare. When ``capacity`` is
    reached a seeded random prototype is replaced, which keeps old and recent patterns alike.

    A window is searched once, when it is scored, and stored later (once it no longer overlaps
    the current window): :meth:`absorb` then only searches the prototypes added since, which
    halves the work of a detector that keeps windows pending.
    """

    def __init__(self, dim: int, capacity: int, rng: np.random.Generator) -> None:
        size = min(64, capacity)
        self._rows = np.empty((size, dim))
        self._sq = np.empty(size)  # squared norms, for one matrix-vector search
        self._count = np.zeros(size, dtype=np.int64)
        self._n = 0
        self._replaced = 0
        self._capacity = capacity
        self._rng = rng

    def __len__(self) -> int:
        return self._n

    @property
    def replaced(self) -> int:
        """How many prototypes were replaced so far (a search's hint is stale after one)."""
        return self._replaced

    def _sq_distances(self, f: NDArray[np.float64], lo: int = 0) -> NDArray[np.float64]:
        """``|r - f|^2 - |f|^2`` for prototypes ``lo:``, i.e. ``|r|^2 - 2 r.f``.

        One matrix-vector product instead of a prototypes-by-dim temporary, in place (callers
        centre values, so cancellation stays small); ``|f|^2`` is added to the minimum only.
        """
        g = self._rows[lo : self._n] @ f
        g *= -2.0
        g += self._sq[lo : self._n]
        return g

    def search(self, f: NDArray[np.float64], min_count: int = 1) -> Search:
        """Distances from ``f`` to the prototypes (see :class:`Search`)."""
        if self._n == 0:
            return Search(math.inf, -1, math.inf, 0, self._replaced)
        g = self._sq_distances(f)
        ff = float(f @ f)
        k = int(g.argmin())
        sq = float(g[k]) + ff
        best = sq
        if min_count > 1:
            best = float(np.where(self._count[: self._n] >= min_count, g, np.inf).min()) + ff
        d = math.sqrt(max(best, 0.0) / f.size) if math.isfinite(best) else math.inf
        return Search(d, k, sq, self._n, self._replaced)

    def nearest(self, f: NDArray[np.float64], min_count: int = 1) -> float:
        """RMS distance from ``f`` to the closest prototype seen ``min_count`` times (or inf)."""
        return self.search(f, min_count).distance

    def absorb(self, f: NDArray[np.float64], radius: float, hint: Search | None = None) -> None:
        """Count ``f`` against its nearest prototype if within ``radius``, else store it.

        ``hint`` is ``f``'s earlier :meth:`search` of this memory; prototypes are never moved,
        so only those added since need searching (all of them after a replacement).
        """
        if hint is None or hint.replaced != self._replaced:
            hint = Search(math.inf, -1, math.inf, 0, self._replaced)
        k, best = hint.nearest, hint.sq
        if self._n > hint.size:
            g = self._sq_distances(f, hint.size)
            j = int(g.argmin())
            sq = float(g[j]) + float(f @ f)
            if k < 0 or sq < best:  # an older prototype wins ties, as in one scan
                k, best = hint.size + j, sq
        if k >= 0 and math.sqrt(max(best, 0.0) / f.size) <= radius:
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
            self._replaced += 1
        self._rows[k] = f
        self._sq[k] = float(f @ f)
        self._count[k] = 1

    def state(self) -> State:
        """The prototypes in use and the generator's state (replacements stay as seeded)."""
        n = self._n
        doc = {"replaced": self._replaced, "rng": self._rng.bit_generator.state}
        arrays = {
            "rows": self._rows[:n].copy(),
            "sq": self._sq[:n].copy(),
            "count": self._count[:n].copy(),
        }
        return doc, arrays

    def load_state(self, state: StateReader) -> None:
        rows = state.array("rows", np.float64, (None, self._rows.shape[1]))
        n = len(rows)
        if n > self._capacity:
            state.fail(f"{n} prototypes in a memory of capacity {self._capacity}")
        size = max(self._rows.shape[0], n)
        self._rows = np.empty((size, rows.shape[1]))
        self._sq = np.empty(size)
        self._count = np.zeros(size, dtype=np.int64)
        self._rows[:n] = rows
        self._sq[:n] = state.array("sq", np.float64, (n,))
        self._count[:n] = state.array("count", np.int64, (n,))
        self._n = n
        self._replaced = state.integer("replaced", lo=0)
        try:
            self._rng.bit_generator.state = _generator_state(state, type(self._rng.bit_generator))
        except (TypeError, ValueError, OverflowError) as exc:
            state.fail(f"{state.path}rng: {exc}")


class RollingQuantile:
    """Quantiles of the last ``size`` values, kept sorted (O(size) per update).

    Values live in two ``array("d")`` buffers (8 bytes each, not a Python float object per
    value): a ring in arrival order and a sorted copy. Snapshots carry them as bytes.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._ring = array("d")
        self._head = 0  # index of the oldest value once the ring is full
        self._sorted = array("d")

    def __len__(self) -> int:
        return len(self._ring)

    def add(self, x: float) -> None:
        """Insert ``x``, dropping the oldest value once the window is full."""
        if len(self._ring) < self._size:
            self._ring.append(x)
        else:
            old = self._ring[self._head]
            self._ring[self._head] = x
            self._head = (self._head + 1) % self._size
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        bisect.insort(self._sorted, x)

    def quantile(self, q: float) -> float:
        """The lower empirical ``q``-quantile (a stored value, no interpolation)."""
        return self._sorted[int(q * (len(self._sorted) - 1))]

    def state(self) -> State:
        ring = np.frombuffer(self._ring, dtype=np.float64).copy()
        return {"head": self._head}, {"ring": ring}

    def load_state(self, state: StateReader) -> None:
        """The sorted copy is rebuilt from the ring, so the two cannot disagree."""
        ring = state.array("ring", np.float64, (None,))
        head = state.integer("head", lo=0, hi=max(self._size - 1, 0))
        if len(ring) > self._size or (head and len(ring) < self._size):
            state.fail(f"a ring of {len(ring)} (head {head}) in a window of {self._size}")
        self._ring = array("d", ring.tobytes())
        self._sorted = array("d", np.sort(ring).tobytes())
        self._head = head


def _generator_state(state: StateReader, kind: type) -> dict[str, Any]:
    """A numpy bit generator's state as :meth:`PatternMemory.state` wrote it, checked: the
    same kind of generator, integers where it has integers."""
    rng = state.mapping("rng")
    inner = rng.get("state")
    ints = [rng.get("has_uint32"), rng.get("uinteger")]
    if isinstance(inner, dict):
        ints += [inner.get("state"), inner.get("inc")]
    if (
        rng.get("bit_generator") != kind.__name__
        or not isinstance(inner, dict)
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints)
    ):
        state.fail(f"{state.path}rng is not a {kind.__name__} state")
    return rng
