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

from models.baseline import VITALS as BASELINE_VITALS
from models.baseline import huber_kappa, robust_update
from models.news2 import PARAMETERS, news2_parts
from models.runtime.columns import COL, VitalsBatch
from models.runtime.findings import Finding
from models.runtime.persist import Rule, advance, persist_fields
from models.runtime.residents import Slots
from models.runtime.table import Field
from models.runtime.thresholds import Thresholds
from models.runtime.usual import (
    BASELINE_INDEX,
    BASELINE_NAMES,
    BINS,
    MIN_SCALE,
    WARMUP,
    usual,
)
from models.runtime.vitals_explain import explain

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

MEMORY = 2000
#: Heart rate at rest this many SDs from the resident's usual for 15 min is a need too.
PERSONAL_Z = 5.0
#: NEWS2 rules also need the aggregate this far above the resident's usual aggregate.
NEWS_ABOVE_USUAL = 2.0
#: ... and at least one of pulse, breathing or SpO2 this many SDs from the resident's usual.
NEWS_Z = 2.5
CLIP = 2.5
_KAPPA = huber_kappa(CLIP)
_BV = list(BASELINE_NAMES)
_BV_COLS = [COL[v] for v in _BV]
_BI = BASELINE_INDEX
_MIN_SCALE = MIN_SCALE
_PRIOR_SCALE = np.array([v.prior_scale for v in BASELINE_VITALS], dtype=np.float32)
#: Share of the last minute's readings an emergency's condition must hold on (persist.py):
#: a sustained condition passes within its hold time, a flickering one never does.
CONFIRM_SHARE = 0.8
RULES: tuple[Rule, ...] = (
    Rule("news2_high", "vitals_critical", "emergency", 2 * _MIN, 1 * _MIN, CONFIRM_SHARE),
    Rule("news2_medium", "vitals_deteriorating", "important", 10 * _MIN, 2 * _MIN),
    Rule("hypoxia", "hypoxia", "emergency", 2 * _MIN, 1 * _MIN, CONFIRM_SHARE),
    Rule("bp_crisis", "hypertensive_crisis", "emergency", 0, 25 * _MIN),
    Rule("heart_rate", "heart_rate_abnormal", "important", 4 * _MIN, 1 * _MIN),
    Rule("fever", "fever", "important", 4 * _MIN, 8 * _MIN),
    Rule("heart_rate_personal", "heart_rate_abnormal", "important", 15 * _MIN, 1 * _MIN),
)
_R = {r.name: k for k, r in enumerate(RULES)}
#: NEWS2's single-parameter red score (RCP: "urgent ward-based response"): one of the seven
#: parameters scores 3 and, where the vital has a baseline, is RED_Z SDs from the resident's
#: usual (new confusion always counts). Its own persistence arrays (prefix ``red``), so a
#: snapshot from before it existed still loads.
RED_RULES: tuple[Rule, ...] = (
    Rule("news2_red", "vitals_red_score", "important", 2 * _MIN, 1 * _MIN, CONFIRM_SHARE),
)
RED_Z = 3.0
#: (bit in the red mask, index on the baseline axis) of each red parameter with a baseline.
_RED_BASE = [(k, _BI[p], p) for k, p in enumerate(PARAMETERS) if p in _BI]
_CONSCIOUSNESS_BIT = 1 << PARAMETERS.index("consciousness")
#: An SpO2 reading this many points below the resident's reading of at most
#: ARTEFACT_WINDOW_MS before is held back as a probable artefact (a finger moved, the probe
#: slipped): blood does not desaturate that fast. The next reading decides: as low again,
#: it is a real drop and counts from then on (one reading later); back up, the dip was
#: noise and never reached a rule, a chart or a baseline.
ARTEFACT_DROP = 5.0
ARTEFACT_WINDOW_MS = 30_000
_SPO2 = COL["spo2"]


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
        # the last SpO2 as read (artefacts included) and when: the artefact filter's reference
        Field("spo2_last", np.float32, (), np.nan),
        Field("spo2_last_ts", np.int64, (), 0),
        *persist_fields(RULES),
        *persist_fields(RED_RULES, prefix="red"),
    )


class VitalsComponent:
    """NEWS2 + baselines + vital rules over one round of readings (distinct residents)."""

    def __init__(self, directory: Slots, thresholds: Thresholds) -> None:
        self.directory = directory
        self.thresholds = thresholds
        self._scale2_version = -1
        self._scale2_flags: NDArray[np.bool_] | None = None

    def step(self, table: Any, b: VitalsBatch, offset_min: NDArray[np.int64]) -> list[Finding]:
        r, ts = b.resident, b.ts
        b = _without_spo2_artefacts(table, b)
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
        agg, scored, red_bits = news2_parts(cols, scale2)
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

        minute = (ts // _MIN + offset_min) % 1440
        bins = (minute * BINS // 1440).astype(np.intp)
        base = table["base"]
        red = _red_unusual(base, r, bins, charted, red_bits)

        # 2. baselines: z before learning, then learn
        z = np.full((len(r), len(_BV)), np.nan, dtype=np.float32)
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
        th = self.thresholds
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
                # SpO2 is charted in whole percent: 91.4 is written 91
                "hypoxia": (spo2 < th.get("hypoxia_spo2", r) + 0.5)
                & unusual("spo2", zc("spo2") <= -3.0),
                "bp_crisis": (
                    (sbp >= th.get("systolic_crisis", r)) | (dbp >= th.get("diastolic_crisis", r))
                )
                & unusual("systolic_bp", (zc("systolic_bp") >= 2.5) | (zc("diastolic_bp") >= 2.5)),
                "heart_rate": (
                    (hr >= th.get("heart_rate_high", r)) | (hr <= th.get("heart_rate_low", r))
                )
                & unusual("heart_rate", np.abs(zc("heart_rate")) >= 3.5),
                "fever": (temp >= th.get("fever_c", r))
                & unusual("temperature", zc("temperature") >= 3.0),
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
                    explain(
                        table, rule, b, i, int(since[j]), z[i], int(agg[i]), int(scored[i]),
                        int(bins[i]),
                    )
                )  # fmt: skip
        for k, rule in enumerate(RED_RULES):
            if not red.any() and not table["red_since"][:, k].any():
                continue  # nobody red, no run to advance or expire (almost every round)
            fire, since = advance(table, k, rule, r, ts, red, prefix="red")
            for i in np.nonzero(fire)[0].tolist():
                out.append(
                    explain(
                        table, rule, b, i, int(since[i]), z[i], int(agg[i]), int(scored[i]),
                        int(bins[i]), int(red_bits[i]),
                    )
                )  # fmt: skip
        return out

    def scale2(self, r: NDArray[np.int64]) -> NDArray[np.bool_] | None:
        """Which of residents ``r`` are on NEWS2 SpO2 scale 2 (None: nobody is)."""
        if self._scale2_version != self.directory.version:
            flags = [res.profile.spo2_scale == 2 for res in self.directory.residents]
            self._scale2_flags = np.asarray(flags, dtype=np.bool_) if any(flags) else None
            self._scale2_version = self.directory.version
        return None if self._scale2_flags is None else self._scale2_flags[r]


def _red_unusual(
    base: NDArray[np.float32],
    r: NDArray[np.int64],
    bins: NDArray[np.intp],
    charted: NDArray[np.float32],
    red_bits: NDArray[np.uint8],
) -> NDArray[np.bool_]:
    """Rows whose NEWS2 red score is news for this resident: a red parameter that is
    :data:`RED_Z` SDs from their usual at this time of day, or whose baseline is still warming
    up (the chart decides), or new confusion. A resident whose everyday pulse is 38 is not
    red news every reading. Rows without a red score cost nothing (most of them)."""
    out = np.zeros(len(r), dtype=np.bool_)
    rows = np.nonzero(red_bits)[0]
    if len(rows) == 0:
        return out
    bits = red_bits[rows]
    news = (bits & _CONSCIOUSNESS_BIT) != 0
    for k, i, name in _RED_BASE:
        m = ((bits >> k) & 1) == 1
        if not m.any():
            continue
        rr, bb = r[rows[m]], bins[rows[m]]
        all_day = base[rr, :, i, BINS]
        loc, sc = usual(all_day, base[rr, :, i, bb])
        z = (charted[rows[m], k] - loc) / np.maximum(sc, _MIN_SCALE[i])
        news[m] |= (all_day[:, 2] < WARMUP[name]) | (np.abs(z) >= RED_Z)
    out[rows] = news
    return out


def _without_spo2_artefacts(table: Any, b: VitalsBatch) -> VitalsBatch:
    """``b`` with every SpO2 reading that dropped :data:`ARTEFACT_DROP` points or more since
    the resident's previous reading (within :data:`ARTEFACT_WINDOW_MS`) left out; ``b``
    itself (no copy) when there is none, as almost always."""
    r, ts = b.resident, b.ts
    spo2 = b.x[:, _SPO2]
    last, last_ts = table["spo2_last"][r], table["spo2_last_ts"][r]
    has = ~np.isnan(spo2)
    table["spo2_last"][r] = np.where(has, spo2, last)
    table["spo2_last_ts"][r] = np.where(has, ts, last_ts)
    artefact = has & (ts - last_ts <= ARTEFACT_WINDOW_MS) & (last - spo2 >= ARTEFACT_DROP)
    if not artefact.any():
        return b
    x = b.x.copy()
    x[artefact, _SPO2] = np.nan
    return VitalsBatch(r, ts, x)
