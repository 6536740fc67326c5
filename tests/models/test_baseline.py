"""Per-resident baselines: personal normals, time of day, direction, warm-up, robustness and
the size of the state the runtime keeps for every resident."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.base import ModelError
from models.baseline import VITALS, ResidentBaseline, huber_kappa, robust_update
from tests.models.cases_vitals import MINUTE_MS, T0_MS


def _learn_hr(model: ResidentBaseline, mean: float, sd: float, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        model.learn_one({"ts": T0_MS + i * 10 * MINUTE_MS, "heart_rate": rng.normal(mean, sd)})


def test_ninety_five_is_normal_for_one_resident_and_an_alarm_for_another():
    usual_95, usual_60 = ResidentBaseline(), ResidentBaseline()
    _learn_hr(usual_95, 95.0, 4.0, 600)
    _learn_hr(usual_60, 60.0, 4.0, 600, seed=1)
    reading = {"ts": T0_MS + 600 * 10 * MINUTE_MS, "heart_rate": 95.0}
    assert usual_95.score_one(reading) < 1.5
    assert usual_60.score_one(reading) > 6.0


def test_time_of_day_bins_learn_a_lower_night():
    model = ResidentBaseline(bins=6, warmup=50, bin_warmup=10)
    rng = np.random.default_rng(2)
    for i in range(6 * 144):  # six days, every 10 minutes
        hour = (i * 10 / 60) % 24
        mean = 55.0 if hour < 4 else 75.0
        model.learn_one({"ts": T0_MS + i * 10 * MINUTE_MS, "heart_rate": rng.normal(mean, 3.0)})
    at = T0_MS + 7 * 86_400_000
    at_night = model.score_one({"ts": at + 2 * 3_600_000, "heart_rate": 75.0})
    by_day = model.score_one({"ts": at + 14 * 3_600_000, "heart_rate": 75.0})
    assert at_night > 4.0 and by_day < 1.0
    night_loc, night_scale, _ = model.baseline("heart_rate", hour=2)
    assert night_loc == pytest.approx(55.0, abs=1.5) and night_scale == pytest.approx(3.0, rel=0.4)


def test_a_young_bin_pools_to_the_all_day_estimate():
    model = ResidentBaseline(warmup=10, bin_warmup=24)
    _learn_hr(model, 70.0, 3.0, 20)  # 20 readings every 10 min: all in the first bin
    all_day = model.baseline("heart_rate")
    empty_bin = model.baseline("heart_rate", hour=13)
    assert empty_bin[:2] == all_day[:2]


def test_direction_low_spo2_is_bad_high_is_not():
    model = ResidentBaseline(warmup=20)
    rng = np.random.default_rng(3)
    for i in range(200):
        model.learn_one({"ts": T0_MS + i * MINUTE_MS, "spo2": float(np.rint(rng.normal(94, 1)))})
    now = T0_MS + 200 * MINUTE_MS
    assert model.score_one({"ts": now, "spo2": 99.0}) == 0.0
    assert model.score_one({"ts": now, "spo2": 88.0}) > 3.0
    assert model.zscores_one({"ts": now, "spo2": 99.0})["spo2"] > 3.0  # signed z kept


def test_nothing_is_scored_during_warm_up():
    model = ResidentBaseline(warmup=30)
    _learn_hr(model, 60.0, 3.0, 29)
    reading = {"ts": T0_MS, "heart_rate": 150.0}
    assert model.score_one(reading) == 0.0
    model.learn_one({"ts": T0_MS, "heart_rate": 60.0})
    assert model.score_one(reading) > 5.0


def test_a_fever_does_not_drag_the_baseline_with_it():
    model = ResidentBaseline(warmup=20)
    rng = np.random.default_rng(4)
    for i in range(1000):
        x = {"ts": T0_MS + i * 5 * MINUTE_MS, "temperature": round(rng.normal(36.6, 0.15), 1)}
        model.learn_one(x)
    for i in range(60):  # five hours at 39.5 °C
        model.learn_one({"ts": T0_MS + (1000 + i) * 5 * MINUTE_MS, "temperature": 39.5})
    loc, scale, _ = model.baseline("temperature")
    assert loc == pytest.approx(36.6, abs=0.15) and scale < 0.4


def test_robust_update_is_consistent_at_the_normal():
    rng = np.random.default_rng(5)
    kappa = huber_kappa(2.5)
    loc, scale, n = 0.0, 1.0, 0.0
    for x in rng.normal(10.0, 2.0, 5000):
        loc, scale, n = robust_update(
            loc, scale, n, float(x), memory=1e9, clip=2.5, kappa=kappa, min_scale=0.1,
            prior_scale=1.0,
        )  # fmt: skip
    assert loc == pytest.approx(10.0, abs=0.15) and scale == pytest.approx(2.0, rel=0.08)
    assert huber_kappa(50.0) == pytest.approx(1.0) and 0.0 < huber_kappa(1.0) < 1.0


def test_missing_and_odd_values_are_ignored():
    model = ResidentBaseline(warmup=1)
    model.learn_one({"heart_rate": 70.0})  # no ts: all-day estimate only
    model.learn_one({"ts": T0_MS, "heart_rate": None, "spo2": float("nan"), "temperature": True})
    assert model.baseline("heart_rate")[2] == 1 and model.baseline("spo2")[2] == 0
    assert model.zscores_one({"ts": T0_MS, "spo2": 97.0}) == {"spo2": 0.0}
    assert model.score_one({"ts": T0_MS, "steps": 10}) == 0.0


def test_state_is_small_for_ten_thousand_residents():
    model = ResidentBaseline()
    _learn_hr(model, 70.0, 3.0, 300)
    assert model.state_nbytes() == 3 * len(VITALS) * 7 * 8  # 1,008 bytes of floats
    snap = model.snapshot()
    assert len(snap) < 2048  # well under the 4 KB budget per resident, parameters included
    restored = ResidentBaseline.restore(snap)
    x = {"ts": T0_MS, "heart_rate": 81.0}
    assert restored.score_one(x) == model.score_one(x)


@pytest.mark.parametrize(
    "params",
    [{"bins": 0}, {"bins": 2.5}, {"warmup": -1}, {"memory": 1}, {"clip": 0.0}],
)
def test_bad_parameters_are_refused(params):
    with pytest.raises(ModelError):
        ResidentBaseline(**params)
    with pytest.raises(ModelError):
        ResidentBaseline().baseline("glucose")
    assert not math.isnan(ResidentBaseline().score_one({}))
