"""What a vital is judged against: each resident's usual, per time of day.

The vitals component learns, per resident and vital, a robust location and scale for the
whole day and for each of :data:`BINS` times of day (``table["base"]``); the rules'
z-scores, the explanations' "usual at this time of day" and other components' quotes of a
resident's usual all read them through the functions here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.baseline import VITALS as BASELINE_VITALS

BINS = 6
#: Readings of a vital before its baseline judges anything; vitals charted rarely warm up
#: on fewer readings (temperature every 5 min, blood pressure every 10 min).
WARMUP: dict[str, int] = {
    "heart_rate": 120,
    "spo2": 120,
    "respiration_rate": 120,
    "systolic_bp": 12,
    "diastolic_bp": 12,
    "temperature": 24,
}

#: The vitals with a baseline, in the order of the table's ``base`` axis.
BASELINE_NAMES: tuple[str, ...] = tuple(v.name for v in BASELINE_VITALS)
#: A baseline vital's index on that axis.
BASELINE_INDEX: dict[str, int] = {name: i for i, name in enumerate(BASELINE_NAMES)}
#: The smallest scale a baseline vital is divided by (no z of 40 from a flat night).
MIN_SCALE = np.array([v.min_scale for v in BASELINE_VITALS], dtype=np.float32)

#: A young time-of-day bin leans on the all-day estimate with weight n / (n + this), as
#: ``ResidentBaseline(bin_warmup=24)`` does.
BIN_WARMUP = 24.0


def usual(all_day: NDArray[np.float32], in_bin: NDArray[np.float32]) -> tuple[Any, Any]:
    """(location, scale) a reading is judged against, from ``[loc, scale, n]`` of the
    all-day estimate and of the time-of-day bin (last axis): the bin, shrunk towards the
    all-day estimate while it is young. The rules' z-scores and the explanations' "usual"
    both come from here."""
    n = in_bin[..., 2]
    w = n / (n + BIN_WARMUP)
    young = n <= 0
    loc = np.where(young, all_day[..., 0], w * in_bin[..., 0] + (1 - w) * all_day[..., 0])
    scale = np.where(young, all_day[..., 1], w * in_bin[..., 1] + (1 - w) * all_day[..., 1])
    return loc, scale


def personal_usual(table: Any, slot: int, vital: str) -> tuple[float, float] | None:
    """A resident's all-day usual ``(location, scale)`` of a baseline vital, once its baseline
    has warmed up (:data:`WARMUP`); None before that or for a vital without a baseline.
    Other components' explanations quote it ("usual 72 ± 6")."""
    i = BASELINE_INDEX.get(vital)
    if i is None:
        return None
    loc, scale, n = (float(v) for v in table["base"][slot, :, i, BINS])
    return (loc, scale) if n >= WARMUP[vital] else None
