"""The deterioration-risk component in the engine: summaries, held risk, needs, state.

Stays are replayed the way ``careloop eval icu-runtime`` replays ICU charts: one reading
every half hour through ``score_vitals``, reading time only (no sleeps).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from careloop.wire.needs import NeedMessage
from models.news2 import score_parameter
from models.runtime import ScoringEngine, encode_readings
from models.runtime import riskfeatures as rf
from models.runtime.riskmodel import RiskModel

SITE = "ward"
T0 = 1_767_571_200_000  # 2026-01-05 00:00 UTC
HALF_HOUR = 1_800_000
STEPS = 96  # 48 h


def _stable(k: int) -> dict[str, Any]:
    return {
        "ts": T0 + k * HALF_HOUR,
        "heart_rate": 76.0 + (k % 3),
        "respiration_rate": 15.0,
        "spo2": 97.0,
        "systolic_bp": 128.0,
        "diastolic_bp": 74.0,
        "temperature": 36.8,
        "consciousness": "A",
    }


def _deteriorating(k: int) -> dict[str, Any]:
    """Stable for 18 h, then over 24 h: shock (pulse up, pressure down), fast shallow
    breathing, falling SpO2, and consciousness sliding from alert to confused (21 h), to
    responding to voice (27 h) and to pain only (33 h)."""
    reading = _stable(k)
    f = min(max((k - 36) / 48.0, 0.0), 1.0)
    level = "A" if k < 42 else "C" if k < 54 else "V" if k < 66 else "P"
    reading.update(
        heart_rate=76.0 + 50.0 * f,
        respiration_rate=15.0 + 13.0 * f,
        spo2=97.0 - 7.0 * f,
        systolic_bp=128.0 - 43.0 * f,
        diastolic_bp=74.0 - 26.0 * f,
        temperature=round(36.8 - 1.0 * f, 1),
        consciousness=level,
    )
    return reading


def _replay(engine: ScoringEngine, *stays: tuple[int, list[dict[str, Any]]]) -> list[NeedMessage]:
    """Residents' readings side by side in time (the engine's clock is shared), a timer tick
    after each half hour."""
    needs: list[NeedMessage] = []
    for readings in zip(*(r for _, r in stays), strict=True):
        needs += engine.score_vitals(encode_readings([slot for slot, _ in stays], readings))
        needs += engine.tick(readings[0]["ts"])
    return needs


def _risk_needs(needs: list[NeedMessage], resident: str) -> list[NeedMessage]:
    return [n for n in needs if n.kind == "deterioration_risk" and n.resident == resident]


def test_a_deteriorating_stay_opens_the_need_and_a_stable_one_does_not() -> None:
    engine = ScoringEngine()  # the shipped model
    assert engine.risk.enabled, engine.risk.status
    calm, sick = engine.slot(SITE, "stay-calm"), engine.slot(SITE, "stay-sick")
    needs = _replay(
        engine,
        (calm, [_stable(k) for k in range(STEPS)]),
        (sick, [_deteriorating(k) for k in range(STEPS)]),
    )
    assert _risk_needs(needs, "stay-calm") == []
    opened = [n for n in _risk_needs(needs, "stay-sick") if n.state == "open"]
    assert len(opened) == 1, [n.summary for n in _risk_needs(needs, "stay-sick")]
    need = opened[0]
    assert need.ts > T0 + 18 * 3_600_000  # not before it began to change
    assert need.tier in ("important", "emergency") and 0 < need.score < 1
    assert need.summary.startswith("Deterioration risk") and "rising" in need.summary
    risk = need.evidence[0]
    assert risk.measure == "deterioration_risk" and risk.baseline is not None
    assert risk.value is not None and float(risk.value) > float(risk.baseline)
    drivers = [e.measure for e in need.evidence[1:]]
    assert drivers and set(drivers) <= set(rf.VITALS)
    assert all(e.baseline is not None for e in need.evidence[1:] if e.measure != "consciousness")
    held = engine.table["risk_held"]
    assert 0 < held[calm] < held[sick] < 1


def _hr_model(**kw: Any) -> RiskModel:
    """Risk from the recent pulse only: 12 % at 80 bpm, 88 % at 100, high from 50 %."""
    params: dict[str, Any] = {
        "name": "test_pulse",
        "features": ("hr_fast",),
        "impute": np.array([80.0]),
        "center": np.array([80.0]),
        "scale": np.array([10.0]),
        "coef": np.array([2.0]),
        "intercept": -2.0,
        "threshold": 0.5,
    }
    return RiskModel(**(params | kw))


def _pulse(k: int, top: float) -> dict[str, Any]:
    ramp = min(max((k - 30) / 20.0, 0.0), 1.0)  # 15 h at 80 bpm, then 10 h up to `top`
    reading = _stable(k)
    reading["heart_rate"] = 80.0 + (top - 80.0) * ramp
    return reading


@pytest.mark.parametrize(("top", "tier"), [(105.0, "important"), (140.0, "emergency")])
def test_tier_is_emergency_only_when_news2_is_red(top: float, tier: str) -> None:
    engine = ScoringEngine(risk_model=_hr_model())
    slot = engine.slot(SITE, "r1")
    needs = _risk_needs(_replay(engine, (slot, [_pulse(k, top) for k in range(70)])), "r1")
    assert needs and needs[0].state == "open"
    assert {n.tier for n in needs} == {tier}
    assert "heart rate" in needs[0].summary and "last day's mean" in needs[0].summary
    assert (" NEWS2 red" in needs[0].summary) == (tier == "emergency")
    # score_parameter agrees that only the high pulse is red on the chart
    assert (score_parameter("heart_rate", top) == 3) == (tier == "emergency")


def test_high_but_never_rising_raises_nothing() -> None:
    # the pulse is 100 from the first reading: high risk (88 %), never a change
    engine = ScoringEngine(risk_model=_hr_model())
    slot = engine.slot(SITE, "r1")
    steady = [{**_stable(k), "heart_rate": 100.0} for k in range(STEPS)]
    assert _risk_needs(_replay(engine, (slot, steady)), "r1") == []
    assert engine.table["risk_held"][slot] > 0.5


def test_no_risk_before_warm_up_and_hold() -> None:
    engine = ScoringEngine(risk_model=_hr_model())
    slot = engine.slot(SITE, "r1")
    _replay(engine, (slot, [_stable(k) for k in range(23)]))  # 11 h
    assert np.isnan(engine.table["risk_held"][slot])
    _replay(engine, (slot, [_stable(k) for k in range(23, 26)]))  # 12.5 h
    assert np.isfinite(engine.table["risk_held"][slot])


def test_risk_state_survives_a_snapshot_and_erasure_forgets_it(tmp_path: Path) -> None:
    engine = ScoringEngine()
    slot = engine.slot(SITE, "r1")
    _replay(engine, (slot, [_deteriorating(k) for k in range(60)]))
    engine.snapshot(tmp_path / "s.snapshot")
    twin = ScoringEngine()
    twin.restore(tmp_path / "s.snapshot")
    for field in rf.fields() + tuple(f for f in twin.table.fields if f.name.startswith("risk")):
        np.testing.assert_array_equal(twin.table[field.name][0], engine.table[field.name][0])
    more = [_deteriorating(k) for k in range(60, STEPS)]
    assert [n.model_dump() for n in _replay(twin, (0, more))] == [
        n.model_dump() for n in _replay(engine, (slot, more))
    ]
    assert engine.forget(SITE, "r1")
    assert engine.table["risk_first"][slot] == 0 and np.isnan(engine.table["risk_held"][slot])


def test_state_stays_small_per_resident() -> None:
    engine = ScoringEngine()
    risk_bytes = sum(
        engine.table[f.name].itemsize * int(np.prod(f.shape))
        for f in engine.table.fields
        if f.name.startswith("risk")
    )
    assert risk_bytes <= 512 and engine.table.row_nbytes() <= 4096


# -- the summaries --------------------------------------------------------------------------------
def test_chart_scores_match_the_news2_chart() -> None:
    values = {
        "heart_rate": [35, 40, 41, 50.4, 50.5, 90, 91, 110, 111, 130, 131, 200],
        "respiration_rate": [5, 8, 9, 11, 12, 20, 21, 24, 25, 40],
        "spo2": [85, 91, 92, 93, 94, 95, 96, 100],
        "systolic_bp": [80, 90, 91, 100, 101, 110, 111, 219, 220],
        "temperature": [34.0, 35.0, 35.05, 35.1, 36.0, 36.1, 38.0, 38.1, 39.0, 39.1, 41.0],
    }
    for vital, vs in values.items():
        x = np.full((len(vs), len(rf.VITALS)), np.nan, dtype=np.float32)
        x[:, rf.VITALS.index(vital)] = vs
        got = rf.chart_scores(x)[:, rf.VITALS.index(vital)]
        assert got.tolist() == [score_parameter(vital, v) for v in vs], vital
    levels = np.full((5, len(rf.VITALS)), np.nan, dtype=np.float32)
    levels[:, rf.VITALS.index("consciousness")] = range(5)
    assert rf.chart_scores(levels)[:, rf.VITALS.index("consciousness")].tolist() == [0, 3, 3, 3, 3]


def _follow(hr: list[float], every_ms: int) -> np.ndarray:
    summary = np.full((1, len(rf.STATS), len(rf.VITALS)), np.nan, dtype=np.float32)
    seen = np.zeros((1, len(rf.VITALS)), dtype=np.int64)
    j = rf.VITALS.index("heart_rate")
    for k, v in enumerate(hr):
        x = np.full((1, len(rf.VITALS)), np.nan, dtype=np.float32)
        x[0, j] = v
        summary, seen = rf.update(summary, seen, x, np.array([T0 + k * every_ms]))
    return summary[0, :, j]


def test_summaries_are_time_weighted_and_burden_counts_hours() -> None:
    flat = _follow([70.0] * 50, 60_000)
    assert flat[rf.FAST] == flat[rf.SLOW] == flat[rf.HI] == flat[rf.LO] == 70.0
    assert flat[rf.VAR] == 0.0 and flat[rf.BURDEN] == 0.0
    # the same 10-hour climb, charted every minute or every hour, gives the same "usual"
    climb = np.linspace(70.0, 100.0, 601)
    minutely, hourly = _follow(list(climb), 60_000), _follow(list(climb[::60]), 3_600_000)
    assert abs(minutely[rf.SLOW] - hourly[rf.SLOW]) < 1.0
    assert minutely[rf.HI] > minutely[rf.SLOW] and minutely[rf.LO] < minutely[rf.SLOW]
    # six hours at a chart score of 3 (135 bpm) are about 18 chart-hours, less a day's decay
    tachy = _follow([135.0] * 7, 3_600_000)
    assert 15.0 < tachy[rf.BURDEN] < 18.0
