"""Vital-sign findings worded for a volunteer: which vitals, against which usual, by which rule.

The vitals component (:mod:`models.runtime.vitals`) decides *that* a rule fires; this module
says *what* it saw, as plain text and as :class:`~careloop.wire.needs.Evidence`
("SpO2 86.0 % (usual at this time of day 95.1 ± 0.9)"), never a name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from careloop.wire.needs import Evidence
from models.news2 import PARAMETERS
from models.runtime.columns import ACVPU_CODE, COL, VitalsBatch
from models.runtime.findings import Finding
from models.runtime.persist import Rule
from models.runtime.usual import BASELINE_INDEX as _BI
from models.runtime.usual import BINS, WARMUP, usual

_MIN = 60_000
_ACVPU = {code: letter for letter, code in ACVPU_CODE.items()}

_UNITS = {
    "heart_rate": "bpm",
    "spo2": "%",
    "respiration_rate": "/min",
    "systolic_bp": "mmHg",
    "diastolic_bp": "mmHg",
    "temperature": "°C",
}
_NAMES = {
    "heart_rate": "heart rate",
    "spo2": "SpO2",
    "respiration_rate": "breathing rate",
    "systolic_bp": "systolic BP",
    "diastolic_bp": "diastolic BP",
    "temperature": "temperature",
}

_RULE_TEXT = {
    "news2_high": "NEWS2 >= 7, >= 2 over usual, a vital >= 2.5 SD off usual, held 2 min",
    "news2_medium": "NEWS2 >= 5, >= 2 over usual, a vital >= 2.5 SD off usual, held 10 min",
    "hypoxia": "SpO2 <= 91 % and >= 3 SD below the resident's usual, held 2 min",
    "bp_crisis": "BP >= 180 systolic or >= 120 diastolic and unusual for the resident",
    "heart_rate": "heart rate >= 120 or <= 45 bpm and >= 3.5 SD from usual, held 4 min",
    "fever": "temperature >= 37.8 °C and >= 3 SD above usual on two readings",
    "heart_rate_personal": "heart rate at rest >= 5 SD from the resident's usual for 15 min",
    "news2_red": "one NEWS2 parameter scores 3 (red) and is >= 3 SD from usual, held 2 min",
}
_LEAD = {
    "news2_high": "NEWS2 high (7 or more)",
    "news2_medium": "NEWS2 medium (5-6), vital signs deteriorating",
    "hypoxia": "Low oxygen saturation",
    "bp_crisis": "Very high blood pressure",
    "heart_rate": "Heart rate out of range",
    "fever": "Fever",
    "heart_rate_personal": "Heart rate far from this resident's usual, at rest",
    "news2_red": "NEWS2 red score (one vital sign at the chart's extreme)",
}

#: The vitals an explanation names, per rule.
_FOCUS: dict[str, tuple[str, ...]] = {
    "news2_high": ("heart_rate", "respiration_rate", "spo2", "temperature", "systolic_bp"),
    "news2_medium": ("heart_rate", "respiration_rate", "spo2", "temperature", "systolic_bp"),
    "hypoxia": ("spo2", "respiration_rate", "heart_rate"),
    "bp_crisis": ("systolic_bp", "diastolic_bp", "heart_rate"),
    "heart_rate": ("heart_rate",),
    "heart_rate_personal": ("heart_rate",),
    "fever": ("temperature", "heart_rate", "respiration_rate"),
    "news2_red": (),
}


def explain(
    table: Any,
    rule: Rule,
    b: VitalsBatch,
    i: int,
    onset: int,
    z: NDArray[np.float32],
    agg: int,
    scored: int,
    b_idx: int,
    red_bits: int = 0,
) -> Finding:
    """The finding of ``rule`` firing on reading ``i`` of ``b`` (``b_idx``: its time-of-day
    bin; ``red_bits``: which NEWS2 parameters scored 3, for the red-score rule)."""
    slot, ts = int(b.resident[i]), int(b.ts[i])
    base = table["base"][slot]
    carry = table["carry"][slot]
    evidence: list[Evidence] = []
    parts: list[str] = []
    focus = _FOCUS[rule.name]
    if red_bits:
        focus = tuple(p for k, p in enumerate(PARAMETERS) if red_bits >> k & 1 and p in _BI)
        acvpu = float(carry[PARAMETERS.index("consciousness")])
        if red_bits >> PARAMETERS.index("consciousness") & 1 and np.isfinite(acvpu):
            letter = _ACVPU.get(int(acvpu), "?")
            evidence.append(
                Evidence(
                    measure="consciousness",
                    value=letter,
                    rule=_RULE_TEXT[rule.name],
                    ts=ts,
                )
            )
            parts.append(f"consciousness {letter} (new confusion or less responsive)")
    for name in focus:
        c = COL[name]
        value = float(b.x[i, c])
        if np.isnan(value) and name in PARAMETERS:
            value = float(carry[PARAMETERS.index(name)])
        if np.isnan(value):
            continue
        bi = _BI[name]
        n_all = float(base[2, bi, BINS])
        loc_a, sc_a = usual(base[:, bi, BINS], base[:, bi, b_idx])
        loc, sc = float(loc_a), float(sc_a)
        known = n_all >= WARMUP[name]
        unit = _UNITS[name]
        evidence.append(
            Evidence(
                measure=name,
                value=round(value, 1),
                unit=unit,
                baseline=round(loc, 1) if known else None,
                baseline_scale=round(sc, 2) if known else None,
                rule=_RULE_TEXT[rule.name],
                ts=ts,
            )
        )
        usual_text = f" (usual at this time of day {loc:.1f} ± {sc:.1f})" if known else ""
        parts.append(f"{_NAMES[name]} {value:.1f} {unit}{usual_text}")
    minutes = max(0, (ts - onset) // _MIN)
    lead = _LEAD[rule.name]
    since = f" for {minutes} min" if minutes >= 1 else ""
    news = f" NEWS2 {agg} ({scored} of 7 parameters charted)." if scored >= 5 else ""
    summary = f"{lead}{since}: " + "; ".join(parts) + "." + news
    score = (
        float(agg)
        if rule.name.startswith("news2")
        else float(np.nanmax(np.abs(z)))
        if np.isfinite(z).any()
        else 1.0
    )
    return Finding(slot, rule.kind, rule.tier, ts, onset, max(score, 0.0), summary[:600], evidence)
