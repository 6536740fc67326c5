"""NAB's scoring method (Lavin & Ahmad 2015; Ahmad et al. 2017), written for careloop.

It follows numenta/NAB's ``nab/sweeper.py``, ``nab/runner.py`` (normalisation) and
``config/profiles.json``:

* each file has anomaly *windows* (inclusive row ranges); the first ``probation`` rows (15 % of
  the file, at most 750) are a learning period whose detections count for nothing;
* a detection is a row whose anomaly score is ``>= threshold``;
* inside a window only the best (= earliest) detection counts, worth
  ``A_TP * scaled_sigmoid(position) / scaled_sigmoid(-1)`` where ``position`` runs from -1 at
  the window's first row to about 0 at its last, so detecting at the start earns ``A_TP``;
* a window without a detection costs ``A_FN``;
* every detection outside a window costs ``A_FP`` times ``-scaled_sigmoid`` of its distance
  past the preceding window's end in window widths (1 before the first window, nearly 0
  just after a window, 1 beyond three widths);
* the raw score is summed over the corpus; the threshold is swept over every distinct score
  to the corpus-wide best (NAB's optimiser), per profile;
* a threshold meant for *other* files (:func:`choose_threshold`) is the one nearest a prior
  (the detector's alarm level) among those within a quarter of one window's worth of the best,
  since a sweep's exact optimum on a few dozen windows is mostly noise;
* normalised score ``100 * (S - S_null) / (S_perfect - S_null)`` with ``S_null = -A_FN * W``
  (nothing detected) and ``S_perfect = A_TP * W`` (a detection at every window's start).

Windows wholly inside the probation period are not scored (NAB names their rows
"probationary"); none of NAB's labelled windows is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

PROBATION_PERCENT = 0.15
#: NAB caps the probation at ``0.15 * 5000`` rows.
PROBATION_CAP = 750

_OUTSIDE = -1
_PROBATION = -2


@dataclass(frozen=True)
class CostProfile:
    """One of NAB's application profiles (``config/profiles.json``)."""

    tp: float
    fp: float
    fn: float


PROFILES: dict[str, CostProfile] = {
    "standard": CostProfile(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_fp": CostProfile(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_fn": CostProfile(tp=1.0, fp=0.11, fn=2.0),
}


@dataclass(frozen=True)
class LabelledSeries:
    """A file's length and its anomaly windows as inclusive ``(first, last)`` row indices."""

    name: str
    n: int
    windows: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        prev = -1
        for lo, hi in self.windows:
            if not 0 <= lo <= hi < self.n or lo <= prev:
                raise ValueError(f"{self.name}: windows must be sorted, disjoint, within rows")
            prev = hi


def probation_length(n: int) -> int:
    """NAB's probationary period: ``min(floor(0.15 n), 750)`` rows."""
    return int(min(math.floor(PROBATION_PERCENT * n), PROBATION_CAP))


def scaled_sigmoid(position: NDArray[np.float64]) -> NDArray[np.float64]:
    """``2 / (1 + exp(5 x)) - 1``, and -1 beyond three window widths (NAB's scaledSigmoid)."""
    x = np.asarray(position, dtype=float)
    val = 2.0 / (1.0 + np.exp(5.0 * np.minimum(x, 3.0))) - 1.0
    return np.where(x > 3.0, -1.0, val)


_MAX_TP = float(scaled_sigmoid(np.array(-1.0)))


@dataclass(frozen=True)
class Rows:
    """NAB's per-row sweep items for one or more files, as parallel arrays.

    ``window`` is a corpus-unique window id, -1 for rows outside windows (a detection there is
    a false positive) and -2 for probation rows; ``tp_part``/``fp_part`` are the unweighted
    scaled-sigmoid values the profile's weights multiply.
    """

    score: NDArray[np.float64]
    window: NDArray[np.int64]
    unweighted: NDArray[np.float64]
    n_windows: int

    def weighted(self, profile: CostProfile) -> NDArray[np.float64]:
        """Each row's contribution if detected, under ``profile``."""
        inside = self.window >= 0
        return np.where(
            inside, self.unweighted * profile.tp / _MAX_TP, self.unweighted * profile.fp
        )


def file_rows(series: LabelledSeries, scores: NDArray[np.float64], first_id: int = 0) -> Rows:
    """Label every row of one file the way NAB's ``Sweeper.calcSweepScore`` does."""
    a = np.asarray(scores, dtype=float)
    if a.shape != (series.n,):
        raise ValueError(f"{series.name}: {a.shape[0]} scores for {series.n} rows")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{series.name}: scores must be finite")
    idx = np.arange(series.n)
    window = np.full(series.n, _OUTSIDE, dtype=np.int64)
    unweighted = np.full(series.n, -1.0)  # before any window: a full false positive
    probation = probation_length(series.n)
    next_id = first_id
    for k, (lo, hi) in enumerate(series.windows):
        width = float(hi - lo + 1)
        rows = idx[lo : hi + 1]
        unweighted[lo : hi + 1] = scaled_sigmoid(-(hi - rows + 1) / width)
        if hi >= probation:  # a window wholly in probation is not scored
            window[lo : hi + 1] = next_id
            next_id += 1
        end = series.windows[k + 1][0] if k + 1 < len(series.windows) else series.n
        after = idx[hi + 1 : end]
        # NAB divides by (width - 1); a one-row window would divide by zero there.
        unweighted[hi + 1 : end] = scaled_sigmoid((after - hi) / max(width - 1.0, 1.0))
    window[:probation] = _PROBATION
    return Rows(score=a, window=window, unweighted=unweighted, n_windows=next_id - first_id)


def corpus_rows(items: Sequence[tuple[LabelledSeries, NDArray[np.float64]]]) -> Rows:
    """Rows of several files joined, with window ids unique across the corpus."""
    parts: list[Rows] = []
    first = 0
    for series, scores in items:
        part = file_rows(series, scores, first)
        parts.append(part)
        first += part.n_windows
    if not parts:
        raise ValueError("no files to score")
    return Rows(
        score=np.concatenate([p.score for p in parts]),
        window=np.concatenate([p.window for p in parts]),
        unweighted=np.concatenate([p.unweighted for p in parts]),
        n_windows=first,
    )


def sweep(rows: Rows, profile: CostProfile) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Raw score at every threshold, highest threshold first (NAB's ``calcScoreByThreshold``).

    Returns ``(thresholds, totals)``; the first threshold is ``+inf`` (nothing detected) and
    each next one is a distinct anomaly score, detections being rows scoring ``>=`` it.
    """
    keep = rows.window != _PROBATION
    a = rows.score[keep]
    w = rows.window[keep]
    gain = rows.weighted(profile)[keep]
    order = np.argsort(-a, kind="stable")
    a, w, gain = a[order], w[order], gain[order]
    delta = np.where(w == _OUTSIDE, gain, 0.0)
    inside = np.flatnonzero(w >= 0)
    if inside.size:
        by_window = inside[np.argsort(w[inside], kind="stable")]
        ids = w[by_window]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        for s, e in zip(starts, np.r_[starts[1:], ids.size], strict=True):
            pos = by_window[s:e]  # this window's rows, by descending anomaly score
            best = np.maximum.accumulate(gain[pos])
            delta[pos[0]] = best[0] + profile.fn  # first detection undoes the miss
            delta[pos[1:]] = np.diff(best)
    totals = -profile.fn * rows.n_windows + np.cumsum(delta)
    last_of_run = np.flatnonzero(np.r_[a[1:] != a[:-1], True])
    thresholds = np.r_[np.inf, a[last_of_run]]
    return thresholds, np.r_[-profile.fn * rows.n_windows, totals[last_of_run]]


def best_threshold(rows: Rows, profile: CostProfile) -> tuple[float, float]:
    """The threshold with the best corpus raw score (the highest one on ties) and that score."""
    thresholds, totals = sweep(rows, profile)
    k = int(np.argmax(totals))
    return float(thresholds[k]), float(totals[k])


def tie_margin(profile: CostProfile) -> float:
    """Raw-score differences below a quarter of one window's swing (miss to perfect) are ties."""
    return 0.25 * (profile.tp + profile.fn)


def choose_threshold(rows: Rows, profile: CostProfile, prior: float) -> tuple[float, float]:
    """A threshold to use on other files, and its raw score on ``rows``.

    Every threshold whose raw score is within :func:`tie_margin` of the best is as good on
    this evidence; of those, the one nearest ``prior`` is taken (higher score, then higher
    threshold, on exact ties). Thresholds between two distinct scores detect the same rows,
    so each step of the sweep is an interval and ``prior`` itself is taken when it lies in one.
    """
    thresholds, totals = sweep(rows, profile)
    best = float(totals.max())
    picks: list[tuple[float, float, float, float]] = []
    for k in np.flatnonzero(totals >= best - tie_margin(profile)).tolist():
        upper = float(thresholds[k])
        lower = float(thresholds[k + 1]) if k + 1 < thresholds.size else -math.inf
        if lower < prior <= upper:
            t = prior
        elif prior > upper:
            t = upper
        else:  # just above the next distinct score, which would add detections
            t = float(np.nextafter(lower, math.inf))
        total = float(totals[k])
        picks.append((abs(t - prior), -total, -t, total))
    _, _, neg_t, total = min(picks)
    return -neg_t, total


@dataclass(frozen=True)
class FileScore:
    """One file's raw score and counts at a fixed threshold."""

    raw: float
    tp: int
    fn: int
    fp: int


def score_at(rows: Rows, profile: CostProfile, threshold: float) -> FileScore:
    """Raw score with detections ``score >= threshold``, computed directly (no sweep)."""
    hit = (rows.score >= threshold) & (rows.window != _PROBATION)
    gain = rows.weighted(profile)
    fp_rows = hit & (rows.window == _OUTSIDE)
    raw = float(gain[fp_rows].sum())
    detected = np.unique(rows.window[hit & (rows.window >= 0)])
    for wid in detected:
        raw += float(gain[hit & (rows.window == wid)].max())
    missed = rows.n_windows - detected.size
    raw -= profile.fn * missed
    return FileScore(raw=raw, tp=int(detected.size), fn=int(missed), fp=int(fp_rows.sum()))


def normalise(raw: float, n_windows: int, profile: CostProfile) -> float:
    """NAB's 0-100 scale: 0 = the null detector, 100 = a detection at every window start."""
    if n_windows == 0:
        raise ValueError("normalisation needs at least one window")
    null = -profile.fn * n_windows
    perfect = profile.tp * n_windows
    return 100.0 * (raw - null) / (perfect - null)
