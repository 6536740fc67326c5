"""NAB's scoring on tiny synthetic files: invariants, hand-computed cases, the sweep, loading."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from models.evaluation.nab import load_corpus
from models.evaluation.nab_scoring import (
    PROFILES,
    LabelledSeries,
    best_threshold,
    choose_threshold,
    corpus_rows,
    file_rows,
    normalise,
    probation_length,
    score_at,
    sweep,
    tie_margin,
)

STD = PROFILES["standard"]


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _scaled(pos: float) -> float:
    """NAB's scaledSigmoid, written out independently of the module under test."""
    return -1.0 if pos > 3.0 else 2.0 * _sig(-5.0 * pos) - 1.0


# 100 rows: probation 15 rows, one window of 10 rows (40..49).
ONE = LabelledSeries("a/one.csv", 100, ((40, 49),))
TWO = LabelledSeries("b/two.csv", 200, ((60, 69), (120, 139)))


def _norm_best(items, profile=STD) -> float:
    rows = corpus_rows(items)
    _, raw = best_threshold(rows, profile)
    return normalise(raw, rows.n_windows, profile)


def test_probation_is_15_percent_capped_at_750() -> None:
    assert probation_length(100) == 15
    assert probation_length(1882) == 282
    assert probation_length(4999) == 749
    assert probation_length(22695) == 750


@pytest.mark.parametrize("name", list(PROFILES))
def test_null_detector_scores_zero(name: str) -> None:
    items = [(ONE, np.full(100, 0.5)), (TWO, np.full(200, 0.5))]
    assert _norm_best(items, PROFILES[name]) == pytest.approx(0.0)


@pytest.mark.parametrize("name", list(PROFILES))
def test_detection_at_every_window_start_scores_100(name: str) -> None:
    items = []
    for s in (ONE, TWO):
        a = np.zeros(s.n)
        for lo, _ in s.windows:
            a[lo] = 1.0
        items.append((s, a))
    assert _norm_best(items, PROFILES[name]) == pytest.approx(100.0)


def test_hand_computed_tp_and_fps() -> None:
    a = np.zeros(100)
    a[45] = 1.0  # inside the window, half-way: position -(49 - 45 + 1) / 10 = -0.5
    a[60] = 1.0  # 11 rows past the window's end: position 11 / (10 - 1) widths
    a[20] = 1.0  # before any window: a full false positive
    fs = score_at(file_rows(ONE, a), STD, 1.0)
    tp = _scaled(-0.5) / _scaled(-1.0)
    expected = tp + 0.11 * _scaled(11 / 9) - 0.11
    assert fs.raw == pytest.approx(expected, abs=1e-12)
    assert (fs.tp, fs.fn, fs.fp) == (1, 0, 2)
    assert expected == pytest.approx(0.859793 - 0.109513 - 0.11, abs=1e-5)
    assert normalise(fs.raw, 1, STD) == pytest.approx(100 * (expected + 1) / 2)


def test_earlier_detection_in_a_window_is_worth_more() -> None:
    values = []
    for row in range(40, 50):
        a = np.zeros(100)
        a[row] = 1.0
        values.append(score_at(file_rows(ONE, a), STD, 1.0).raw)
    assert values[0] == pytest.approx(1.0)
    assert all(x > y for x, y in itertools.pairwise(values))
    assert values[-1] == pytest.approx(_scaled(-0.1) / _scaled(-1.0))


def test_only_the_best_detection_in_a_window_counts() -> None:
    a = np.zeros(100)
    a[42] = 1.0
    once = score_at(file_rows(ONE, a), STD, 1.0).raw
    a[43:50] = 1.0  # more detections in the same window are neither rewarded nor penalised
    assert score_at(file_rows(ONE, a), STD, 1.0).raw == pytest.approx(once)


def test_false_positive_cost_grows_with_distance_past_the_window() -> None:
    costs = []
    for row in (50, 55, 60, 70, 79, 99):
        a = np.zeros(100)
        a[row] = 1.0
        costs.append(-score_at(file_rows(ONE, a), STD, 1.0).raw - 1.0)  # minus the missed window
    assert all(x < y for x, y in itertools.pairwise(costs[:-1]))
    assert costs[0] == pytest.approx(-0.11 * _scaled(1 / 9))
    assert costs[-1] == pytest.approx(0.11)  # beyond three window widths: full cost


def test_detections_during_probation_are_ignored() -> None:
    base = np.zeros(100)
    base[44] = 1.0
    noisy = base.copy()
    noisy[:15] = 1.0
    assert score_at(file_rows(ONE, noisy), STD, 1.0) == score_at(file_rows(ONE, base), STD, 1.0)
    noisy[15] = 1.0  # the first row after probation counts again
    assert score_at(file_rows(ONE, noisy), STD, 1.0).fp == 1


def test_a_window_inside_probation_is_not_scored() -> None:
    early = LabelledSeries("c/early.csv", 1000, ((10, 40), (500, 550)))
    rows = file_rows(early, np.zeros(1000))
    assert rows.n_windows == 1


def test_profiles_weight_false_positives_and_misses() -> None:
    a = np.zeros(200)
    a[60] = 1.0  # first window at its start; second window missed
    a[190] = 1.0  # a false positive far past the last window
    rows = file_rows(TWO, a)
    std = score_at(rows, PROFILES["standard"], 1.0).raw
    low_fp = score_at(rows, PROFILES["reward_low_fp"], 1.0).raw
    low_fn = score_at(rows, PROFILES["reward_low_fn"], 1.0).raw
    fp_cost = -_scaled(51 / 19)  # 51 rows past a 20-row window
    assert std == pytest.approx(1.0 - 1.0 - 0.11 * fp_cost)
    assert low_fp == pytest.approx(1.0 - 1.0 - 0.22 * fp_cost)
    assert low_fn == pytest.approx(1.0 - 2.0 - 0.11 * fp_cost)


def test_sweep_equals_direct_scoring_at_every_threshold() -> None:
    rng = np.random.default_rng(3)
    items = [(ONE, rng.random(100).round(2)), (TWO, rng.random(200).round(2))]
    rows = corpus_rows(items)
    for profile in PROFILES.values():
        thresholds, totals = sweep(rows, profile)
        assert thresholds[0] == np.inf and totals[0] == pytest.approx(-profile.fn * 3)
        for th, total in zip(thresholds[1:], totals[1:], strict=True):
            direct = sum(score_at(file_rows(s, a), profile, th).raw for s, a in items)
            assert total == pytest.approx(direct, abs=1e-9)


def test_sweep_finds_the_best_threshold() -> None:
    a = np.zeros(100)
    a[40] = 0.9  # the true detection, at the window start
    a[70:80] = 0.5  # a burst of false positives below it
    a[90] = 0.95  # one false positive above it
    threshold, raw = best_threshold(file_rows(ONE, a), STD)
    # 0.9 keeps the detection and one false positive; 0.5 would add ten more.
    assert threshold == 0.9
    assert raw == pytest.approx(1.0 - 0.11)


def test_scores_must_match_the_file() -> None:
    with pytest.raises(ValueError, match="scores"):
        file_rows(ONE, np.zeros(99))
    with pytest.raises(ValueError, match="windows"):
        LabelledSeries("bad", 10, ((5, 3),))


def test_load_corpus_maps_label_times_to_rows(tmp_path: Path) -> None:
    (tmp_path / "data" / "cat").mkdir(parents=True)
    (tmp_path / "labels").mkdir()
    start = np.datetime64("2014-04-01T00:00:00")
    times = [start + np.timedelta64(5 * i, "m") for i in range(120)]
    lines = ["timestamp,value"] + [
        f"{str(t).replace('T', ' ')},{i % 7}" for i, t in enumerate(times)
    ]
    (tmp_path / "data" / "cat" / "f.csv").write_text("\n".join(lines) + "\n")
    windows = {"cat/f.csv": [["2014-04-01 05:00:00.000000", "2014-04-01 06:00:00.000000"]]}
    (tmp_path / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    (f,) = load_corpus(tmp_path)
    assert f.series.n == 120 and f.category == "cat"
    assert f.series.windows == ((60, 72),)
    assert f.values[8] == 1.0


def test_a_threshold_for_other_files_stays_near_the_prior_when_the_data_allow() -> None:
    a = np.zeros(100)
    a[40] = 0.9  # the detection
    a[70] = 0.3  # a false positive far below it
    rows = file_rows(ONE, a)
    # every threshold in (0.3, 0.9] scores the same: the prior 0.6 is kept
    th, raw = choose_threshold(rows, STD, prior=0.6)
    assert th == 0.6 and raw == pytest.approx(1.0)
    # a prior above the detection would miss it: the nearest threshold that keeps it wins
    th, raw = choose_threshold(rows, STD, prior=0.95)
    assert th == 0.9 and raw == pytest.approx(1.0)
    # a prior below the false positive: keeping it costs 0.11, less than the tie margin
    th, _ = choose_threshold(rows, STD, prior=0.2)
    assert th == 0.2


def test_ties_are_within_a_quarter_of_one_window() -> None:
    assert tie_margin(STD) == pytest.approx(0.5)
    assert tie_margin(PROFILES["reward_low_fn"]) == pytest.approx(0.75)
    a = np.zeros(100)
    a[40] = 0.9
    a[60:66] = 0.5  # six false positives: 6 * 0.11 * ~1 > 0.5, so 0.5 is not a tie
    th, _ = choose_threshold(file_rows(ONE, a), STD, prior=0.4)
    assert th == pytest.approx(np.nextafter(0.5, 1.0))
