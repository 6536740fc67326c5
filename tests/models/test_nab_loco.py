"""Leave-one-category-out design selection in ``careloop eval nab``, on tiny synthetic files."""

from __future__ import annotations

import numpy as np
import pytest

from models.evaluation.nab import NabFile, leave_one_category_out
from models.evaluation.nab_scoring import PROFILES, LabelledSeries

LEVEL = 0.6


def _file(category: str, name: str, windows: tuple[tuple[int, int], ...]) -> NabFile:
    series = LabelledSeries(f"{category}/{name}.csv", 100, windows)
    return NabFile(series, np.arange(100, dtype=np.int64), np.zeros(100))


# Three categories; "quiet" has no windows. Each windowed file has one window, rows 40-49.
FILES = [
    _file("easy", "a", ((40, 49),)),
    _file("easy", "b", ((40, 49),)),
    _file("hard", "c", ((40, 49),)),
    _file("quiet", "d", ()),
]


def _scores(hits: dict[str, int | None], false_alarms: dict[str, list[int]]) -> list:
    """Per file: 0.9 at the hit row (None: no hit) and at each false-alarm row."""
    out = []
    for f in FILES:
        a = np.zeros(100)
        key = f.series.name.split("/")[1][0]
        if hits.get(key) is not None:
            a[hits[key]] = 0.9
        for row in false_alarms.get(key, []):
            a[row] = 0.9
        out.append(a)
    return out


def test_one_design_good_everywhere_scores_100_held_out() -> None:
    scores = {"good": _scores({"a": 40, "b": 40, "c": 40}, {})}
    loco = leave_one_category_out(FILES, scores, {"good": LEVEL})
    for name in PROFILES:
        assert loco[name] == pytest.approx(100.0)
        assert loco["at_alarm_level"][name] == pytest.approx(100.0)
    fold = loco["folds"]["hard"]
    assert (fold["files"], fold["windows"]) == (1, 1)
    assert fold["standard"]["design"] == "good" and fold["standard"]["threshold"] == LEVEL
    assert loco["folds"]["quiet"]["standard"]["score"] is None  # no windows to normalise


def test_a_category_is_scored_with_the_design_chosen_without_it() -> None:
    # "local" finds only the easy windows, "other" only the hard one. Held out, "hard" gets
    # "local" (chosen on easy + quiet) and misses; "easy" gets "other" (chosen on hard +
    # quiet) and misses both: each design's in-sample luck is worth nothing held out.
    scores = {
        "local": _scores({"a": 40, "b": 40}, {}),
        "other": _scores({"c": 40}, {}),
    }
    loco = leave_one_category_out(FILES, scores, {"local": LEVEL, "other": LEVEL})
    assert loco["folds"]["hard"]["standard"]["design"] == "local"
    assert loco["folds"]["hard"]["standard"]["detected"] == 0
    assert loco["folds"]["easy"]["standard"]["design"] == "other"
    assert loco["folds"]["easy"]["standard"]["detected"] == 0
    assert loco["standard"] == pytest.approx(0.0)  # every window missed: the null score


def test_a_category_without_windows_adds_only_its_false_alarms() -> None:
    clean = _scores({"a": 40, "b": 40, "c": 40}, {})
    noisy = _scores({"a": 40, "b": 40, "c": 40}, {"d": [20, 60]})
    base = leave_one_category_out(FILES, {"x": clean}, {"x": LEVEL})["standard"]
    loco = leave_one_category_out(FILES, {"x": noisy}, {"x": LEVEL})
    assert loco["folds"]["quiet"]["standard"]["false_alarms"] == 2
    # two full false positives (no window in that file): 2 * 0.11 raw over 3 windows
    assert base - loco["standard"] == pytest.approx(100 * 0.22 / 6)


def test_designs_within_a_quarter_window_are_tied_and_the_first_listed_wins() -> None:
    # "second" is better on the training files by one false alarm (0.11 raw < 0.5): a tie
    first = _scores({"a": 40, "b": 40, "c": 40}, {"a": [90], "b": [90]})
    second = _scores({"a": 40, "b": 40, "c": 40}, {"a": [90]})
    loco = leave_one_category_out(
        FILES,
        {"first": first, "second": second},
        {
            "first": LEVEL,
            "second": LEVEL,
        },
    )
    assert {f["standard"]["design"] for f in loco["folds"].values()} == {"first"}
