"""Behaviour of the streaming univariate detector beyond the generic suite."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.base import ModelError
from models.stream_anomaly import MultiScaleNovelty, WindowedGaussian

_STEP_MS = 300_000  # five minutes
ALARM = 1.5 / 2.5  # the default alarm_ratio 1.5 as a score


def _noise(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 50 + rng.normal(0, 1, n)


def _run(det: MultiScaleNovelty, values, with_ts: bool = False) -> np.ndarray:
    out = []
    for i, v in enumerate(values):
        x = {"value": float(v), "ts": i * _STEP_MS} if with_ts else {"value": float(v)}
        out.append(det.score_one(x))
        det.learn_one(x)
    return np.array(out)


def _small(**kw) -> MultiScaleNovelty:
    return MultiScaleNovelty(scales=(1, 8, 32), day_scale=False, **kw)


def test_a_lasting_shift_alarms_once() -> None:
    v = _noise(0, 1500)
    v[1000:] += 15  # the level moves and stays
    s = _run(_small(), v)
    assert list(np.flatnonzero(s[100:] >= ALARM) + 100) == [1000]
    assert np.all(s[1001:] < 0.5)  # the onset is reported, the rest of the episode is not


def test_a_much_worse_reading_breaks_the_refractory_period() -> None:
    v = _noise(1, 1500)
    v[1000] += 8
    v[1100] += 60  # far more novel than the first alarm
    s = _run(_small(), v)
    assert s[1000] >= ALARM and s[1100] >= ALARM
    calm = _run(_small(escalation=1000.0), v)
    assert calm[1000] >= ALARM and calm[1100] == 0.0


def test_a_pattern_seen_once_is_still_rare() -> None:
    v = _noise(2, 2000)
    v[800] = v[1500] = 80.0  # the same anomaly again, after the refractory period
    assert _run(_small(), v)[1500] >= ALARM
    assert _run(_small(min_count=1), v)[1500] < ALARM  # plain novelty has learned it


def test_missing_readings_score_zero_and_are_not_learned() -> None:
    det = _small()
    _run(det, _noise(3, 300))
    before = det.snapshot()
    for x in ({}, {"value": None}, {"value": math.nan}, {"value": True}):
        assert det.score_one(x) == 0.0
        det.learn_one(x)
    assert det.snapshot() == before


def test_scoring_does_not_change_what_is_learned() -> None:
    v = _noise(4, 600)
    scored, silent = _small(), _small()
    for x in v[:500]:
        scored.score_one({"value": float(x)})
        scored.score_one({"value": float(x)})
        scored.learn_one({"value": float(x)})
        silent.learn_one({"value": float(x)})
    assert list(_run(scored, v[500:])) == list(_run(silent, v[500:]))


def test_timestamps_add_a_day_long_window() -> None:
    with_ts = MultiScaleNovelty()
    _run(with_ts, _noise(5, 40), with_ts=True)
    assert with_ts.window_lengths == (1, 8, 32, 128, 512, 288)
    plain = MultiScaleNovelty()
    _run(plain, _noise(5, 40))
    assert plain.window_lengths == (1, 8, 32, 128, 512)
    off = MultiScaleNovelty(day_scale=False)
    _run(off, _noise(5, 40), with_ts=True)
    assert off.window_lengths == (1, 8, 32, 128, 512)


def test_the_field_can_be_a_vital_sign() -> None:
    det = MultiScaleNovelty(field="heart_rate", scales=(1,), day_scale=False)
    for v in _noise(6, 300):
        det.learn_one({"heart_rate": float(v) + 20})
    assert det.score_one({"heart_rate": 140.0}) >= ALARM
    assert det.score_one({"spo2": 97.0}) == 0.0


@pytest.mark.parametrize(
    "kw",
    [
        {"scales": ()},
        {"scales": (0,)},
        {"bins": 0},
        {"history": 10},
        {"warmup": 0},
        {"history": 50, "warmup": 100},
        {"seed": -1},
        {"quantile": 1.0},
        {"min_count": 0},
        {"alarm_ratio": 0.0},
        {"escalation": 0.5},
    ],
)
def test_bad_parameters_are_refused(kw) -> None:
    with pytest.raises(ModelError):
        MultiScaleNovelty(**kw)


def test_a_window_length_scores_only_after_its_warmup() -> None:
    v = _noise(7, 400)
    v[150] += 40  # far outside the noise, but the calibration has not warmed up yet
    early = _run(MultiScaleNovelty(scales=(1,), day_scale=False, warmup=200), v)
    assert np.all(early[:200] == 0.0)
    eager = _run(MultiScaleNovelty(scales=(1,), day_scale=False, warmup=50), v)
    assert eager[150] >= ALARM


def test_windowed_gaussian_follows_nab_definition() -> None:
    det = WindowedGaussian(window=4, step=2)
    assert det.score_one({"value": 5.0}) == 0.0  # nothing learned yet
    for v in (0.0, 2.0):
        det.learn_one({"value": v})
    # mean 1, std 1: a value 2 std away either side has tail 0.5 * erfc(2 / sqrt 2)
    expected = 1 - 0.5 * math.erfc(2 / math.sqrt(2))
    assert det.score_one({"value": 3.0}) == pytest.approx(expected)
    assert det.score_one({"value": -1.0}) == pytest.approx(expected)


def test_windowed_gaussian_slides_by_whole_steps() -> None:
    det = WindowedGaussian(window=4, step=2)
    for v in (0.0, 0.0, 0.0, 0.0, 10.0):
        det.learn_one({"value": v})
    # the step buffer holds 10 until it is full: the window is still four zeros (std 1e-6)
    assert det.score_one({"value": 0.0}) == pytest.approx(0.5)
    det.learn_one({"value": 10.0})  # the window is now 0, 0, 10, 10: mean 5, std 5
    expected = 1 - 0.5 * math.erfc(1 / math.sqrt(2))
    assert det.score_one({"value": 10.0}) == pytest.approx(expected)
    with pytest.raises(ModelError):
        WindowedGaussian(window=4, step=5)
