"""Named configurations of :class:`MultiScaleNovelty`, and replaying them over one trace.

``DESIGNS`` is the small candidate set an evaluation chooses from by leaving whole categories
of series out (``careloop eval nab``). It is fixed in code, so every fold chooses from the
same set (it was written after exploring NAB's shared split: docs/evaluation/nab.md). Each
entry changes the detector's defaults along one axis that plausibly depends on the kind of
series, listed most general first (the order breaks ties):

* ``multiscale``: the defaults (window lengths 1-512 samples plus a day);
* ``patient``: a length scores only after 400 usual distances, not 100 (young calibrations
  are noisy);
* ``short_windows``: lengths 1, 8, 32 (plus a day) only, which learn faster on short series;
* ``no_day``: no day-long window (series without a daily rhythm);
* ``eager``: alarm at 1.25, refractory 150 steps (smooth series, subtle anomalies);
* ``calm``: alarm at 2.0, refractory 600 steps (spiky series).

``SLOW_SIGNALS`` holds the compact configurations for a resident's hourly or daily signals.

Running a detector is the costly part (pattern search); calibration and alarm discipline are
cheap. Since each window length keeps its own memory and random generator, the distances of a
length are the same whichever other lengths run beside it, so :func:`trace` runs the pattern
channels once for the union of the designs' lengths and :func:`replay` turns that trace into
any design's scores with the detector's own :class:`Calibration` and :class:`AlarmDiscipline`
objects. ``tests/models/test_stream_anomaly_designs.py`` checks that a replay equals running
the design's detector.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from models.base import ModelError, Observation
from models.stream_anomaly.alarm import AlarmDiscipline, Calibration
from models.stream_anomaly.channels import PatternChannels
from models.stream_anomaly.detector import MultiScaleNovelty, read_observation

#: candidate designs: parameter overrides of MultiScaleNovelty's defaults, most general first
DESIGNS: dict[str, dict[str, Any]] = {
    "multiscale": {},
    "patient": {"warmup": 400},
    "short_windows": {"scales": (1, 8, 32)},
    "no_day": {"day_scale": False},
    "eager": {"alarm_ratio": 1.25, "refractory": 150},
    "calm": {"alarm_ratio": 2.0, "refractory": 600},
}
#: the design MultiScaleNovelty's defaults are (chosen by leave-one-category-out on NAB)
DEFAULT_DESIGN = "multiscale"

#: A resident's slow signals, per reading cadence. Square roots make a count's noise
#: independent of its level (a restless night is judged on the scale of a busy afternoon).
#:
#: * hourly (activity counts, resting heart rate): windows of 3, 12 and 24 readings (bins of
#:   1-4 readings), prototypes merged within 10 % of the range (hourly counts are too noisy
#:   for 2 %), two weeks of usual distances, at most one report per two days;
#: * daily (night-time bathroom visits, time in bed): too few readings for shapes, so each
#:   window is its mean (``bins=1``: 3-, 7- and 14-day levels), half a year of usual
#:   distances, four weeks of warm-up, at most one report a week.
#:
#: Chosen on synthetic series (seeds 0-7), checked on other seeds: docs/evaluation/nab.md.
SLOW_SIGNALS: dict[str, dict[str, Any]] = {
    "hourly": {
        "transform": "sqrt",
        "scales": (3, 12, 24),
        "bins": 6,
        "day_scale": False,
        "radius": 0.1,
        "capacity": 64,
        "history": 336,
        "warmup": 48,
        "refractory": 48,
    },
    "daily": {
        "transform": "sqrt",
        "scales": (3, 7, 14),
        "bins": 1,
        "day_scale": False,
        "radius": 0.1,
        "capacity": 64,
        "history": 180,
        "warmup": 28,
        "refractory": 7,
    },
}

#: parameters that shape the pattern channels (a trace is only valid for equal values)
_CHANNEL_KEYS = (
    "field",
    "transform",
    "bins",
    "day_scale",
    "radius",
    "min_count",
    "capacity",
    "seed",
)


def slow_signal_detector(
    field: str = "value", cadence: Literal["hourly", "daily"] = "hourly", seed: int = 0
) -> MultiScaleNovelty:
    """A compact detector for a resident's hourly or daily signal (see ``SLOW_SIGNALS``)."""
    if cadence not in SLOW_SIGNALS:
        raise ModelError(f"cadence must be hourly or daily, got {cadence!r}")
    return MultiScaleNovelty(field=field, seed=seed, **SLOW_SIGNALS[cadence])


def design_params(name: str, seed: int = 0) -> dict[str, Any]:
    """All of MultiScaleNovelty's parameters for the design ``name``."""
    if name not in DESIGNS:
        raise ModelError(f"unknown design {name!r}; known: {', '.join(DESIGNS)}")
    return MultiScaleNovelty(seed=seed, **DESIGNS[name]).get_params()


def superset(designs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Parameters of one detector whose channels cover every design's window lengths."""
    params = [dict(p) for p in designs]
    if not params:
        raise ModelError("no designs to cover")
    base = params[0]
    for p in params[1:]:
        differ = [k for k in _CHANNEL_KEYS if k != "day_scale" and p[k] != base[k]]
        if differ:
            raise ModelError(f"designs differ in channel parameters {differ}: trace each apart")
    out = dict(base)
    out["scales"] = tuple(sorted({int(n) for p in params for n in p["scales"]}))
    out["day_scale"] = any(p["day_scale"] for p in params)
    return out


@dataclass(frozen=True)
class Trace:
    """The pattern channels' output for one stream: distances per row and window length."""

    params: dict[str, Any]
    lengths: tuple[int, ...]
    #: (rows, lengths); inf where a length had no distance (too early, or no prototype)
    distances: NDArray[np.float64]
    floors: NDArray[np.float64]
    #: rows whose value was readable; the others score 0 and are not learned
    readable: NDArray[np.bool_]
    day: int | None


def trace(params: Mapping[str, Any], observations: Iterable[Observation]) -> Trace:
    """Run the pattern channels of a detector with ``params`` over ``observations``."""
    p = MultiScaleNovelty(**params).get_params()  # validated, defaults filled in
    channels = PatternChannels(
        scales=p["scales"],
        bins=p["bins"],
        day_scale=p["day_scale"],
        radius=p["radius"],
        min_count=p["min_count"],
        capacity=p["capacity"],
        seed=p["seed"],
    )
    rows: list[tuple[float, ...] | None] = []
    floors: list[float] = []
    for x in observations:
        key = read_observation(x, p["field"], p["transform"])
        if key is None:
            rows.append(None)
            floors.append(0.0)
            continue
        m = channels.measure(key[0])
        rows.append(m.distances)
        floors.append(m.floor)
        channels.learn(key[0], key[1], m)
    lengths = channels.lengths
    distances = np.full((len(rows), len(lengths)), math.inf)
    for i, r in enumerate(rows):
        if r is not None:
            distances[i, : len(r)] = r  # the day window joins as the last column
    readable = np.array([r is not None for r in rows], dtype=bool)
    return Trace(p, lengths, distances, np.array(floors), readable, channels.day)


def replay(t: Trace, params: Mapping[str, Any]) -> NDArray[np.float64]:
    """The scores a detector with ``params`` gives the stream ``t`` was traced from."""
    return replay_all(t, [params])[0]


def replay_all(t: Trace, designs: Sequence[Mapping[str, Any]]) -> list[NDArray[np.float64]]:
    """:func:`replay` for several designs, calibrating each window length only once.

    A calibration's ratios depend on its length, ``history`` and ``quantile``; ``warmup`` only
    zeroes them while fewer distances are kept. So each distinct (length, history, quantile)
    is run once with ``warmup=1``, remembering how many distances it held at every row, and
    each design gates those ratios by its own warm-up before its alarm discipline.
    """
    params = [MultiScaleNovelty(**p).get_params() for p in designs]
    lengths = [_lengths_of(t, p) for p in params]
    ratios: dict[tuple[int, int, float], tuple[NDArray[np.float64], NDArray[np.int64]]] = {}
    for p, used in zip(params, lengths, strict=True):
        for n in used:
            key = (n, p["history"], p["quantile"])
            if key not in ratios:
                ratios[key] = _calibrate(t, n, p["history"], p["quantile"])
    out = []
    for p, used in zip(params, lengths, strict=True):
        raw = np.zeros(len(t.readable))
        for n in used:
            r, kept = ratios[(n, p["history"], p["quantile"])]
            np.maximum(raw, np.where(kept >= p["warmup"], r, 0.0), out=raw)
        out.append(_discipline(t.readable, raw, p))
    return out


def _lengths_of(t: Trace, p: Mapping[str, Any]) -> list[int]:
    """The window lengths a detector with ``p`` uses on ``t``'s stream (day window last)."""
    differ = [k for k in _CHANNEL_KEYS if k != "day_scale" and p[k] != t.params[k]]
    if differ or (p["day_scale"] and not t.params["day_scale"]):
        raise ModelError(f"the trace was made with other channel parameters {differ}")
    lengths = sorted({int(n) for n in p["scales"]})
    if p["day_scale"] and t.day is not None and t.day not in lengths:
        lengths.append(t.day)
    missing = [n for n in lengths if n not in t.lengths]
    if missing:
        raise ModelError(f"the trace has no window of length {missing}")
    return lengths


def _calibrate(
    t: Trace, length: int, history: int, quantile: float
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """One length's ratios (as if warmed up after one distance) and distances kept per row."""
    column = t.distances[:, t.lengths.index(length)].tolist()
    floors = t.floors.tolist()
    cal = Calibration(skip=length, history=history, quantile=quantile, warmup=1)
    ratio = np.zeros(len(column))
    kept = np.zeros(len(column), dtype=np.int64)
    for i in np.flatnonzero(t.readable).tolist():
        ratio[i] = cal.ratio(column[i], floors[i])
        kept[i] = len(cal)
        cal.learn(column[i])
    return ratio, kept


def _discipline(
    readable: NDArray[np.bool_], raw: NDArray[np.float64], p: Mapping[str, Any]
) -> NDArray[np.float64]:
    """Scores on the ``[0, 1)`` scale from the largest ratio of every readable row."""
    alarm = AlarmDiscipline(
        refractory=p["refractory"], alarm_ratio=p["alarm_ratio"], escalation=p["escalation"]
    )
    values = raw.tolist()
    out = np.zeros(len(values))
    for i in np.flatnonzero(readable).tolist():
        reported = alarm.report(values[i])
        alarm.learn(values[i], reported)
        out[i] = reported / (1.0 + reported)
    return out
