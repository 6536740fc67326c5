"""Vital signs: NEWS2 on the charted values, per-resident baselines, and the vital rules.

Per reading, for thousands of residents at once:

1. **Carry forward** the last value of each NEWS2 parameter (temperature comes every few
   minutes, blood pressure every ten), as a nurse's chart does, while it is fresh enough
   (:data:`MAX_AGE_MS`), then score NEWS2 with :func:`models.news2.news2_arrays`.
2. **Baselines**: each vital's robust z against this resident at this time of day, with the
   same online Huber step as :class:`models.baseline.ResidentBaseline`
   (:func:`models.baseline.robust_update`), scored *before* the reading is learned.
3. **Rules** (:data:`RULES`) combine chart thresholds with "unusual for this resident" so a
   resident whose normal SpO2 is 92 % is not paged all day, and each must persist
   (:mod:`models.runtime.persist`) before it becomes a finding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from careloop.wire.needs import Evidence
from models.baseline import VITALS as BASELINE_VITALS
from models.baseline import huber_kappa, robust_update
from models.news2 import PARAMETERS, news2_arrays
from models.runtime.columns import COL, VitalsBatch
from models.runtime.findings import Finding
from models.runtime.persist import Rule, advance, persist_fields
from models.runtime.residents import Slots
from models.runtime.table import Field

_MIN = 60_000
#: How long a charted value stands in for a new one (ms), per NEWS2 parameter.
MAX_AGE_MS: dict[str, int] = {
    "respiration_rate": 2 * _MIN,
    "spo2": 2 * _MIN,
    "supplemental_oxygen": 30 * _MIN,
    "systolic_bp": 30 * _MIN,
    "heart_rate": 2 * _MIN,
    "consciousness": 15 * _MIN,
    "temperature": 15 * _MIN,
}
_NEWS_COLS = [COL[p] for p in PARAMETERS]
_NEWS_AGE = np.array([MAX_AGE_MS[p] for p in PARAMETERS], dtype=np.int64)

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
MEMORY = 2000
#: Heart rate at rest this many SDs from the resident's usual for 15 min is a need too.
PERSONAL_Z = 5.0
#: NEWS2 rules also need the aggregate this far above the resident's usual aggregate.
NEWS_ABOVE_USUAL = 2.0
#: ... and at least one of pulse, breathing or SpO2 this many SDs from the resident's usual.
NEWS_Z = 2.5
CLIP = 2.5
_KAPPA = huber_kappa(CLIP)
_BV = [v.name for v in BASELINE_VITALS]
_BV_COLS = [COL[v] for v in _BV]
_BI = {name: i for i, name in enumerate(_BV)}
_MIN_SCALE = np.array([v.min_scale for v in BASELINE_VITALS], dtype=np.float32)
_PRIOR_SCALE = np.array([v.prior_scale for v in BASELINE_VITALS], dtype=np.float32)
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

RULES: tuple[Rule, ...] = (
    Rule("news2_high", "vitals_critical", "emergency", 2 * _MIN, 1 * _MIN),
    Rule("news2_medium", "vitals_deteriorating", "important", 10 * _MIN, 2 * _MIN),
    Rule("hypoxia", "hypoxia", "emergency", 2 * _MIN, 1 * _MIN),
    Rule("bp_crisis", "hypertensive_crisis", "emergency", 0, 25 * _MIN),
    Rule("heart_rate", "heart_rate_abnormal", "important", 4 * _MIN, 1 * _MIN),
    Rule("fever", "fever", "important", 4 * _MIN, 8 * _MIN),
    Rule("heart_rate_personal", "heart_rate_abnormal", "important", 15 * _MIN, 1 * _MIN),
)
_R = {r.name: k for k, r in enumerate(RULES)}


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
    i = _BI.get(vital)
    if i is None:
        return None
    loc, scale, n = (float(v) for v in table["base"][slot, :, i, BINS])
    return (loc, scale) if n >= WARMUP[vital] else None


def fields() -> tuple[Field, ...]:
    """The per-resident arrays this component keeps."""
    return (
        Field("carry", np.float32, (len(PARAMETERS),), np.nan),
        Field("carry_ts", np.int64, (len(PARAMETERS),), 0),
        # [location | scale | count] x baseline vital x (time-of-day bins..., all-day)
        Field("base", np.float32, (3, len(_BV), BINS + 1), 0.0),
        # the resident's usual NEWS2 aggregate (exponential mean over charted readings)
        Field("news_mean", np.float32, (), 0.0),
        Field("news_n", np.float32, (), 0.0),
        *persist_fields(RULES),
    )


class VitalsComponent:
    """NEWS2 + baselines + vital rules over one round of readings (distinct residents)."""

    def __init__(self, directory: Slots) -> None:
        self.directory = directory
        self._scale2_version = -1
        self._scale2_flags: NDArray[np.bool_] | None = None

    def step(self, table: Any, b: VitalsBatch, offset_min: NDArray[np.int64]) -> list[Finding]:
        r, ts = b.resident, b.ts
        # 1. NEWS2 on the charted (carried) values
        new = b.x[:, _NEWS_COLS]
        present = ~np.isnan(new)
        carry = np.where(present, new, table["carry"][r])
        carry_ts = np.where(present, ts[:, None], table["carry_ts"][r])
        table["carry"][r] = carry
        table["carry_ts"][r] = carry_ts
        fresh = (ts[:, None] - carry_ts) <= _NEWS_AGE
        charted = np.where(fresh, carry, np.nan)
        cols = {p: charted[:, k] for k, p in enumerate(PARAMETERS)}
        scale2 = self.scale2(r)
        agg, scored, _red = news2_arrays(cols, scale2)
        charted_enough = scored >= 5
        news_mean, news_n = table["news_mean"][r], table["news_n"][r]
        # a NEWS2 that is this resident's everyday score (chronic COPD, a slow pulse) is
        # not news: the aggregate must also be NEWS_ABOVE_USUAL over their usual
        usual_news = np.where(news_n >= WARMUP["heart_rate"], news_mean, 0.0)
        alpha = np.maximum(1.0 / (news_n + 1.0), 1.0 / MEMORY)
        table["news_mean"][r] = np.where(
            charted_enough, news_mean + alpha * (agg - news_mean), news_mean
        )
        table["news_n"][r] = news_n + charted_enough

        # 2. baselines: z before learning, then learn
        minute = (ts // _MIN + offset_min) % 1440
        bins = (minute * BINS // 1440).astype(np.intp)
        z = np.full((len(r), len(_BV)), np.nan, dtype=np.float32)
        base = table["base"]
        for i, c in enumerate(_BV_COLS):
            v = b.x[:, c]
            m = ~np.isnan(v)
            if not m.any():
                continue
            rr, bb, vv = r[m], bins[m], v[m]
            all_day = base[rr, :, i, BINS]  # (k, 3)
            in_bin = base[rr, :, i, bb]
            loc, sc = usual(all_day, in_bin)
            warm = all_day[:, 2] >= WARMUP[_BV[i]]
            zi = np.where(warm, (vv - loc) / np.maximum(sc, _MIN_SCALE[i]), np.nan)
            z[m, i] = zi
            for j, memory, cur in ((BINS, MEMORY * BINS, all_day), (bb, MEMORY, in_bin)):
                loc2, sc2, n2 = robust_update(
                    cur[:, 0],
                    cur[:, 1],
                    cur[:, 2],
                    vv,
                    memory=float(memory),
                    clip=CLIP,
                    kappa=_KAPPA,
                    min_scale=_MIN_SCALE[i],
                    prior_scale=_PRIOR_SCALE[i],
                )
                base[rr, 0, i, j] = loc2
                base[rr, 1, i, j] = sc2
                base[rr, 2, i, j] = n2

        # 3. rules
        def zc(name: str) -> NDArray[np.float32]:
            return z[:, _BI[name]]

        def unusual(name: str, cond: NDArray[np.bool_]) -> NDArray[np.bool_]:
            # unknown (warming up / absent) counts as unusual: the chart threshold decides
            zi = zc(name)
            return np.isnan(zi) | cond

        hr = b.col("heart_rate")
        spo2 = b.col("spo2")
        sbp, dbp = b.col("systolic_bp"), b.col("diastolic_bp")
        temp = b.col("temperature")
        with np.errstate(invalid="ignore"):
            # a changed NEWS2 must come with at least one vital unusual for this resident
            changed = (
                (np.abs(zc("heart_rate")) >= NEWS_Z)
                | (np.abs(zc("respiration_rate")) >= NEWS_Z)
                | (zc("spo2") <= -NEWS_Z)
            )
            news_up = charted_enough & (agg >= usual_news + NEWS_ABOVE_USUAL) & changed
            conds = {
                "news2_high": (agg >= 7) & news_up,
                "news2_medium": (agg >= 5) & news_up,
                "hypoxia": (spo2 <= 91.4) & unusual("spo2", zc("spo2") <= -3.0),
                "bp_crisis": ((sbp >= 180) | (dbp >= 120))
                & unusual("systolic_bp", (zc("systolic_bp") >= 2.5) | (zc("diastolic_bp") >= 2.5)),
                "heart_rate": ((hr >= 120) | (hr <= 45))
                & unusual("heart_rate", np.abs(zc("heart_rate")) >= 3.5),
                "fever": (temp >= 37.8) & unusual("temperature", zc("temperature") >= 3.0),
                # 95 bpm at rest is news for a resident whose usual is 60, not for one at 95
                "heart_rate_personal": (np.abs(zc("heart_rate")) >= PERSONAL_Z)
                & (b.col("activity") < 1.5)
                & (b.col("steps") == 0),
            }
        out: list[Finding] = []
        every = np.arange(len(r))
        for k, rule in enumerate(RULES):
            # BP and temperature rules judge fresh measurements only; between two of them
            # the run stays as it was
            if rule.name == "bp_crisis":
                rows = np.nonzero(~np.isnan(sbp) | ~np.isnan(dbp))[0]
            elif rule.name == "fever":
                rows = np.nonzero(~np.isnan(temp))[0]
            else:
                rows = every
            if len(rows) == 0:
                continue
            fire, since = advance(table, k, rule, r[rows], ts[rows], conds[rule.name][rows])
            for j in np.nonzero(fire)[0].tolist():
                i = int(rows[j])
                out.append(
                    self._finding(
                        table,
                        rule,
                        b,
                        i,
                        int(since[j]),
                        z[i],
                        int(agg[i]),
                        int(scored[i]),
                        int(bins[i]),
                    )
                )
        return out

    def scale2(self, r: NDArray[np.int64]) -> NDArray[np.bool_] | None:
        """Which of residents ``r`` are on NEWS2 SpO2 scale 2 (None: nobody is)."""
        if self._scale2_version != self.directory.version:
            flags = [res.profile.spo2_scale == 2 for res in self.directory.residents]
            self._scale2_flags = np.asarray(flags, dtype=np.bool_) if any(flags) else None
            self._scale2_version = self.directory.version
        return None if self._scale2_flags is None else self._scale2_flags[r]

    def _finding(
        self,
        table: Any,
        rule: Rule,
        b: VitalsBatch,
        i: int,
        onset: int,
        z: NDArray[np.float32],
        agg: int,
        scored: int,
        b_idx: int,
    ) -> Finding:
        slot, ts = int(b.resident[i]), int(b.ts[i])
        base = table["base"][slot]
        carry = table["carry"][slot]
        evidence: list[Evidence] = []
        parts: list[str] = []
        for name in _FOCUS[rule.name]:
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
        return Finding(
            slot, rule.kind, rule.tier, ts, onset, max(score, 0.0), summary[:600], evidence
        )


_RULE_TEXT = {
    "news2_high": "NEWS2 >= 7, >= 2 over usual, a vital >= 2.5 SD off usual, held 2 min",
    "news2_medium": "NEWS2 >= 5, >= 2 over usual, a vital >= 2.5 SD off usual, held 10 min",
    "hypoxia": "SpO2 <= 91 % and >= 3 SD below the resident's usual, held 2 min",
    "bp_crisis": "BP >= 180 systolic or >= 120 diastolic and unusual for the resident",
    "heart_rate": "heart rate >= 120 or <= 45 bpm and >= 3.5 SD from usual, held 4 min",
    "fever": "temperature >= 37.8 °C and >= 3 SD above usual on two readings",
    "heart_rate_personal": "heart rate at rest >= 5 SD from the resident's usual for 15 min",
}
_LEAD = {
    "news2_high": "NEWS2 high (7 or more)",
    "news2_medium": "NEWS2 medium (5-6), vital signs deteriorating",
    "hypoxia": "Low oxygen saturation",
    "bp_crisis": "Very high blood pressure",
    "heart_rate": "Heart rate out of range",
    "fever": "Fever",
    "heart_rate_personal": "Heart rate far from this resident's usual, at rest",
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
}
