"""Posture features and classifier, careloop mapping, inactivity, and ``careloop eval adl``."""

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
    feature_names,
    posture_features,
)
from models.posture.classifier import sample_rows
from models.posture.features import HISTORY_S, MAX_GAP_S, delayed_features, motion_features
from tests.models.cases_posture import T0_MS, routine_stream, synthetic_sessions

HOUR_MS = 3_600_000


@pytest.mark.parametrize("rfid", [False, True])
def test_features_keep_streams_apart_and_ignore_row_order(rfid: bool) -> None:
    raw, _ = synthetic_sessions(0, n=2)
    feats = posture_features(raw, rfid=rfid)
    assert feats.shape == (len(raw), len(feature_names(rfid=rfid)))
    alone = posture_features(raw[raw[:, 0] == 0], rfid=rfid)
    np.testing.assert_allclose(feats[raw[:, 0] == 0], alone, rtol=1e-6)
    perm = np.random.default_rng(0).permutation(len(raw))
    np.testing.assert_allclose(posture_features(raw[perm], rfid=rfid), feats[perm], rtol=1e-6)


@pytest.mark.parametrize("rfid", [False, True])
def test_features_do_not_look_ahead(rfid: bool) -> None:
    raw, _ = synthetic_sessions(0, n=1)
    cut = len(raw) // 2
    early = posture_features(raw[:cut], rfid=rfid)
    np.testing.assert_allclose(posture_features(raw, rfid=rfid)[:cut], early, rtol=1e-6)


@pytest.mark.parametrize("delay_s", [2.0, 4.0])
def test_delayed_features_look_ahead_by_the_delay_only(delay_s: float) -> None:
    """A reading's features use readings up to t + delay_s, none later."""
    raw, _ = synthetic_sessions(0, n=1)
    full = posture_features(raw, delay_s=delay_s)
    assert full.shape[1] == len(feature_names(delay_s=delay_s)) == 2 * len(feature_names())
    np.testing.assert_allclose(full[:, : len(feature_names())], posture_features(raw), rtol=1e-6)
    cut = len(raw) // 2
    settled = raw[:, 1] + delay_s <= raw[cut - 1, 1]
    early = posture_features(raw[:cut], delay_s=delay_s)
    np.testing.assert_allclose(full[settled], early[settled[:cut]], rtol=1e-6)
    # a later reading changes the answer for a time within the delay, so the delay is used
    late = ~settled[:cut]
    assert not np.allclose(full[:cut][late], early[late])


def test_delayed_features_at_the_end_of_the_data_stop_there() -> None:
    t = np.arange(10.0)
    acc = np.tile([0.1, 1.0, 0.0], (10, 1)) + np.arange(10)[:, None] * 0.01
    out = delayed_features(t, acc, t[-1:], 4.0)
    now = motion_features(t, acc, t[-1:])
    np.testing.assert_allclose(out, np.hstack([now, now]))
    np.testing.assert_allclose(delayed_features(t, acc, t, 0.0), motion_features(t, acc, t))


def test_features_use_only_the_bounded_history() -> None:
    """What a device buffer keeps (HISTORY_S + MAX_GAP_S) gives the same features."""
    raw, _ = synthetic_sessions(2, n=1)
    t, acc = raw[:, 1], raw[:, 2:5]
    at = t[-1:]
    kept = t >= at[0] - HISTORY_S - MAX_GAP_S
    assert not kept.all(), "the session must be longer than the history"
    np.testing.assert_allclose(
        motion_features(t[kept], acc[kept], at), motion_features(t, acc, at), rtol=1e-9
    )


def test_repeated_reads_of_one_sample_change_nothing() -> None:
    """The RFID tag repeats its last sample at every read: features see samples, not reads."""
    rng = np.random.default_rng(4)
    t = np.cumsum(rng.uniform(0.5, 1.5, 120))
    acc = rng.normal([0.3, 0.9, 0.0], 0.1, (120, 3))
    once = motion_features(t, acc, t)
    t2 = np.sort(np.r_[t, t + 0.2])
    acc2 = np.repeat(acc, 2, axis=0)
    np.testing.assert_allclose(motion_features(t2, acc2, t), once, rtol=1e-9)


def test_features_reject_bad_input() -> None:
    with pytest.raises(ModelError, match="columns"):
        posture_features(np.zeros((3, 5)))
    raw, _ = synthetic_sessions(0, n=1)
    raw[0, 2] = np.nan
    with pytest.raises(ModelError, match="finite"):
        posture_features(raw)
    with pytest.raises(ModelError, match="before the first sample"):
        motion_features(np.array([5.0, 6.0]), np.ones((2, 3)), np.array([1.0]))
    with pytest.raises(ModelError, match="time order"):
        motion_features(np.array([6.0, 5.0]), np.ones((2, 3)), np.array([6.0]))


@pytest.mark.parametrize("rfid", [False, True])
def test_classifier_on_held_out_synthetic_sessions(rfid: bool) -> None:
    raw, y = synthetic_sessions(1, n=6)
    train = raw[:, 0] < 4
    model = PostureClassifier(n_estimators=50, rfid=rfid).fit(raw[train], y[train])
    assert model.feature_names_ == feature_names(rfid=rfid, delay_s=4.0)
    pred = model.predict(raw[~train])
    assert f1_score(y[~train], pred, average="macro") >= 0.8
    lying = model.score_samples(raw[~train])
    assert lying[y[~train] == 3].mean() > 0.8 > 0.2 > lying[y[~train] != 3].mean()


def test_classifier_fits_on_samples_so_extra_reads_change_nothing() -> None:
    """The reader's repeats of a sample are not fitted on: adding more of them is a no-op."""
    raw, y = synthetic_sessions(3, n=3)
    keep = sample_rows(raw)
    assert (
        0 < keep.sum() < len(raw) and keep[np.r_[0, np.flatnonzero(np.diff(raw[:, 0])) + 1]].all()
    )
    inner = np.flatnonzero(keep[:-1] & (raw[1:, 0] == raw[:-1, 0]))
    extra = raw[inner].copy()
    extra[:, 1] += np.minimum(0.01, (raw[inner + 1, 1] - raw[inner, 1]) / 2)
    more = np.vstack([raw, extra])
    assert sample_rows(more).sum() == keep.sum()
    order = np.lexsort((more[:, 1], more[:, 0]))
    a = PostureClassifier(n_estimators=10).fit(raw, y)
    b = PostureClassifier(n_estimators=10).fit(more[order], np.r_[y, y[inner]][order])
    np.testing.assert_allclose(a.predict_proba(raw), b.predict_proba(raw))
    every = PostureClassifier(n_estimators=10, samples_only=False)
    assert every.training_rows(raw).all()
    with pytest.raises(ModelError, match="delay_s"):
        PostureClassifier(delay_s=-1.0).fit(raw, y)


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


def write_trials(folder: Path, seed: int, n: int = 8) -> None:
    """Synthetic trials in the data set's layout: two rooms, both genders."""
    raw, y = synthetic_sessions(seed, n=n)
    for s in range(n):
        rows = raw[raw[:, 0] == s]
        room = folder / ("S1_Dataset" if s < n // 2 else "S2_Dataset")
        room.mkdir(parents=True, exist_ok=True)
        table = np.column_stack([rows[:, 1:9], y[raw[:, 0] == s]])
        np.savetxt(room / f"d{s}p{s:02d}{'MF'[s % 2]}", table, delimiter=",", fmt="%.6g")
    (folder / "S1_Dataset" / "README.txt").write_text("not a trial\n")


def test_evaluate_runs_on_a_small_folder_of_the_same_layout(tmp_path: Path) -> None:
    write_trials(tmp_path, seed=3)
    out = adl.evaluate(tmp_path, seed=0, progress=False)
    assert out["trials"] == 8 and out["n"] == sum(out["labels"].values())
    assert set(out["cv"]) == {"trials", "people", "rooms"}
    for scheme in out["cv"].values():
        assert set(scheme["f1"]) == {"sit_on_bed", "sit_on_chair", "lying", "ambulating"}
    assert out["macro_f1"] == out["cv"]["trials"]["macro_f1"] >= 0.7
    assert out["lying_f1"] >= 0.9
    assert out["in_sample"]["macro_f1"] >= out["macro_f1"]
    assert out["references"]["nearest_centroid"]["macro_f1"] <= out["macro_f1"]
    assert out["runtime"]["ms_per_window"] > 0
    assert out["delay_s"] == 4.0
    previous = out["references"]["previous_causal_every_reading"]
    assert set(previous) == {"trials", "people", "rooms", "walks"}
    assert previous["walks"]["episodes"] == out["walks"]["episodes"]


def test_read_trials_refuses_other_layouts(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no trial files"):
        adl.evaluate(tmp_path, seed=0, progress=False)
    room = tmp_path / "S1_Dataset"
    room.mkdir()
    np.savetxt(room / "d1p01M", np.zeros((3, 7)), delimiter=",")
    with pytest.raises(Exception, match="9 columns"):
        adl.evaluate(tmp_path, seed=0, progress=False)
