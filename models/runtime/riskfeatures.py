"""A resident's recent vital signs as a few running summaries, and the risk model's features.

The deterioration-risk model (:mod:`models.runtime.risk`) never sees a reading history, only
these summaries, kept per resident and vital in the engine's table and updated reading by
reading, vectorised over residents (:func:`update`). The same function turns replayed ICU
stays into the training rows of the shipped model (``models/evaluation/icu_train.py``), so
what the model was fitted on and what it scores in ``careloop score`` are the same numbers.

Every summary is **time-weighted** (a reading's weight grows with the time since the
previous one), so it means the same for a terminal sending every second as for a chart
filled in hourly:

* ``last``: the latest reading;
* ``fast`` / ``slow``: exponential means with time constants of 1 h and 24 h, the "now" and
  the "usual of the last day" (weight ``dt / (dt + tau)``, a rational stand-in for
  ``1 - exp(-dt / tau)`` that needs no ``exp`` per reading);
* ``var``: the exponentially weighted variance around ``slow``;
* ``hi`` / ``lo``: the highest and lowest ``fast`` of roughly the last 12 h (a running
  extreme that relaxes towards ``slow``), extremes of the smoothed level, not of one noisy
  reading;
* ``burden``: chart-hours of the last day, the NEWS2 score of each reading held until the
  next one (at most 4 h) and summed with a 24 h decay: 6 h at a score of 3 is 18. Short
  excursions stay small; only what lasts grows;
* ``chart``: the NEWS2 score of the latest reading (what ``burden`` adds next).

Consciousness is the ACVPU index (A = 0 ... U = 4); blood pressure has no diastolic chart
row, so diastolic pressure has no burden.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.news2 import score_parameter
from models.runtime.columns import COL
from models.runtime.table import Field

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The vitals fields the summaries follow, and their short names in feature names.
RISK_VITALS: dict[str, str] = {
    "heart_rate": "hr",
    "respiration_rate": "rr",
    "spo2": "spo2",
    "systolic_bp": "sbp",
    "diastolic_bp": "dbp",
    "temperature": "temp",
    "consciousness": "acvpu",
}
VITALS = tuple(RISK_VITALS)
_COLS = [COL[v] for v in VITALS]
STATS: tuple[str, ...] = ("last", "fast", "slow", "var", "hi", "lo", "burden", "chart")
LAST, FAST, SLOW, VAR, HI, LO, BURDEN, CHART = range(len(STATS))

_HOUR = 3_600_000.0
TAU_FAST_MS = 1 * _HOUR
TAU_SLOW_MS = 24 * _HOUR
TAU_EXTREME_MS = 12 * _HOUR
TAU_BURDEN_MS = 24 * _HOUR
#: A chart score counts towards the burden for at most this long after its reading.
HOLD_MAX_MS = 4 * _HOUR
#: At most one reading per vital and this many ms is folded in: every summary has a time
#: constant of an hour or more, so the other 59 readings of a terminal sending every second
#: would change nothing worth the work (and cost 10,000 residents 60 times as much).
MIN_GAP_MS = 60_000


def _chart_table(vital: str) -> tuple[float, float, F32] | None:
    """(lowest value, steps per unit, NEWS2 score per step) from :func:`score_parameter`."""
    if vital == "diastolic_bp":
        return None
    if vital == "consciousness":
        scores = [score_parameter("consciousness", level) for level in "ACVPU"]
        return 0.0, 1.0, np.array(scores, dtype=np.float32)
    per_unit = 10.0 if vital == "temperature" else 1.0
    lo, hi = (25.0, 45.0) if vital == "temperature" else (0.0, 300.0)
    steps = round((hi - lo) * per_unit)
    scores = [score_parameter(vital, lo + k / per_unit) for k in range(steps + 1)]
    return lo, per_unit, np.array(scores, dtype=np.float32)


_CHARTS = [_chart_table(v) for v in VITALS]


def chart_scores(x: F32) -> F32:
    """NEWS2 score of each value in ``x`` (columns in :data:`VITALS` order; NaN scores 0)."""
    out = np.zeros(x.shape, dtype=np.float32)
    for j, chart in enumerate(_CHARTS):
        if chart is None:
            continue
        lo, per_unit, scores = chart
        v = x[:, j]
        # rounded half up at the chart's resolution; the 3-decimal rounding first makes a
        # float32 35.05 (35.0499992) round like the written number, as models.news2 does
        steps = np.round((np.nan_to_num(v, nan=lo) - lo) * per_unit, 3)
        idx = np.floor(steps + 0.5)
        out[:, j] = scores[np.clip(idx, 0, len(scores) - 1).astype(np.intp)]
    return out


def fields() -> tuple[Field, ...]:
    """Per resident: the summaries (stat x vital) and when each vital was last read."""
    return (
        Field("risk_sum", np.float32, (len(STATS), len(VITALS)), math.nan),
        Field("risk_seen", np.int64, (len(VITALS),), 0),
    )


def readings(x: F32) -> F32:
    """The followed vitals' columns of a batch's field matrix (a copy, :data:`VITALS` order)."""
    return x[:, _COLS]


def due(seen: I64, x: F32, ts: I64) -> NDArray[np.bool_]:
    """Which readings of ``x`` (k, vitals) are folded in: measured, and the vital's first
    reading or at least :data:`MIN_GAP_MS` after the last one folded in."""
    return ~np.isnan(x) & ((seen == 0) | (ts[:, None] - seen >= MIN_GAP_MS))


def update(summary: F32, seen: I64, x: F32, ts: I64) -> tuple[F32, I64]:
    """The summaries after one reading per row: ``summary`` (k, stats, vitals) and ``seen``
    (k, vitals) as before the readings ``x`` (k, vitals; NaN = not measured) at ``ts`` (k,).

    Returns new arrays; a vital not measured, or not :func:`due`, keeps its summaries.
    """
    present = due(seen, x, ts)
    first = present & (seen == 0)
    dt = np.maximum(ts[:, None] - seen, 0).astype(np.float32)
    v = np.where(present, x, 0.0).astype(np.float32)
    fast_prev, slow_prev = summary[:, FAST], summary[:, SLOW]
    fast = fast_prev + dt / (dt + TAU_FAST_MS) * (v - fast_prev)
    a_slow = dt / (dt + TAU_SLOW_MS)
    d = v - slow_prev
    slow = slow_prev + a_slow * d
    var = (1.0 - a_slow) * (summary[:, VAR] + a_slow * d * d)
    relax = TAU_EXTREME_MS / (TAU_EXTREME_MS + dt)
    hi = np.maximum(fast, slow + (summary[:, HI] - slow) * relax)
    lo = np.minimum(fast, slow + (summary[:, LO] - slow) * relax)
    held_h = np.minimum(dt, HOLD_MAX_MS) / _HOUR
    burden = (
        summary[:, BURDEN] * (TAU_BURDEN_MS / (TAU_BURDEN_MS + dt)) + summary[:, CHART] * held_h
    )
    chart = chart_scores(v)
    zero = np.zeros_like(v)
    new = np.stack(
        [
            v,
            np.where(first, v, fast),
            np.where(first, v, slow),
            np.where(first, zero, var),
            np.where(first, v, hi),
            np.where(first, v, lo),
            np.where(first, zero, burden),
            chart,
        ],
        axis=1,
    )
    out = np.where(present[:, None, :], new, summary).astype(np.float32)
    return out, np.where(present, ts[:, None], seen)


# -- features -------------------------------------------------------------------------------------
_PER_VITAL = ("last", "fast", "slow", "trend", "sd", "hi", "lo", "burden")


def _names() -> tuple[str, ...]:
    names = []
    for j, vital in enumerate(VITALS):
        short = RISK_VITALS[vital]
        for stat in _PER_VITAL:
            if stat == "burden" and _CHARTS[j] is None:
                continue
            names.append(f"{short}_{stat}")
    return (*names, "shock_index", "shock_index_worst", "pulse_pressure")


#: Every feature :func:`features` computes, in its column order.
FEATURES: tuple[str, ...] = _names()
#: feature -> the vitals field it summarises (derived features: the first of their inputs).
FEATURE_VITAL: dict[str, str] = {
    **{name: v for v in VITALS for name in FEATURES if name.startswith(RISK_VITALS[v] + "_")},
    "shock_index": "heart_rate",
    "shock_index_worst": "heart_rate",
    "pulse_pressure": "systolic_bp",
}


def features(summary: F32, seen: I64) -> F64:
    """The feature matrix (k, len(FEATURES)) of ``summary``/``seen`` rows; NaN = never read."""
    s = summary.astype(np.float64)
    s[np.broadcast_to((seen == 0)[:, None, :], s.shape)] = np.nan
    cols: list[Any] = []
    for j in range(len(VITALS)):
        fast, slow = s[:, FAST, j], s[:, SLOW, j]
        cols += [s[:, LAST, j], fast, slow, fast - slow, np.sqrt(s[:, VAR, j])]
        cols += [s[:, HI, j], s[:, LO, j]]
        if _CHARTS[j] is not None:
            cols.append(s[:, BURDEN, j])
    hr, sbp, dbp = (VITALS.index(v) for v in ("heart_rate", "systolic_bp", "diastolic_bp"))
    with np.errstate(divide="ignore", invalid="ignore"):
        cols.append(s[:, FAST, hr] / s[:, FAST, sbp])
        cols.append(s[:, HI, hr] / s[:, LO, sbp])
    cols.append(s[:, FAST, sbp] - s[:, FAST, dbp])
    return np.column_stack(cols)
