"""Deterioration risk: the shipped risk model, scored for every resident on the timer tick.

Reading by reading, :meth:`RiskComponent.step` keeps each resident's recent-vitals summaries
(:mod:`models.runtime.riskfeatures`) in the engine's table. On the timer tick,
:meth:`RiskComponent.tick` scores, in one matrix product, every resident who is due:

1. **Due** every :data:`EVERY_MS` (30 min) of reading time, from :data:`WARMUP_MS` (6 h)
   after the resident's first reading, while readings keep coming (:data:`STALE_MS`).
2. **Held risk**: the lowest model risk of the last :data:`HOLD_MS` (6 h) of scorings, kept in
   a small ring per resident; a risk that held for hours, not one odd half-hour. This is
   the risk the runtime assigns (``risk_held``); it exists from 12 h after the first reading.
3. A ``deterioration_risk`` need opens when the held risk is **high** (at least the model's
   threshold) **and rising**: its odds :data:`RISE` times the resident's usual risk (an
   exponential mean of their held log-odds over ~12 h). A resident whose risk has always
   been high is not news to their carers; one whose risk climbs is. Tier ``important``;
   ``emergency`` when the NEWS2 chart is red on the latest readings (any parameter scoring
   3, or 7 in total).
4. The explanation names the vitals that raised the risk most (the model's terms, summed
   per vital), each against the resident's usual: their personal baseline once it has
   warmed up (:func:`models.runtime.vitals.personal_usual`), else the last day's mean.

Without a model the component does nothing and says so (:attr:`RiskComponent.status`); the
engine keeps scoring on its rules.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from careloop.wire import ACVPU
from careloop.wire.needs import Evidence
from models.base import ModelError
from models.news2 import PARAMETERS, news2_arrays
from models.runtime import riskfeatures as rf
from models.runtime.columns import VitalsBatch
from models.runtime.findings import Finding, said
from models.runtime.riskmodel import DEFAULT_PATH, RiskModel, default_risk_model, load_risk_model
from models.runtime.table import Field
from models.runtime.usual import personal_usual

log = logging.getLogger(__name__)

_MIN = 60_000
_HOUR = 60 * _MIN
EVERY_MS = 30 * _MIN
WARMUP_MS = 6 * _HOUR
HOLD_MS = 6 * _HOUR
HOLD_SLOTS = HOLD_MS // EVERY_MS
#: A resident with no reading for this long is not rescored (nothing new to judge).
STALE_MS = 4 * _HOUR
#: Time constant of the resident's usual risk (exponential mean of held log-odds).
TAU_USUAL_MS = 12 * _HOUR
#: Rising: odds at least this many times the resident's usual odds.
RISE = 1.5
#: Readings at most this old (before the resident's latest) count for "NEWS2 red now".
RED_FRESH_MS = 1 * _HOUR
#: The vitals an explanation names at most.
TOP = 3

_UNITS = {
    "heart_rate": "bpm",
    "respiration_rate": "/min",
    "spo2": "%",
    "systolic_bp": "mmHg",
    "diastolic_bp": "mmHg",
    "temperature": "°C",
    "consciousness": "",
}
_NEWS_FOLLOWED = [p for p in PARAMETERS if p in rf.RISK_VITALS]


def fields() -> tuple[Field, ...]:
    """Per resident: the vitals summaries, scoring times, the held-risk ring and its usual."""
    return (
        *rf.fields(),
        Field("risk_first", np.int64, (), 0),
        Field("risk_latest", np.int64, (), 0),
        Field("risk_scored", np.int64, (), 0),
        Field("risk_ring", np.float32, (HOLD_SLOTS,), math.nan),
        Field("risk_ring_at", np.int32, (HOLD_SLOTS,), -1),
        Field("risk_held", np.float32, (), math.nan),
        Field("risk_usual", np.float32, (), math.nan),
        Field("risk_high_since", np.int64, (), 0),
    )


def resolve_model(model: RiskModel | Path | None) -> tuple[RiskModel | None, str]:
    """The model to score with and a one-line status; a file that cannot be used is logged
    and leaves the engine on its rules (scoring without the model beats not scoring)."""
    if model is None:
        return None, "off: no risk model configured (rules only)"
    if isinstance(model, RiskModel):
        return model, f"on: {model.name}"
    try:
        loaded = default_risk_model() if Path(model) == DEFAULT_PATH else load_risk_model(model)
    except ModelError as exc:
        log.warning("deterioration risk off, scoring on rules only: %s", exc)
        return None, f"off: {exc} (rules only)"
    return loaded, f"on: {loaded.name}"


class RiskComponent:
    """Summaries per reading, the risk model per timer tick; ``deterioration_risk`` needs."""

    def __init__(self, model: RiskModel | None, status: str, vitals: Any) -> None:
        self.model = model
        #: "on: <model>" or "off: <why> (rules only)"; the engine's flag for operators.
        self.status = status
        self._vitals = vitals  # the VitalsComponent: SpO2 scale per resident

    @property
    def enabled(self) -> bool:
        return self.model is not None

    def step(self, table: Any, b: VitalsBatch) -> None:
        """Fold one round of readings (distinct residents) into their summaries.

        Only the residents with a reading :func:`~models.runtime.riskfeatures.due` are
        touched: about one in sixty rounds for a terminal sending every second."""
        if self.model is None:
            return
        r = b.resident
        # a round's residents are distinct and increasing; when they are also contiguous (a
        # simulator's or collector's whole fleet) a slice reads the table without a copy
        rows: slice | NDArray[np.int64] = r
        if int(r[-1]) - int(r[0]) == len(r) - 1:
            rows = slice(int(r[0]), int(r[-1]) + 1)
        x = rf.readings(b.x)
        take = rf.due(table["risk_seen"][rows], x, b.ts).any(axis=1)
        if not take.any():
            return
        r, ts, x = r[take], b.ts[take], x[take]
        summary, last_seen = rf.update(table["risk_sum"][r], table["risk_seen"][r], x, ts)
        table["risk_sum"][r] = summary
        table["risk_seen"][r] = last_seen
        first = table["risk_first"][r]
        table["risk_first"][r] = np.where(first == 0, ts, first)
        table["risk_latest"][r] = np.maximum(table["risk_latest"][r], ts)

    def tick(self, table: Any, rows: int, now: int) -> list[Finding]:
        """Score every resident due at ``now`` (reading time, ms); findings for the ones whose
        held risk is high and rising."""
        model = self.model
        if model is None or rows == 0:
            return []
        first, latest = table["risk_first"][:rows], table["risk_latest"][:rows]
        due = (first > 0) & (now - first >= WARMUP_MS)
        due &= (now - table["risk_scored"][:rows] >= EVERY_MS) & (now - latest <= STALE_MS)
        idx = np.nonzero(due)[0]
        if len(idx) == 0:
            return []
        X = rf.features(table["risk_sum"][idx], table["risk_seen"][idx])
        p = model.predict(X)
        bucket = now // EVERY_MS
        ring, ring_at = table["risk_ring"], table["risk_ring_at"]
        ring[idx, bucket % HOLD_SLOTS] = p
        ring_at[idx, bucket % HOLD_SLOTS] = bucket
        recent = ring_at[idx] > bucket - HOLD_SLOTS
        complete = now - first[idx] >= WARMUP_MS + HOLD_MS
        held = np.where(complete, np.where(recent, ring[idx], np.inf).min(axis=1), np.nan)
        table["risk_scored"][idx] = now
        table["risk_held"][idx] = np.where(complete, held, table["risk_held"][idx])

        clipped = np.clip(held, 1e-6, 1 - 1e-6)
        odds = np.log(clipped / (1 - clipped))
        usual = table["risk_usual"][idx]
        with np.errstate(invalid="ignore"):
            rising = complete & (odds - usual >= math.log(RISE))
            high = complete & (held >= model.threshold)
        a = EVERY_MS / (EVERY_MS + TAU_USUAL_MS)
        table["risk_usual"][idx] = np.where(
            complete, np.where(np.isnan(usual), odds, usual + a * (odds - usual)), usual
        )
        since = table["risk_high_since"][idx]
        since = np.where(high, np.where(since == 0, now, since), 0)
        table["risk_high_since"][idx] = since
        fire = np.nonzero(high & rising)[0]
        if len(fire) == 0:
            return []
        red, agg = self._red(table, idx[fire])
        return [
            self._finding(
                table,
                int(idx[k]),
                now,
                X[k],
                (float(held[k]), float(usual[k]), int(since[k])),
                (bool(red[i]), int(agg[i])),
            )
            for i, k in enumerate(fire.tolist())
        ]

    # -- the explanation -------------------------------------------------------------------------
    def _red(self, table: Any, slots: NDArray[np.intp]) -> tuple[NDArray[np.bool_], Any]:
        """(NEWS2 red, aggregate) per resident on their latest readings of the chart's rows:
        those at most :data:`RED_FRESH_MS` older than the resident's latest reading."""
        summary, seen = table["risk_sum"][slots], table["risk_seen"][slots]
        fresh_from = table["risk_latest"][slots] - RED_FRESH_MS
        cols: dict[str, NDArray[np.float64]] = {}
        for p in PARAMETERS:
            if p in rf.RISK_VITALS:
                j = rf.VITALS.index(p)
                ok = (seen[:, j] > 0) & (seen[:, j] >= fresh_from)
                cols[p] = np.where(ok, summary[:, rf.LAST, j], np.nan)
            else:  # supplemental oxygen: as the vitals component charted it
                k = PARAMETERS.index(p)
                ok = table["carry_ts"][slots, k] >= fresh_from
                cols[p] = np.where(ok, table["carry"][slots, k], np.nan)
        agg, _, red = news2_arrays(cols, self._vitals.scale2(slots))
        return red | (agg >= 7), agg

    def _finding(
        self,
        table: Any,
        slot: int,
        now: int,
        x: NDArray[np.float64],
        risk: tuple[float, float, int],
        news: tuple[bool, int],
    ) -> Finding:
        """The finding of one resident: ``risk`` = (held risk, usual log-odds, high since),
        ``news`` = (NEWS2 red, aggregate)."""
        model = self.model
        assert model is not None
        held, usual, since = risk
        red, agg = news
        # a vital never read enters the model at its imputed value: not a driver to quote
        terms = np.where(np.isnan(x[model.columns]), 0.0, model.contributions(x[None, :])[0])
        per_vital: dict[str, float] = {}
        top_feature: dict[str, tuple[float, str]] = {}
        for name, term in zip(model.features, terms.tolist(), strict=True):
            vital = rf.FEATURE_VITAL[name]
            per_vital[vital] = per_vital.get(vital, 0.0) + term
            if term > top_feature.get(vital, (-math.inf, ""))[0]:
                top_feature[vital] = (term, name)
        drivers = sorted((v for v in per_vital if per_vital[v] > 0), key=lambda v: -per_vital[v])
        usual_risk = 1.0 / (1.0 + math.exp(-usual)) if math.isfinite(usual) else held
        evidence = [
            Evidence(
                measure="deterioration_risk",
                value=round(held, 3),
                baseline=round(usual_risk, 3),
                rule=f"{model.name}: held {HOLD_MS // _HOUR} h >= {model.threshold:.2f}, "
                f"odds >= {RISE} x usual",
                ts=now,
            )
        ]
        parts: list[str] = []  # "kind:item" (careloop/i18n/summary.py)
        args: dict[str, str | int | float] = {}
        for vital in drivers[:TOP]:
            part, item = self._describe(table, slot, vital, top_feature[vital][1], now, args)
            evidence.append(
                item.model_copy(
                    update={
                        "rule": f"{model.name}: raised the risk by {per_vital[vital]:.2f} log-odds"
                    }
                )
            )
            parts.append(part)
        hours = max(1, (now - since) // _HOUR) if since else 0
        text = said(
            "summary.risk" + ("_parts" if parts else "") + ("_red" if red else ""),
            risk=float(held), hours=int(hours), usual=float(usual_risk),
            threshold=float(model.threshold), agg=int(agg), parts=",".join(parts),
            **args,
        )  # fmt: skip
        tier = "emergency" if red else "important"
        return Finding(
            slot, "deterioration_risk", tier, now, since or now, held, text, evidence[:20]
        )

    def _describe(
        self, table: Any, slot: int, vital: str, feature: str, now: int,
        args: dict[str, str | int | float],
    ) -> tuple[str, Evidence]:  # fmt: skip
        """One driver as a summary part (its arguments added to ``args``) and as evidence:
        recent level against the resident's usual."""
        j = rf.VITALS.index(vital)
        s = table["risk_sum"][slot, :, j].astype(float)
        unit = _UNITS[vital]
        if vital == "consciousness":
            recent, usual = ACVPU[round(s[rf.FAST])], ACVPU[round(s[rf.SLOW])]
            args.update(consciousness_recent=recent, consciousness_usual=usual,
                        consciousness_hours=round(s[rf.BURDEN] / 3.0))  # fmt: skip
            return "risk_acvpu:" + vital, Evidence(measure=vital, value=recent, rule="-", ts=now)
        personal = personal_usual(table, slot, vital)
        loc, scale = personal if personal else (s[rf.SLOW], math.sqrt(max(s[rf.VAR], 0.0)))
        kind = "risk_usual" if personal else "risk_mean"
        args[f"{vital}_recent"] = round(float(s[rf.FAST]), 1)
        args[f"{vital}_usual"], args[f"{vital}_sd"] = round(float(loc), 1), round(scale, 1)
        extra = next((x for x in ("hi", "lo", "burden") if feature.endswith(f"_{x}")), "")
        if extra:
            kind += f"_{extra}"
            col = {"hi": rf.HI, "lo": rf.LO, "burden": rf.BURDEN}[extra]
            args[f"{vital}_{extra}"] = round(float(s[col]), 0 if extra == "burden" else 1)
        return f"{kind}:{vital}", Evidence(
            measure=vital,
            value=round(float(s[rf.FAST]), 1),
            unit=unit,
            baseline=round(float(loc), 1),
            baseline_scale=round(float(scale), 2),
            rule="-",
            ts=now,
        )
