"""Golden NEWS2 vectors from the Royal College of Physicians chart (2017): every band edge of
every parameter, the rounding rule at the edges, full observation sets, missing parameters
and SpO2 scale 2."""

from __future__ import annotations

import math

import pytest

from models.base import ModelError
from models.news2 import PARAMETERS, News2Scorer, chart_value, news2, score_parameter

# (value, score) at both sides of every edge of the chart, scale 1.
# fmt: off
EDGES: dict[str, list[tuple[float, int]]] = {
    "respiration_rate": [(3, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2),
                         (25, 3), (40, 3)],
    "spo2": [(80, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
    "systolic_bp": [(70, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0),
                    (220, 3), (250, 3)],
    "heart_rate": [(30, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1),
                   (111, 2), (130, 2), (131, 3), (180, 3)],
    "temperature": [(33.0, 3), (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1),
                    (39.0, 1), (39.1, 2), (41.0, 2)],
}
# fmt: on


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [(p, v, s) for p, edges in EDGES.items() for v, s in edges],
)
def test_band_edges_scale_1(parameter, value, expected):
    assert score_parameter(parameter, value) == expected
    assert score_parameter(parameter, float(value)) == expected


# Floats are rounded half up to the chart's resolution before the lookup.
ROUNDING = [
    ("respiration_rate", 20.4, 0),
    ("respiration_rate", 20.5, 2),  # charted as 21
    ("respiration_rate", 8.49, 3),
    ("respiration_rate", 8.5, 1),  # charted as 9
    ("respiration_rate", 11.5, 0),
    ("spo2", 91.5, 2),
    ("spo2", 95.49, 1),
    ("spo2", 95.5, 0),
    ("systolic_bp", 90.4, 3),
    ("systolic_bp", 90.5, 2),
    ("systolic_bp", 219.5, 3),
    ("heart_rate", 40.5, 1),
    ("heart_rate", 90.49, 0),
    ("heart_rate", 90.5, 1),
    ("heart_rate", 130.5, 3),
    ("temperature", 35.04, 3),
    ("temperature", 35.05, 1),  # charted as 35.1
    ("temperature", 36.05, 0),
    ("temperature", 38.04, 0),
    ("temperature", 38.05, 1),
    ("temperature", 39.05, 2),
]


@pytest.mark.parametrize(("parameter", "value", "expected"), ROUNDING)
def test_rounding_to_chart_resolution(parameter, value, expected):
    assert score_parameter(parameter, value) == expected


def test_chart_value_rounds_the_written_number():
    assert chart_value("temperature", 35.05) == 351  # not the binary 35.04999...
    assert chart_value("temperature", 35.0) == 350
    assert chart_value("heart_rate", 72.5) == 73


def test_air_or_oxygen_and_consciousness():
    assert score_parameter("supplemental_oxygen", False) == 0
    assert score_parameter("supplemental_oxygen", True) == 2
    assert score_parameter("consciousness", "A") == 0
    for level in "CVPU":
        assert score_parameter("consciousness", level) == 3


# SpO2 scale 2: (value, on oxygen, score).
# fmt: off
SCALE2 = [
    (80, False, 3), (83, False, 3), (84, False, 2), (85, True, 2), (86, False, 1), (87, True, 1),
    (88, False, 0), (88, True, 0), (92, True, 0), (93, False, 0), (100, False, 0),
    (93, True, 1), (94, True, 1), (95, True, 2), (96, True, 2), (97, True, 3), (100, True, 3),
]
# fmt: on


@pytest.mark.parametrize(("value", "oxygen", "expected"), SCALE2)
def test_spo2_scale_2(value, oxygen, expected):
    got = score_parameter("spo2", value, spo2_scale=2, supplemental_oxygen=oxygen)
    assert got == expected


def test_scale_2_at_93_or_more_needs_air_or_oxygen():
    assert score_parameter("spo2", 95, spo2_scale=2) is None
    assert score_parameter("spo2", 90, spo2_scale=2) == 0
    result = news2({"spo2": 95}, spo2_scale=2)
    assert "spo2" in result.missing and "spo2" not in result.scores


def _obs(rr, spo2, oxygen, sbp, hr, acvpu, temp):
    return {
        "respiration_rate": rr,
        "spo2": spo2,
        "supplemental_oxygen": oxygen,
        "systolic_bp": sbp,
        "heart_rate": hr,
        "consciousness": acvpu,
        "temperature": temp,
    }


# Full observation sets: (observations, scale, per-parameter scores in chart order, tier).
FULL = [
    (_obs(16, 97, False, 125, 72, "A", 36.8), 1, (0, 0, 0, 0, 0, 0, 0), "low"),
    (_obs(21, 94, False, 125, 91, "A", 36.5), 1, (2, 1, 0, 0, 1, 0, 0), "low"),
    (_obs(16, 97, False, 125, 72, "C", 36.8), 1, (0, 0, 0, 0, 0, 3, 0), "low-medium"),
    (_obs(22, 95, False, 105, 95, "A", 38.3), 1, (2, 1, 0, 1, 1, 0, 1), "medium"),
    (_obs(25, 97, False, 125, 95, "A", 38.5), 1, (3, 0, 0, 0, 1, 0, 1), "medium"),
    (_obs(21, 93, False, 105, 105, "A", 38.5), 1, (2, 2, 0, 1, 1, 0, 1), "high"),
    (_obs(26, 90, True, 88, 125, "V", 39.5), 1, (3, 3, 2, 3, 2, 3, 2), "high"),
    (_obs(8, 96, False, 220, 40, "A", 35.0), 1, (3, 0, 0, 3, 3, 0, 3), "high"),
    # scale 2 (set for this resident): 90 % on air is their target; 97 % on oxygen is too much.
    (_obs(18, 90, False, 130, 80, "A", 37.0), 2, (0, 0, 0, 0, 0, 0, 0), "low"),
    (_obs(18, 97, True, 130, 80, "A", 37.0), 2, (0, 3, 2, 0, 0, 0, 0), "medium"),
    # scale 1 resident on oxygen: oxygen never switches the scale.
    (_obs(18, 90, True, 130, 80, "A", 37.0), 1, (0, 3, 2, 0, 0, 0, 0), "medium"),
]


@pytest.mark.parametrize(("obs", "scale", "expected", "tier"), FULL)
def test_full_observation_sets(obs, scale, expected, tier):
    result = news2(obs, spo2_scale=scale)
    assert tuple(result.scores[p] for p in PARAMETERS) == expected
    assert result.aggregate == sum(expected)
    assert result.complete and result.missing == ()
    assert result.red_score == (3 in expected)
    assert result.tier == tier


def test_missing_parameters_are_missing_not_zero():
    result = news2({"heart_rate": 72.0, "temperature": float("nan"), "ts": 1})
    assert result.scores == {"heart_rate": 0}
    assert result.missing == tuple(p for p in PARAMETERS if p != "heart_rate")
    assert not result.complete
    assert result.aggregate == 0 and result.tier == "low"  # a lower bound, flagged incomplete
    partial = news2({"respiration_rate": 26, "systolic_bp": 85})
    assert partial.aggregate == 6 and partial.tier == "medium" and not partial.complete


def test_bad_values_are_errors_not_scores():
    with pytest.raises(ModelError):
        score_parameter("consciousness", "X")
    with pytest.raises(ModelError):
        score_parameter("heart_rate", "72")
    with pytest.raises(ModelError):
        score_parameter("supplemental_oxygen", 1)
    with pytest.raises(ModelError):
        score_parameter("glucose", 5.0)
    with pytest.raises(ModelError):
        news2({}, spo2_scale=3)  # type: ignore[arg-type]


def test_scorer_is_stateless_and_keeps_the_resident_scale():
    scorer = News2Scorer(spo2_scale=2)
    obs = _obs(18, 97, True, 130, 80, "A", 37.0)
    before = scorer.score_one(obs)
    for _ in range(5):
        scorer.learn_one(obs)
    assert scorer.score_one(obs) == before == 5.0
    restored = News2Scorer.restore(scorer.snapshot())
    assert restored.spo2_scale == 2
    assert restored.result_one(obs).scores["spo2"] == 3
    assert News2Scorer().result_one(obs).scores["spo2"] == 0  # scale 1: 97 % scores 0
    assert not math.isnan(News2Scorer().score_one({}))
