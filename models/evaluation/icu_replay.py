"""ICU stays as careloop vitals readings: what a terminal at the bedside would have sent.

Each stay of :func:`models.features.icu.read_stays` becomes one resident's readings, in time
order: all that was charted in the same minute is one reading, with the PhysioNet
parameters mapped to careloop's vitals fields (:data:`FIELD_OF`): HR -> ``heart_rate``,
RespRate -> ``respiration_rate``, SaO2 (arterial, a few times a day) -> ``spo2``, systolic
and diastolic pressure (invasive or not) -> ``systolic_bp``/``diastolic_bp``, Temp ->
``temperature``, GCS -> ``consciousness`` on the ACVPU scale (:func:`acvpu_code`). Mean
arterial pressure has no careloop field and is left out.

A value outside the wire contract's range (:data:`careloop.wire.VITALS`) is left out, as
the contract would refuse it, and so is a pressure pair whose diastolic is not below its
systolic. Used by the risk model's training (``models/evaluation/icu_train.py``) and by
``careloop eval icu-runtime``, which feed these readings to the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from careloop.wire import ACVPU, VITALS
from models.features.icu import Stay
from models.runtime.columns import COL, FIELDS

#: PhysioNet series (models.features.icu) -> careloop vitals field.
FIELD_OF: dict[str, str] = {
    "hr": "heart_rate",
    "rr": "respiration_rate",
    "sao2": "spo2",
    "sbp": "systolic_bp",
    "dbp": "diastolic_bp",
    "temp": "temperature",
    "gcs": "consciousness",
}
_RANGE = {m.name: (m.lo, m.hi) for m in VITALS}
_MS_PER_MIN = 60_000
Row = list[float]


def acvpu_code(gcs: float) -> int:
    """GCS -> index in ACVPU: 15 alert (A); 13-14 confused (C); 9-12 responds to voice (V);
    4-8 to pain (P); 3 unresponsive (U). The usual rough correspondence (A ~ 15, V ~ 13,
    P ~ 8, U ~ 3); ICU GCS is often sedation, which this scale cannot tell apart."""
    if gcs >= 15:
        return ACVPU.index("A")
    if gcs >= 13:
        return ACVPU.index("C")
    if gcs >= 9:
        return ACVPU.index("V")
    if gcs >= 4:
        return ACVPU.index("P")
    return ACVPU.index("U")


@dataclass(frozen=True, slots=True)
class Replay:
    """Readings of many stays, sorted by (minute, stay): ``x`` is (n, len(FIELDS)), NaN =
    not sent; ``minute`` counts from the stay's admission."""

    stay: NDArray[np.int64]
    minute: NDArray[np.int64]
    x: NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.stay)

    def ts(self, t0_ms: int) -> NDArray[np.int64]:
        """Reading times (epoch ms) with every stay admitted at ``t0_ms``."""
        return t0_ms + self.minute * _MS_PER_MIN


def stay_readings(stay: Stay, *, series: tuple[str, ...] = tuple(FIELD_OF)) -> dict[int, Row]:
    """Minute since admission -> the reading of that minute (the last value charted in the
    minute wins); only ``series`` are sent, minutes with nothing left are dropped."""
    out: dict[int, Row] = {}
    for name, (t, v) in stay.series.items():
        field = FIELD_OF.get(name)
        if field is None or name not in series:
            continue
        lo, hi = _RANGE[field]
        for hours, value in zip(t.tolist(), v.tolist(), strict=True):
            if field == "consciousness":
                value = float(acvpu_code(value))
            elif (lo is not None and value < lo) or (hi is not None and value > hi):
                continue
            row = out.setdefault(round(hours * 60), [math.nan] * len(FIELDS))
            row[COL[field]] = value
    sbp, dbp = COL["systolic_bp"], COL["diastolic_bp"]
    for row in out.values():
        if row[dbp] >= row[sbp]:  # False when either is NaN
            row[sbp] = row[dbp] = math.nan
    return {m: row for m, row in sorted(out.items()) if not all(map(math.isnan, row))}


def replay(stays: list[Stay], *, series: tuple[str, ...] = tuple(FIELD_OF)) -> Replay:
    """Every stay's readings (stay = index in ``stays``), in time order across stays."""
    stay_ix: list[int] = []
    minutes: list[int] = []
    rows: list[Row] = []
    for i, stay in enumerate(stays):
        for minute, row in stay_readings(stay, series=series).items():
            stay_ix.append(i)
            minutes.append(minute)
            rows.append(row)
    s, m = np.asarray(stay_ix, dtype=np.int64), np.asarray(minutes, dtype=np.int64)
    x = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(FIELDS))
    order = np.lexsort((s, m))
    return Replay(s[order], m[order], x[order])
