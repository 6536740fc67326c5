"""What the runtime calls: one raw window, or a device's stream through a bounded tracker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.base import ModelError
from models.posture import ADL_LABELS, PostureClassifier
from models.posture.artifact import PostureModel, save_artifact
from models.posture.features import HISTORY_S, MAX_GAP_S
from models.posture.window import (
    MAX_WINDOW_SAMPLES,
    PostureTracker,
    classify_window,
)
from tests.models.cases_posture import synthetic_sessions
from tests.models.test_posture_falls import _fall


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[PostureClassifier, PostureModel, np.ndarray]:
    raw, y = synthetic_sessions(11, n=5)
    classifier = PostureClassifier(n_estimators=20, random_state=0).fit(raw, y)
    return classifier, save_artifact(classifier, tmp_path_factory.mktemp("m") / "p.npz"), raw


@pytest.fixture(scope="module")
def model(fitted) -> PostureModel:
    return fitted[1]


def _session(seed: int):
    raw, y = synthetic_sessions(seed, n=1)
    return (raw[:, 1] * 1000.0).round(), raw[:, 2:5], y


def test_window_answers_for_the_delay_before_its_last_sample(model) -> None:
    t_ms, acc, y = _session(3)
    assert model.delay_s == 4.0
    lying_end = int(np.flatnonzero(y == 3)[30])
    out = classify_window(t_ms[: lying_end + 1], acc[: lying_end + 1], model=model)
    assert out.ts == int(t_ms[lying_end]) - 4000 and out.delay_ms == 4000
    assert out.samples == lying_end + 1
    assert out.label == "lying" and out.posture == "lying" and out.lying
    assert 0.5 < out.confidence <= 1.0 and out.p_lying == pytest.approx(out.confidence)
    assert not out.fall_candidate and out.fall_onset_ms is None


def test_a_window_shorter_than_the_delay_answers_for_its_first_sample(model) -> None:
    t = np.array([0.0, 1000.0, 2500.0])
    out = classify_window(t + 5e12, np.tile([0.1, 1.0, 0.0], (3, 1)), model=model)
    assert out.ts == 5e12 and out.delay_ms == 2500


def test_window_gives_the_fitted_models_answer_for_that_reading(fitted) -> None:
    """Runtime and training agree: a window ending 4 s after a reading answers for it."""
    classifier, loaded, raw = fitted
    rows = raw[raw[:, 0] == 2]
    for i in (40, 150, len(rows) // 2):
        later = rows[rows[:, 1] <= rows[i, 1] + 4.0]
        end = later[-1:].copy()
        end[0, 1] = rows[i, 1] + 4.0  # the reader reads the tag again 4 s later
        window = np.vstack([later, end])
        want = classifier.predict_proba(window)[i]
        out = classify_window(np.round(window[:, 1] * 1000.0), window[:, 2:5], model=loaded)
        assert out.ts == round(rows[i, 1] * 1000.0)
        assert out.confidence == pytest.approx(want.max(), abs=1e-6)
        assert out.label == ADL_LABELS[int(classifier.classes_[want.argmax()])]


def test_window_postures_agree_with_the_labels_most_of_the_time(model) -> None:
    t_ms, acc, y = _session(4)
    right = total = 0
    for end in range(20, len(t_ms), 7):
        start = max(0, end - 200)
        out = classify_window(t_ms[start : end + 1], acc[start : end + 1], model=model)
        right += out.lying == (y[np.searchsorted(t_ms, out.ts)] == 3)
        total += 1
    assert right / total >= 0.9


def test_window_flags_a_synthetic_fall(model) -> None:
    t, acc = _fall(np.random.default_rng(0))
    out = classify_window(t * 1000.0, acc, model=model)
    assert out.fall_candidate  # the rule is on the samples, whatever the classifier says
    assert 30_000 <= out.fall_onset_ms <= 31_000


def test_bad_windows_raise_model_error(model) -> None:
    t = np.arange(5) * 1000.0
    acc = np.tile([0.1, 1.0, 0.0], (5, 1))
    with pytest.raises(ModelError, match="n x 3"):
        classify_window(t, acc[:, :2], model=model)
    with pytest.raises(ModelError, match="backwards"):
        classify_window(t[::-1], acc, model=model)
    with pytest.raises(ModelError, match="finite"):
        classify_window(t, np.where(acc == 1.0, np.nan, acc), model=model)
    with pytest.raises(ModelError, match="sensor fault"):
        classify_window(t, acc * 40, model=model)
    with pytest.raises(ModelError, match="samples"):
        classify_window(np.empty(0), np.empty((0, 3)), model=model)
    big = MAX_WINDOW_SAMPLES + 1
    with pytest.raises(ModelError, match="samples"):
        classify_window(np.arange(big) * 100.0, np.tile([0, 1.0, 0], (big, 1)), model=model)
    with pytest.raises(ModelError, match="peak_g"):
        classify_window(t, acc, peak_g=np.ones(3), model=model)


def test_tracker_matches_the_whole_stream_and_stays_bounded(model) -> None:
    t_ms, acc, _ = _session(5)
    acc = np.round(acc * 1000.0) / 1000.0  # whole milli-g, as the wire carries it
    tracker = PostureTracker(model=model, max_samples=MAX_WINDOW_SAMPLES)
    out = None
    for start in range(0, len(t_ms), 25):
        out = tracker.update(t_ms[start : start + 25], acc[start : start + 25])
        newest = t_ms[min(start + 25, len(t_ms)) - 1]
        assert len(tracker) <= MAX_WINDOW_SAMPLES
        assert tracker._t[0] >= newest - (HISTORY_S + MAX_GAP_S + model.delay_s) * 1000.0
    assert out is not None
    assert tracker.state_nbytes <= MAX_WINDOW_SAMPLES * 16
    whole = classify_window(t_ms[-MAX_WINDOW_SAMPLES:], acc[-MAX_WINDOW_SAMPLES:], model=model)
    assert out.label == whole.label
    assert out.confidence == pytest.approx(whole.confidence)


def test_tracker_ignores_redelivered_samples(model) -> None:
    t_ms, acc, _ = _session(6)
    tracker = PostureTracker(model=model)
    first = tracker.update(t_ms[:40], acc[:40])
    assert first is not None and len(tracker) == 40
    assert tracker.update(t_ms[:40], acc[:40]) is None
    assert len(tracker) == 40
    again = tracker.update(t_ms[30:60], acc[30:60])
    assert again is not None and len(tracker) == 60


def test_tracker_bound_holds_for_a_fast_device(model) -> None:
    tracker = PostureTracker(model=model, max_samples=64)
    t = np.arange(300) * 50.0  # 20 Hz
    acc = np.tile([0.1, 1.0, 0.0], (300, 1)) + np.random.default_rng(0).normal(0, 0.01, (300, 3))
    for i in range(0, 300, 100):
        tracker.update(t[i : i + 100], acc[i : i + 100])
    assert len(tracker) == 64
    with pytest.raises(ModelError):
        PostureTracker(model=model, max_samples=0)


def test_default_model_is_the_shipped_artefact(tmp_path: Path) -> None:
    t, acc = _fall(np.random.default_rng(2))
    out = classify_window(t * 1000.0, acc)
    assert out.posture in {"sitting", "lying", "walking"}
    assert out.fall_candidate
