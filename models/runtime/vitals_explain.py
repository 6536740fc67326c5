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
from models.runtime.findings import Finding, said
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
    parts: list[str] = []  # "kind:item" (careloop/i18n/summary.py)
    args: dict[str, str | int | float] = {}
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
            parts.append("acvpu:consciousness")
            args["consciousness_letter"] = letter
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
        parts.append(f"vital_usual:{name}" if known else f"vital:{name}")
        args[f"{name}_value"] = round(value, 1)
        if known:
            args[f"{name}_usual"], args[f"{name}_sd"] = round(loc, 1), round(sc, 1)
    minutes = max(0, (ts - onset) // _MIN)
    key = "summary.vitals" + ("_since" if minutes >= 1 else "") + ("_news" if scored >= 5 else "")
    text = said(
        key, lead_msg=f"summary.vitals_lead.{rule.name}", parts=",".join(parts), minutes=minutes,
        agg=agg, scored=scored, **args,
    )  # fmt: skip
    score = (
        float(agg)
        if rule.name.startswith("news2")
        else float(np.nanmax(np.abs(z)))
        if np.isfinite(z).any()
        else 1.0
    )
    return Finding(slot, rule.kind, rule.tier, ts, onset, max(score, 0.0), text, evidence)
