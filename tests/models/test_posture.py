"""Posture classifier, its features, careloop mapping, inactivity, and ``careloop eval adl``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from careloop.wire.measures import POSTURES
from models.base import ModelError
from models.evaluation import adl
from models.posture import (
    CARELOOP_POSTURE,
    InactivityDetector,
    PostureClassifier,
    careloop_fields,
    posture_features,
)
from tests.models.cases_posture import T0_MS, routine_stream, synthetic_sessions

HOUR_MS = 3_600_000


def test_features_keep_streams_apart_and_ignore_row_order() -> None:
    raw, _ = synthetic_sessions(0, n=2)
    feats = posture_features(raw)
    alone = posture_features(raw[raw[:, 0] == 0])
    np.testing.assert_allclose(feats[raw[:, 0] == 0], alone, rtol=1e-6)
    perm = np.random.default_rng(0).permutation(len(raw))
    np.testing.assert_allclose(posture_features(raw[perm]), feats[perm], rtol=1e-6)
    past_only = posture_features(raw, centred=False)
    assert past_only.shape[1] < feats.shape[1]


def test_past_only_features_do_not_look_ahead() -> None:
    raw, _ = synthetic_sessions(0, n=1)
    cut = len(raw) // 2
    early = posture_features(raw[:cut], centred=False)
    np.testing.assert_allclose(posture_features(raw, centred=False)[:cut], early, rtol=1e-6)


def test_features_reject_bad_shapes() -> None:
    with pytest.raises(ModelError, match="columns"):
        posture_features(np.zeros((3, 5)))
    raw, _ = synthetic_sessions(0, n=1)
    raw[0, 2] = np.nan
    with pytest.raises(ModelError, match="finite"):
        posture_features(raw)


def test_classifier_on_held_out_synthetic_sessions() -> None:
    raw, y = synthetic_sessions(1, n=6)
    train = raw[:, 0] < 4
    model = PostureClassifier(n_estimators=50).fit(raw[train], y[train])
    pred = model.predict(raw[~train])
    assert f1_score(y[~train], pred, average="macro") >= 0.85
    lying = model.score_samples(raw[~train])
    assert lying[y[~train] == 3].mean() > 0.8 > 0.2 > lying[y[~train] != 3].mean()


def test_classifier_needs_two_classes_and_matching_labels() -> None:
    raw, y = synthetic_sessions(0, n=1)
    with pytest.raises(ModelError, match="two"):
        PostureClassifier().fit(raw, np.full(len(raw), 3))
    with pytest.raises(ModelError, match="labels"):
        PostureClassifier().fit(raw, y[:-1])


def test_careloop_fields_use_the_wire_postures() -> None:
    assert set(CARELOOP_POSTURE.values()) <= set(POSTURES)
    assert careloop_fields(3) == {"posture": "lying", "activity": 1.0}
    assert careloop_fields(4)["activity"] > careloop_fields(2)["activity"]


def _learn(det: InactivityDetector, stream) -> list[float]:
    scores = []
    for x, _ in stream:
        scores.append(det.score_one(x))
        det.learn_one(x)
    return scores


def test_daytime_lying_scores_above_night_sleep() -> None:
    det = InactivityDetector()
    _learn(det, routine_stream(0, days=3, anomalies=0))
    night = {"ts": T0_MS + 3 * 24 * HOUR_MS + 2 * HOUR_MS, "posture": "lying", "steps": 0}
    day = {"ts": T0_MS + 3 * 24 * HOUR_MS + 14 * HOUR_MS, "posture": "lying", "steps": 0}
    assert det.score_one(day) > det.score_one(night) + 0.5


def test_stillness_grows_until_the_resident_moves() -> None:
    det = InactivityDetector()
    _learn(det, routine_stream(0, days=3, anomalies=0))
    start = T0_MS + 3 * 24 * HOUR_MS + 12 * HOUR_MS
    det.learn_one({"ts": start, "posture": "walking", "steps": 100})
    scores = []
    for h in (1, 2, 3, 4):
        x = {"ts": start + h * HOUR_MS, "posture": "sitting", "steps": 0}
        scores.append(det.score_one(x))
        det.learn_one(x)
    assert scores == sorted(scores) and scores[-1] > 3 * scores[0] > 0
    moved = {"ts": start + 5 * HOUR_MS, "posture": "sitting", "activity": 3.0}
    assert det.hours_still(moved) == 0.0


def test_inactivity_parameters() -> None:
    with pytest.raises(ModelError):
        InactivityDetector(still_limit_h=0)


def _write_trials(folder: Path, seed: int) -> None:
    raw, y = synthetic_sessions(seed, n=7)
    for s in range(7):
        rows = raw[raw[:, 0] == s]
        labels = y[raw[:, 0] == s]
        room = folder / ("S1_Dataset" if s < 4 else "S2_Dataset")
        room.mkdir(exist_ok=True)
        table = np.column_stack([rows[:, 1:7], np.zeros((len(rows), 2)), labels])
        np.savetxt(room / f"d{s}p{s:02d}{'MF'[s % 2]}", table, delimiter=",", fmt="%.5g")
    (folder / "S1_Dataset" / "README.txt").write_text("not a trial\n")


def test_evaluate_runs_on_a_small_folder_of_the_same_layout(tmp_path: Path) -> None:
    _write_trials(tmp_path, seed=3)
    out = adl.evaluate(tmp_path, seed=0, progress=False)
    assert out["trials"] == 7 and out["n"] == sum(out["labels"].values())
    assert out["macro_f1"] >= 0.8 and out["lying_f1"] >= 0.9
    assert out["references"]["nearest_centroid"]["macro_f1"] <= out["macro_f1"]
