"""NEWS2, exactly as the Royal College of Physicians chart (2017), on careloop readings.

NEWS2 is a fixed clinical rule, not a learned model: seven parameters each score 0-3 by the
chart's bands, the scores add up, and the aggregate (or a 3 in any single parameter) sets the
clinical-risk tier. It lives with the models because it is scored on the same readings and
answers the same question (how much in need is this resident now, higher = more).

Rules kept from the chart, and the choices the chart leaves to whoever automates it:

* **Rounding.** The chart's bands are written at the resolution a nurse charts (whole numbers
  for respiration rate, SpO2, systolic BP and pulse; one decimal for temperature), but devices
  send floats. Each value is first rounded to the chart's resolution, half up, as a nurse
  would write it down (RR 20.5 -> 21 -> scores 2; 35.04 °C -> 35.0 -> 3; 35.05 °C -> 35.1 ->
  1), then looked up in integer bands, so no band edge depends on float comparisons.
* **Missing is missing.** A parameter that is absent (``None`` or NaN) is listed in
  ``missing`` and never scored 0; ``aggregate`` is then the sum over the parameters present
  (a lower bound), ``complete`` is False and the tier is "at least" that tier.
* **SpO2 scale 2** is used only when a clinician set it for this resident (hypercapnic
  respiratory failure, target 88-92 %): the ``spo2_scale`` argument. It is never inferred
  from supplemental oxygen. On scale 2, SpO2 >= 93 % scores by air/oxygen, so with air/oxygen
  unknown the SpO2 score is undetermined and SpO2 is reported missing too.
* **Consciousness** is ACVPU; careloop's wire contract defines ``C`` as *new* confusion
  (chronic confusion is charted as the resident's usual state, ``A``), so C, V, P and U
  score 3.
* **Air or oxygen** scores 2 on oxygen, 0 on air (``supplemental_oxygen``).

Tiers (RCP): aggregate 0-4 "low"; a 3 in any single parameter with aggregate < 5
"low-medium" (urgent ward-based response); 5-6 "medium"; 7 or more "high".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from models.base import ModelError, Observation, StreamingDetector
from models.state import State, StateReader

Tier = Literal["low", "low-medium", "medium", "high"]
Scale = Literal[1, 2]

#: The chart's rows, in its order, named as in careloop's wire contract.
PARAMETERS: tuple[str, ...] = (
    "respiration_rate",
    "spo2",
    "supplemental_oxygen",
    "systolic_bp",
    "heart_rate",
    "consciousness",
    "temperature",
)

_INF = math.inf
#: (highest value in the band, inclusive, score) after rounding to the chart's resolution.
#: Temperature is in tenths of a degree so every band is on integers.
_BANDS: dict[str, tuple[tuple[float, int], ...]] = {
    "respiration_rate": ((8, 3), (11, 1), (20, 0), (24, 2), (_INF, 3)),
    "spo2": ((91, 3), (93, 2), (95, 1), (_INF, 0)),
    "systolic_bp": ((90, 3), (100, 2), (110, 1), (219, 0), (_INF, 3)),
    "heart_rate": ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (_INF, 3)),
    "temperature": ((350, 3), (360, 1), (380, 0), (390, 1), (_INF, 2)),
}
#: SpO2 scale 2 below 93 %, whatever the air/oxygen; from 93 % it depends on oxygen.
_SPO2_SCALE2_LOW: tuple[tuple[float, int], ...] = ((83, 3), (85, 2), (87, 1), (92, 0))
_SPO2_SCALE2_ON_OXYGEN: tuple[tuple[float, int], ...] = ((94, 1), (96, 2), (_INF, 3))
#: Decimals of the chart's resolution per numeric parameter.
_DECIMALS: dict[str, int] = {
    "respiration_rate": 0,
    "spo2": 0,
    "systolic_bp": 0,
    "heart_rate": 0,
    "temperature": 1,
}
_ACVPU: dict[str, int] = {"A": 0, "C": 3, "V": 3, "P": 3, "U": 3}


@dataclass(frozen=True, slots=True)
class News2Result:
    """One NEWS2 observation set, scored.

    ``scores`` holds only the parameters that could be scored; ``missing`` the others, in
    chart order. ``aggregate`` is the sum of ``scores`` (a lower bound when not ``complete``).
    """

    scores: Mapping[str, int]
    missing: tuple[str, ...]
    aggregate: int
    complete: bool
    red_score: bool
    tier: Tier


def chart_value(parameter: str, value: float) -> int:
    """``value`` rounded half up to the chart's resolution, as an integer on the band scale.

    Whole units for respiration rate, SpO2, systolic BP and pulse; tenths of a degree for
    temperature. ``Decimal(repr(value))`` rounds the number as written (35.05 -> 35.1), not
    its nearest binary float (35.04999...).
    """
    decimals = _DECIMALS[parameter]
    exact = Decimal(repr(float(value))).scaleb(decimals)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _band(bands: tuple[tuple[float, int], ...], v: int) -> int:
    for upper, score in bands:
        if v <= upper:
            return score
    raise AssertionError("the last band is open-ended")  # pragma: no cover


def _present(value: Any) -> bool:
    if value is None:
        return False
    return not (isinstance(value, numbers.Real) and math.isnan(value))


def score_parameter(
    parameter: str,
    value: Any,
    *,
    spo2_scale: Scale = 1,
    supplemental_oxygen: bool | None = None,
) -> int | None:
    """The chart's score for one parameter, or None when it cannot be scored (missing).

    ``supplemental_oxygen`` is needed only for SpO2 on scale 2 at 93 % or more.
    """
    if parameter not in PARAMETERS:
        raise ModelError(f"{parameter!r} is not a NEWS2 parameter (one of {PARAMETERS})")
    if not _present(value):
        return None
    if parameter == "consciousness":
        if value not in _ACVPU:
            raise ModelError(f"consciousness must be one of A, C, V, P, U, not {value!r}")
        return _ACVPU[value]
    if parameter == "supplemental_oxygen":
        if not isinstance(value, bool):
            raise ModelError(f"supplemental_oxygen must be a bool, not {value!r}")
        return 2 if value else 0
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ModelError(f"{parameter} must be a number, not {value!r}")
    v = chart_value(parameter, float(value))
    if parameter == "spo2" and spo2_scale == 2:
        if v <= 92:
            return _band(_SPO2_SCALE2_LOW, v)
        if supplemental_oxygen is None:
            return None  # undetermined: scale 2 at >= 93 % scores by air/oxygen
        return _band(_SPO2_SCALE2_ON_OXYGEN, v) if supplemental_oxygen else 0
    return _band(_BANDS[parameter], v)


def tier_of(aggregate: int, red_score: bool) -> Tier:
    """The RCP clinical-risk tier of an aggregate and whether any parameter scored 3."""
    if aggregate >= 7:
        return "high"
    if aggregate >= 5:
        return "medium"
    return "low-medium" if red_score else "low"


def news2(observations: Observation, *, spo2_scale: Scale = 1) -> News2Result:
    """Score one observation set (a reading dict with careloop's field names).

    ``spo2_scale`` is the resident's clinician-set SpO2 scale; keys other than the seven
    parameters (``ts``, ``steps``...) are ignored.
    """
    if spo2_scale not in (1, 2):
        raise ModelError(f"spo2_scale must be 1 or 2, not {spo2_scale!r}")
    oxygen = observations.get("supplemental_oxygen")
    scores: dict[str, int] = {}
    missing: list[str] = []
    for name in PARAMETERS:
        s = score_parameter(
            name,
            observations.get(name),
            spo2_scale=spo2_scale,
            supplemental_oxygen=oxygen if isinstance(oxygen, bool) else None,
        )
        if s is None:
            missing.append(name)
        else:
            scores[name] = s
    aggregate = sum(scores.values())
    red = any(s == 3 for s in scores.values())
    return News2Result(
        scores=scores,
        missing=tuple(missing),
        aggregate=aggregate,
        complete=not missing,
        red_score=red,
        tier=tier_of(aggregate, red),
    )


class News2Scorer(StreamingDetector):
    """NEWS2 in the streaming-detector shape, so the runtime and the check suite treat it
    like every other model.

    NEWS2 has no learned state: ``learn_one`` does nothing, ``score_one`` is the aggregate of
    the reading as it is (a lower bound when parameters are missing: combining readings from
    different devices into one observation set is the caller's job). The one per-resident
    parameter is ``spo2_scale``, set by a clinician; snapshot/restore keep it.
    """

    def __init__(self, spo2_scale: Scale = 1) -> None:
        self.spo2_scale = spo2_scale

    def score_one(self, x: Observation) -> float:
        return float(news2(x, spo2_scale=self.spo2_scale).aggregate)

    def result_one(self, x: Observation) -> News2Result:
        """The full result (per-parameter scores, missing list, tier) of one reading."""
        return news2(x, spo2_scale=self.spo2_scale)

    def learn_one(self, x: Observation) -> None:
        """Nothing to learn: the chart is fixed."""

    def state(self) -> State:
        return {}, {}

    def load_state(self, state: StateReader) -> None:
        """Nothing learned, nothing to load (the snapshot carries ``spo2_scale``)."""


# -- vectorised: the same chart over arrays, for the streaming runtime ---------------------------
def _chart_values(parameter: str, values: NDArray[Any]) -> NDArray[np.float64]:
    """Array twin of :func:`chart_value`: round half up at the chart's resolution.

    Values are first rounded to 3 decimals of the band scale so a float32 35.05 (stored as
    35.0499992) rounds up like the written number, as ``Decimal(repr(...))`` does; devices
    report far coarser than that, so no real value sits within 0.0005 of a half.
    """
    scaled = np.round(np.asarray(values, dtype=np.float64) * 10.0 ** _DECIMALS[parameter], 3)
    return np.floor(scaled + 0.5)


def _band_scores(bands: tuple[tuple[float, int], ...], v: NDArray[np.float64]) -> NDArray[np.int8]:
    uppers = np.array([u for u, _ in bands], dtype=np.float64)
    scores = np.array([s for _, s in bands], dtype=np.int8)
    return scores[np.searchsorted(uppers, v, side="left").clip(0, len(bands) - 1)]


def news2_arrays(
    columns: Mapping[str, NDArray[Any]], spo2_scale2: NDArray[np.bool_] | None = None
) -> tuple[NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]]:
    """NEWS2 over arrays: ``(aggregate, parameters scored, red score)`` per row.

    ``columns`` maps each of :data:`PARAMETERS` to a float array with NaN for missing;
    ``supplemental_oxygen`` is 0/1 and ``consciousness`` the index in ``A, C, V, P, U``.
    Same chart, same rounding and same "missing is missing" rule as :func:`news2` (a test
    checks them against each other); ``spo2_scale2`` marks rows on SpO2 scale 2.
    """
    total, scored, red = news2_parts(columns, spo2_scale2)
    return total, scored, red != 0


def news2_parts(
    columns: Mapping[str, NDArray[Any]], spo2_scale2: NDArray[np.bool_] | None = None
) -> tuple[NDArray[np.int8], NDArray[np.int8], NDArray[np.uint8]]:
    """:func:`news2_arrays` with the red score as bits: bit ``k`` is set where parameter
    ``PARAMETERS[k]`` scored 3, so a rule can say *which* vital is red."""
    n = len(columns["heart_rate"])
    total = np.zeros(n, dtype=np.int8)
    scored = np.zeros(n, dtype=np.int8)
    red = np.zeros(n, dtype=np.uint8)
    oxygen = np.asarray(columns["supplemental_oxygen"], dtype=np.float64)
    for bit, name in enumerate(PARAMETERS):
        raw = np.asarray(columns[name], dtype=np.float64)
        present = ~np.isnan(raw)
        if name == "consciousness":
            s = np.where(present & (raw > 0), 3, 0).astype(np.int8)
        elif name == "supplemental_oxygen":
            s = np.where(present & (raw > 0), 2, 0).astype(np.int8)
        else:
            v = _chart_values(name, np.where(present, raw, 0.0))
            s = _band_scores(_BANDS[name], v)
            if name == "spo2" and spo2_scale2 is not None and spo2_scale2.any():
                low = _band_scores(_SPO2_SCALE2_LOW, v)
                on_o2 = _band_scores(_SPO2_SCALE2_ON_OXYGEN, v)
                high = np.where(oxygen > 0, on_o2, 0).astype(np.int8)
                s = np.where(spo2_scale2, np.where(v <= 92, low, high), s).astype(np.int8)
                present &= ~(spo2_scale2 & (v > 92) & np.isnan(oxygen))
        s = np.where(present, s, 0).astype(np.int8)
        total += s
        scored += present
        red |= (s == 3).astype(np.uint8) << np.uint8(bit)
    return total, scored, red
