"""The vectorised NEWS2 used by the streaming runtime agrees with the chart implementation."""

from __future__ import annotations

import random

import numpy as np
import pytest

from models.news2 import PARAMETERS, news2, news2_arrays


def _random_rows(n: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for _ in range(n):
        r: dict[str, object] = {}
        if rng.random() < 0.9:
            r["respiration_rate"] = round(rng.uniform(3, 40), rng.choice([0, 1, 2]))
        if rng.random() < 0.9:
            r["spo2"] = round(rng.uniform(80, 100), rng.choice([0, 1, 2]))
        if rng.random() < 0.9:
            r["supplemental_oxygen"] = rng.random() < 0.3
        if rng.random() < 0.9:
            r["systolic_bp"] = round(rng.uniform(60, 240), rng.choice([0, 1, 2]))
        if rng.random() < 0.9:
            r["heart_rate"] = round(rng.uniform(30, 160), rng.choice([0, 1, 2]))
        if rng.random() < 0.9:
            r["consciousness"] = rng.choice("ACVPU")
        if rng.random() < 0.9:
            r["temperature"] = round(rng.uniform(34, 41), rng.choice([1, 2]))
        rows.append(r)
    # every band edge of the chart, exactly and half a unit either side
    for hr in (40, 40.5, 41, 50, 51, 90, 91, 110, 111, 130, 131):
        rows.append({"heart_rate": hr, "temperature": 35.05, "spo2": 91.5})
    for t in (35.0, 35.04, 35.05, 36.0, 36.05, 38.0, 38.05, 39.0, 39.05):
        rows.append({"temperature": t})
    return rows


def _columns(rows: list[dict[str, object]]) -> dict[str, np.ndarray]:
    cols = {}
    for p in PARAMETERS:
        vals = []
        for r in rows:
            v = r.get(p)
            if v is None:
                vals.append(np.nan)
            elif p == "consciousness":
                vals.append(float("ACVPU".index(str(v))))
            else:
                vals.append(float(v))  # type: ignore[arg-type]
        cols[p] = np.array(vals, dtype=np.float32)  # the runtime keeps float32
    return cols


@pytest.mark.parametrize("scale", [1, 2])
def test_arrays_match_the_chart_row_by_row(scale: int) -> None:
    rows = _random_rows(5000, seed=scale)
    agg, scored, red = news2_arrays(_columns(rows), np.full(len(rows), scale == 2))
    for i, row in enumerate(rows):
        res = news2(row, spo2_scale=scale)  # type: ignore[arg-type]
        assert (res.aggregate, len(PARAMETERS) - len(res.missing), res.red_score) == (
            agg[i],
            scored[i],
            red[i],
        ), row
