"""The candidate designs, and replaying them over one trace exactly as their detectors run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.base import ModelError
from models.stream_anomaly import (
    DEFAULT_DESIGN,
    DESIGNS,
    MultiScaleNovelty,
    design_params,
    replay,
    replay_all,
    superset,
    trace,
)
from models.stream_anomaly.memory import PatternMemory

_STEP_MS = 300_000  # five minutes: a day is 288 samples


def _stream(seed: int, n: int = 2600) -> list[dict[str, float | None]]:
    """A daily rhythm with noise, a level shift, a spike, a missing reading."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    v = 40 + 10 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, n)
    v[n * 7 // 10 :] += 12
    v[n * 9 // 10] += 40
    obs: list[dict[str, float | None]] = [
        {"value": float(x), "ts": float(i * _STEP_MS)} for i, x in enumerate(v)
    ]
    obs[n // 3] = {"value": None, "ts": float(n // 3 * _STEP_MS)}
    return obs


def _direct(params: dict, obs: list) -> np.ndarray:
    det = MultiScaleNovelty(**params)
    out = []
    for x in obs:
        out.append(det.score_one(x))
        det.learn_one(x)
    return np.array(out)


def test_the_default_detector_is_the_default_design() -> None:
    assert MultiScaleNovelty().get_params() == design_params(DEFAULT_DESIGN)
    assert DESIGNS[DEFAULT_DESIGN] == {}
    assert next(iter(DESIGNS)) == DEFAULT_DESIGN  # the most general design breaks ties


def test_replaying_a_trace_equals_running_each_design() -> None:
    obs = _stream(0)
    params = [design_params(name) for name in DESIGNS]
    t = trace(superset(params), obs)
    assert t.day == 288 and t.lengths == (1, 8, 32, 128, 512, 288)
    replayed = replay_all(t, params)
    for name, p, scores in zip(DESIGNS, params, replayed, strict=True):
        direct = _direct(p, obs)
        np.testing.assert_array_equal(scores, direct, err_msg=name)
        np.testing.assert_array_equal(replay(t, p), direct, err_msg=name)
    assert replayed[0][len(obs) // 3] == 0.0
    assert replayed[0][1800:1900].max() >= MultiScaleNovelty().alarm_score  # the shift


def test_a_replay_needs_the_lengths_and_channels_it_uses() -> None:
    obs = _stream(1, 700)
    t = trace(design_params("short_windows"), obs)
    with pytest.raises(ModelError, match="no window of length"):
        replay(t, design_params(DEFAULT_DESIGN))
    with pytest.raises(ModelError, match="other channel parameters"):
        replay(t, {**design_params("short_windows"), "radius": 0.05})
    with pytest.raises(ModelError, match="channel parameters"):
        superset([design_params("short_windows"), {**design_params("no_day"), "bins": 4}])
    with pytest.raises(ModelError, match="unknown design"):
        design_params("nonesuch")


def test_absorbing_with_a_search_hint_equals_a_full_scan() -> None:
    rng = np.random.default_rng(2)
    windows = rng.normal(0, 1, (600, 4)).round(1)
    hinted = PatternMemory(4, 20, np.random.default_rng(0))  # fills: replacements happen
    plain = PatternMemory(4, 20, np.random.default_rng(0))
    pending = []
    for w in windows:
        pending.append((w, hinted.search(w, 2)))
        assert hinted.search(w, 2).distance == plain.nearest(w, 2)
        if len(pending) > 5:
            old, hint = pending.pop(0)
            hinted.absorb(old, 0.8, hint)
            plain.absorb(old, 0.8)
    assert len(hinted) == len(plain) == 20 and hinted._replaced > 0
    np.testing.assert_array_equal(hinted._rows, plain._rows)
    np.testing.assert_array_equal(hinted._count, plain._count)


def test_an_empty_memory_is_infinitely_far() -> None:
    memory = PatternMemory(2, 10, np.random.default_rng(0))
    assert math.isinf(memory.nearest(np.zeros(2)))
    memory.absorb(np.zeros(2), 0.1)
    assert memory.nearest(np.zeros(2)) == 0.0
    assert math.isinf(memory.nearest(np.zeros(2), min_count=2))
