"""Per-stay features beyond the vital signs: labs, urine, oxygen, ventilation, descriptors.

Only the "all inputs" model of ``careloop eval icu`` reads these (the runtime never sees
them: a care terminal sends none of them). They come from ``read_stays(..., clinical=True)``
(:mod:`models.features.icu`), which keeps them apart from the vital-sign series.

Values outside a plausible range are recording errors or placeholders in this data set (a
pH of 187, weights of 0 or -1, ages of 200) and are dropped at the reader, as for vitals.
Features per parameter: how often it was measured, first/last/min/max/mean; urine output
over the 48 h, per 24 h and the lowest 6-hour total, per kg where the weight is known;
whether the stay was ventilated; the worst PaO2/FiO2 ratio (each blood gas against the
FiO2 last charted before it); BUN/creatinine.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from models.features.stay import Stay

F64 = NDArray[np.float64]

#: raw parameter -> (series, lowest and highest plausible value).
CLINICAL: dict[str, tuple[str, float, float]] = {
    "BUN": ("bun", 1.0, 250.0),
    "Creatinine": ("creatinine", 0.1, 30.0),
    "Lactate": ("lactate", 0.1, 35.0),
    "pH": ("ph", 6.5, 8.0),
    "PaCO2": ("paco2", 5.0, 150.0),
    "PaO2": ("pao2", 15.0, 700.0),
    "HCT": ("hct", 5.0, 75.0),
    "K": ("k", 1.0, 12.0),
    "Platelets": ("platelets", 1.0, 2000.0),
    "Mg": ("mg", 0.2, 12.0),
    "HCO3": ("hco3", 1.0, 60.0),
    "Na": ("na", 90.0, 200.0),
    "WBC": ("wbc", 0.05, 250.0),
    "Glucose": ("glucose", 10.0, 2000.0),
    "AST": ("ast", 1.0, 30000.0),
    "ALT": ("alt", 1.0, 30000.0),
    "Bilirubin": ("bilirubin", 0.01, 80.0),
    "ALP": ("alp", 1.0, 6000.0),
    "Albumin": ("albumin", 0.3, 8.0),
    "TroponinT": ("troponin_t", 0.0, 60.0),
    "TroponinI": ("troponin_i", 0.0, 100.0),
    "Cholesterol": ("cholesterol", 20.0, 800.0),
    "FiO2": ("fio2", 0.21, 1.0),
    "Urine": ("urine", 0.0, 10000.0),
    "MechVent": ("mechvent", 0.0, 1.0),
}
#: descriptor -> (lowest, highest plausible); the first value at or after admission is kept.
DESCRIPTORS: dict[str, tuple[float, float]] = {
    "Age": (15.0, 110.0),
    "Gender": (0.0, 1.0),
    "Height": (100.0, 230.0),
    "Weight": (20.0, 300.0),
}
_SUMMARISED = tuple(name for name, _, _ in CLINICAL.values() if name not in ("urine", "mechvent"))


def _urine(t: F64, v: F64, weight: float) -> dict[str, float]:
    out = {
        "urine_n": float(len(v)),
        "urine_48h": float(v.sum()),
        "urine_first24": float(v[t <= 24.0].sum()),
        "urine_last24": float(v[t > 24.0].sum()),
        "urine_min6h": float(min(v[(t >= a) & (t < a + 6.0)].sum() for a in range(0, 48, 6))),
    }
    if not math.isnan(weight):
        out["urine_ml_kg_h"] = out["urine_48h"] / weight / 48.0
    return out


def _pf_ratio(stay: Stay) -> dict[str, float]:
    pao2, fio2 = stay.clinical.get("pao2"), stay.clinical.get("fio2")
    if pao2 is None or fio2 is None:
        return {}
    k = np.searchsorted(fio2[0], pao2[0], side="right") - 1
    ok = k >= 0
    if not ok.any():
        return {}
    ratio = pao2[1][ok] / fio2[1][k[ok]]
    return {"pf_ratio_min": float(ratio.min()), "pf_ratio_last": float(ratio[-1])}


def clinical_features(stay: Stay) -> dict[str, float]:
    """Labs, urine, oxygen, ventilation and descriptor features of one stay (NaN = missing)."""
    feats: dict[str, float] = {
        name.lower(): stay.descriptors.get(name, math.nan) for name in DESCRIPTORS
    }
    for name in _SUMMARISED:
        _, v = stay.clinical.get(name, (np.zeros(0), np.zeros(0)))
        feats[f"{name}_n"] = float(len(v))
        if len(v):
            feats |= {
                f"{name}_first": float(v[0]),
                f"{name}_last": float(v[-1]),
                f"{name}_min": float(v.min()),
                f"{name}_max": float(v.max()),
                f"{name}_mean": float(v.mean()),
            }
    urine = stay.clinical.get("urine")
    if urine is not None:
        feats |= _urine(urine[0], urine[1], feats["weight"])
    else:
        feats["urine_n"] = 0.0
    feats["mechvent"] = float("mechvent" in stay.clinical)
    feats |= _pf_ratio(stay)
    bun, creat = feats.get("bun_last", math.nan), feats.get("creatinine_last", math.nan)
    feats["bun_creatinine"] = bun / creat if creat > 0 else math.nan
    return feats
