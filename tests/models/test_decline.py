"""Slow decline: the CUSUM stays low for a steady resident, rises within days of a decline,
keeps its baseline frozen while accumulating, and resets as documented."""

from __future__ import annotations

import pytest

from models.base import ModelError
from models.decline import DeclineDetector
from tests.models.cases_vitals import MINUTE_MS, T0_MS, decline_stream

DAY = 96  # readings per day in decline_stream


def _daily_scores(model: DeclineDetector, stream) -> list[float]:
    out = []
    for i, (x, _) in enumerate(stream):
        if i % DAY == 0:
            out.append(model.score_one(x))
        model.learn_one(x)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_steady_resident_stays_below_the_alarm_and_decline_crosses_it(seed):
    steady = _daily_scores(DeclineDetector(), decline_stream(seed, decline=False))
    declining = _daily_scores(DeclineDetector(), decline_stream(seed, decline=True))
    assert max(steady) < 4.0
    assert declining[:5] == [0.0] * 5  # warm-up: four days build the baseline
    assert max(declining[:10]) < 4.0  # before the decline starts on day 9
    assert declining[13] > 4.0  # within four days of its start
    assert declining[-1] > declining[12]


def test_baseline_is_frozen_while_evidence_accumulates_and_rebaseline_resets():
    model = DeclineDetector()
    stream = decline_stream(0)
    for x, _ in stream:
        model.learn_one(x)
    frozen = model._base.copy()
    assert model.score_one(stream[-1][0]) > model.freeze
    for x, _ in decline_stream(0)[-2 * DAY :]:  # two more declining days, a day later
        model.learn_one({**x, "ts": x["ts"] + 2 * 86_400_000})
    assert (model._base == frozen).all()
    evidence = model.evidence()
    assert set(evidence) == {"resting_hr", "day_activity", "night_in_bed", "joint"}
    assert evidence["resting_hr"] > 4.0
    model.rebaseline()
    assert model.score_one(stream[0][0]) == 0.0 and model._base[2].max() == 0.0


def _usual_day(day: int) -> list[dict]:
    """A day of 15-minute readings identical to every other: z = 0 for every aggregate."""
    out = []
    for q in range(DAY):
        hour = q / 4
        asleep = hour >= 22 or hour < 7
        out.append(
            {
                "ts": T0_MS + (day * DAY + q) * 15 * MINUTE_MS,
                "heart_rate": 60.0,
                "activity": 1.0 if asleep else 1.6,
                "bed_occupied": asleep,
            }
        )
    return out


def test_evidence_decays_by_k_per_usual_day():
    model = DeclineDetector(k=0.5)
    for day in range(8):
        for x in _usual_day(day):
            model.learn_one(x)
    assert model.score_one({}) == 0.0
    model._cusum[:] = 3.0  # as if days had looked worse
    seen = []
    for day in range(8, 16):
        day_readings = _usual_day(day)
        seen.append(model.score_one(day_readings[0]))
        for x in day_readings:
            model.learn_one(x)
    # each midnight reading sees the care days (noon to noon) closed so far
    assert seen == pytest.approx([3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0, 0.0], abs=1e-9)


def test_late_and_timeless_readings_are_ignored():
    model = DeclineDetector()
    model.learn_one({"ts": T0_MS + 86_400_000, "heart_rate": 60.0, "activity": 1.0})
    before = model._acc.copy()
    model.learn_one({"ts": T0_MS - 86_400_000, "heart_rate": 90.0, "activity": 1.0})
    model.learn_one({"heart_rate": 90.0, "activity": 1.0})
    assert (model._acc == before).all()
    model.learn_one({"ts": T0_MS + 86_400_000 + MINUTE_MS, "bed_occupied": "yes"})
    assert (model._acc == before).all()


@pytest.mark.parametrize(
    "params", [{"warmup_days": 0}, {"k": 1.0, "z_cap": 0.5}, {"freeze": 0.0}, {"memory_days": 1}]
)
def test_bad_parameters_are_refused(params):
    with pytest.raises(ModelError):
        DeclineDetector(**params)
