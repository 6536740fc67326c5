"""Per-stay features of the first 48 h of an ICU stay: vital signs and consciousness.

Used by ``careloop eval icu`` (PhysioNet/CinC 2012 layout: ``timeseries_long.csv.gz`` with
``RecordID,Time,Parameter,Value`` and ``outcomes.csv``). By default only the parameters in
:data:`PARAMETERS` are read and everything else is skipped at the reader, so no feature can
leak it in; ``read_stays(..., clinical=True)`` also keeps the labs, urine, oxygen and
descriptors of :mod:`models.features.icu_clinical` in a separate field of the stay, which
only the features of that module read.

Invasive and non-invasive blood pressures are merged into one series each (the chart does not
care how a pressure was taken); values outside a physiological range are recording errors in
this data set (SysABP 0, Temp -17.8) and are dropped. Features per stay, per series: how often
it was measured, first/last/min/max/mean/median/SD/slope, the means of the first and last
12 h, and how the worst values score on the NEWS2 chart (:mod:`models.news2`); then, on an
hourly grid with the last value carried forward, hours in NEWS2 bands, shock index, pulse
pressure and the hourly NEWS2 aggregate over the parameters present.
"""

from __future__ import annotations

import csv
import functools
import gzip
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from models.features.icu_clinical import CLINICAL, DESCRIPTORS
from models.features.stay import Stay
from models.news2 import news2, score_parameter

F64 = NDArray[np.float64]
HOURS = 48

#: raw parameter -> (series, lowest and highest plausible value). Nothing else is read.
PARAMETERS: dict[str, tuple[str, float, float]] = {
    "HR": ("hr", 1.0, 300.0),
    "RespRate": ("rr", 1.0, 80.0),
    "Temp": ("temp", 25.0, 45.0),
    "SysABP": ("sbp", 20.0, 300.0),
    "NISysABP": ("sbp", 20.0, 300.0),
    "DiasABP": ("dbp", 5.0, 200.0),
    "NIDiasABP": ("dbp", 5.0, 200.0),
    "MAP": ("map", 10.0, 250.0),
    "NIMAP": ("map", 10.0, 250.0),
    "SaO2": ("sao2", 20.0, 100.0),
    "GCS": ("gcs", 3.0, 15.0),
}
SERIES: tuple[str, ...] = ("hr", "rr", "temp", "sbp", "dbp", "map", "sao2", "gcs")
#: What a care terminal measures (no consciousness): the "vitals only" feature set.
VITAL_SERIES: tuple[str, ...] = tuple(s for s in SERIES if s != "gcs")
#: series -> NEWS2 chart row. SaO2 (arterial) stands in for SpO2; GCS 15 is Alert and any
#: lower GCS is not (V, P or U score 3 like new confusion). No air/oxygen row: FiO2 is not read.
NEWS2_ROWS: dict[str, str] = {
    "rr": "respiration_rate",
    "sao2": "spo2",
    "sbp": "systolic_bp",
    "hr": "heart_rate",
    "gcs": "consciousness",
    "temp": "temperature",
}
#: feature-name suffixes that only say *whether/how often* something was measured.
MEASUREMENT_FEATURES = ("_n", "_invasive_n", "_present")


def _hours(hhmm: str) -> float:
    h, m = hhmm.split(":")
    return int(h) + int(m) / 60.0


Raw = dict[str, tuple[list[float], list[float]]]


def read_stays(path: Path, *, clinical: bool = False) -> Iterator[Stay]:
    """Stays from ``timeseries_long.csv.gz``, reading only :data:`PARAMETERS` up to 48 h.

    ``clinical=True`` also reads :data:`~models.features.icu_clinical.CLINICAL` and
    :data:`~models.features.icu_clinical.DESCRIPTORS` (first value at or after admission).
    """
    raw: dict[int, Raw] = {}
    other: dict[int, Raw] = {}
    described: dict[int, dict[str, float]] = {}
    invasive: dict[int, int] = {}
    with gzip.open(path, "rt", newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        if header[:4] != ["RecordID", "Time", "Parameter", "Value"]:
            raise ValueError(f"{path}: unexpected header {header}")
        for rid_s, time_s, param, value_s in rows:
            rid = int(rid_s)
            series = raw.setdefault(rid, {})
            spec = PARAMETERS.get(param)
            if spec is None and clinical:
                spec = CLINICAL.get(param)
                series = other.setdefault(rid, {})
                if spec is None and param in DESCRIPTORS:
                    lo, hi = DESCRIPTORS[param]
                    v = float(value_s)
                    if lo <= v <= hi and _hours(time_s) <= HOURS:
                        described.setdefault(rid, {}).setdefault(param, v)
                    continue
            if spec is None:
                continue
            name, lo, hi = spec
            t, v = _hours(time_s), float(value_s)
            if not (lo <= v <= hi) or t > HOURS:
                continue
            ts, vs = series.setdefault(name, ([], []))
            ts.append(t)
            vs.append(v)
            if param == "SysABP":
                invasive[rid] = invasive.get(rid, 0) + 1
    for rid, series in raw.items():
        yield Stay(
            rid,
            _sorted(series),
            invasive.get(rid, 0),
            _sorted(other.get(rid, {})),
            described.get(rid, {}),
        )


def _sorted(series: Raw) -> dict[str, tuple[F64, F64]]:
    arrays = {}
    for name, (ts, vs) in series.items():
        order = np.argsort(np.asarray(ts), kind="stable")
        arrays[name] = (np.asarray(ts)[order], np.asarray(vs)[order])
    return arrays


def read_outcomes(path: Path) -> dict[int, tuple[int, float]]:
    """RecordID -> (in-hospital death 0/1, SAPS-I or NaN where -1 = missing)."""
    out: dict[int, tuple[int, float]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            saps = float(row["SAPS-I"])
            out[int(row["RecordID"])] = (
                int(row["In-hospital_death"]),
                math.nan if saps < 0 else saps,
            )
    return out


@functools.lru_cache(maxsize=65_536)
def _news2_value(series: str, v: float) -> int | None:
    row = NEWS2_ROWS[series]
    if row == "consciousness":
        return score_parameter(row, "A" if v >= 15 else "V")
    return score_parameter(row, v)


def _summary(t: F64, v: F64) -> dict[str, float]:
    n = len(v)
    out = {"n": float(n)}
    if n == 0:
        return out
    early, late = v[t <= 12.0], v[t >= HOURS - 12.0]
    out |= {
        "first": v[0],
        "last": v[-1],
        "min": v.min(),
        "max": v.max(),
        "mean": v.mean(),
        "median": float(np.median(v)),
        "sd": v.std() if n > 1 else math.nan,
        "early": early.mean() if len(early) else math.nan,
        "late": late.mean() if len(late) else math.nan,
    }
    if n >= 3 and np.ptp(t) > 1.0:
        out["slope"] = float(np.polyfit(t, v, 1)[0])  # per hour
    return out


def hourly(t: F64, v: F64) -> F64:
    """Hourly means on a 48-hour grid, the last value carried forward (NaN before the first)."""
    grid = np.full(HOURS, math.nan)
    if len(v) == 0:
        return grid
    idx = np.minimum(t.astype(int), HOURS - 1)
    sums, counts = np.bincount(idx, v, HOURS), np.bincount(idx, minlength=HOURS)
    seen = counts > 0
    grid[seen] = sums[seen] / counts[seen]
    last = np.maximum.accumulate(np.where(seen, np.arange(HOURS), -1))
    return np.where(last >= 0, grid[np.maximum(last, 0)], math.nan)


def _nan_stats(prefix: str, x: F64, stats: tuple[str, ...]) -> dict[str, float]:
    ok = x[~np.isnan(x)]
    funcs: dict[str, Callable[[F64], float]] = {
        "max": lambda a: float(a.max()),
        "min": lambda a: float(a.min()),
        "mean": lambda a: float(a.mean()),
        "last": lambda a: float(a[-1]),
    }
    return {f"{prefix}_{s}": funcs[s](ok) if len(ok) else math.nan for s in stats}


def stay_features(stay: Stay, series: tuple[str, ...] = SERIES) -> dict[str, float]:
    """The feature dict of one stay (missing values are NaN; absent keys mean NaN).

    Only ``series`` are read (e.g. :data:`VITAL_SERIES` leaves consciousness out, also from
    the NEWS2 aggregates).
    """
    feats: dict[str, float] = {"bp_invasive_n": float(stay.invasive_bp)}
    grids: dict[str, F64] = {}
    empty = (np.zeros(0), np.zeros(0))
    for name in SERIES:
        if name not in series:
            grids[name] = np.full(HOURS, math.nan)
            continue
        t, v = stay.series.get(name, empty)
        feats |= {f"{name}_{k}": float(x) for k, x in _summary(t, v).items()}
        feats[f"{name}_present"] = float(len(v) > 0)
        grids[name] = hourly(t, v)
        if name in NEWS2_ROWS and len(v):
            sub = np.array([_news2_value(name, float(x)) for x in v], dtype=float)
            feats[f"{name}_news2_worst"] = sub.max()
            feats[f"{name}_news2_mean"] = sub.mean()
            feats[f"{name}_news2_red_share"] = float((sub == 3).mean())
        if name in NEWS2_ROWS:
            graded = [_news2_value(name, float(x)) for x in grids[name] if not math.isnan(x)]
            feats[f"{name}_hours_news2_2plus"] = float(sum(1 for s in graded if s and s >= 2))
    feats["news2_worst_sum"] = sum(
        feats.get(f"{name}_news2_worst", 0.0) for name in NEWS2_ROWS
    )  # the "worst value per parameter" score: a missing parameter adds nothing
    with np.errstate(divide="ignore", invalid="ignore"):
        shock = grids["hr"] / grids["sbp"]
        pulse_pressure = grids["sbp"] - grids["dbp"]
    feats |= _nan_stats("shock_index", shock, ("max", "mean", "last"))
    feats |= _nan_stats("pulse_pressure", pulse_pressure, ("min", "mean"))
    feats |= _hourly_news2(grids)
    return feats


def _hourly_news2(grids: dict[str, F64]) -> dict[str, float]:
    """NEWS2 aggregate each hour over the parameters present (a lower bound), summarised."""
    rows = {"rr": "respiration_rate", "sao2": "spo2", "sbp": "systolic_bp", "hr": "heart_rate"}
    rows |= {"temp": "temperature"}
    agg = np.full(HOURS, math.nan)
    for h in range(HOURS):
        obs: dict[str, object] = {
            row: float(grids[s][h]) for s, row in rows.items() if not math.isnan(grids[s][h])
        }
        g = grids["gcs"][h]
        if not math.isnan(g):
            obs["consciousness"] = "A" if g >= 15 else "V"
        if obs:
            agg[h] = news2(obs).aggregate
    out = _nan_stats("news2_hourly", agg, ("max", "mean", "last"))
    out["news2_hourly_5plus"] = float(np.nansum(agg >= 5))
    return out


def feature_matrix(
    stays: list[Stay],
    *,
    exclude: tuple[str, ...] = (),
    series: tuple[str, ...] = SERIES,
    extra: Callable[[Stay], dict[str, float]] | None = None,
) -> tuple[F64, list[str]]:
    """Rows of :func:`stay_features` in ``stays`` order, as a matrix and its column names.

    Columns whose name ends with one of ``exclude`` are left out (e.g.
    :data:`MEASUREMENT_FEATURES` for a values-only ablation); ``series`` as in
    :func:`stay_features`; ``extra`` adds more features per stay (e.g.
    :func:`models.features.icu_clinical.clinical_features`).
    """
    rows = [stay_features(s, series) | (extra(s) if extra else {}) for s in stays]
    return matrix(rows, exclude=exclude)


def matrix(rows: list[dict[str, float]], *, exclude: tuple[str, ...] = ()) -> tuple[F64, list[str]]:
    """Feature dicts as a matrix (NaN where a key is absent) and its sorted column names."""
    names = sorted({k for r in rows for k in r if not (exclude and k.endswith(exclude))})
    X = np.array([[r.get(k, math.nan) for k in names] for r in rows], dtype=np.float64)
    return X, names
