"""The fall-candidate rule on synthetic windows (the data set has no falls)."""

from __future__ import annotations

import numpy as np
import pytest

from models.base import ModelError
from models.posture.falls import FallRule

UPRIGHT = (0.15, 0.98, 0.0)  # standing or walking: gravity along the sensor's vertical axis
SITTING = (0.45, 0.88, 0.0)
LYING_FLAT = (0.97, 0.05, 0.15)  # on the back: gravity along the frontal axis


def _segment(rng, t0, seconds, mean, sd, rate_hz=1.0):
    """Irregularly timed samples (mean interval 1/rate) around ``mean``."""
    gaps = rng.uniform(0.5, 1.5, size=int(seconds * rate_hz) + 1) / rate_hz
    t = t0 + np.cumsum(gaps)
    t = t[t < t0 + seconds]
    return t, rng.normal(mean, sd, size=(len(t), 3))


def _window(rng, parts):
    ts, accs, t0 = [], [], 0.0
    for seconds, mean, sd in parts:
        if seconds == 0:  # one sample right after the previous one
            ts.append(np.array([t0 + 0.4]))
            accs.append(np.asarray([mean], dtype=float))
            t0 += 0.4
            continue
        t, a = _segment(rng, t0, seconds, mean, sd)
        ts.append(t)
        accs.append(a)
        t0 += seconds
    return np.concatenate(ts), np.vstack(accs)


IMPACT = (1.3, 1.4, 0.5)  # |a| ~ 2 g: the sample that caught the hit


def _fall(rng, still_s=20.0, after=None):
    parts = [(30.0, UPRIGHT, 0.12), (0, IMPACT, 0.0), (still_s, LYING_FLAT, 0.01)]
    return _window(rng, parts + ([] if after is None else [after]))


@pytest.mark.parametrize("seed", range(5))
def test_impact_then_lying_still_is_a_candidate(seed: int) -> None:
    t, acc = _fall(np.random.default_rng(seed))
    found = FallRule().check(t, acc)
    assert found is not None
    assert 30.0 <= found.onset_s <= 31.0 and found.peak_g >= 1.8
    assert found.still_s >= 10.0


def test_a_fall_is_a_candidate_only_once_stillness_lasted_long_enough() -> None:
    t, acc = _fall(np.random.default_rng(0), still_s=8.0)
    assert FallRule().check(t, acc) is None
    assert FallRule(still_s=5.0).check(t, acc) is not None


def test_getting_up_after_the_impact_is_not_a_candidate() -> None:
    t, acc = _fall(np.random.default_rng(1), after=(10.0, UPRIGHT, 0.12))
    assert FallRule().check(t, acc) is None


def test_moving_on_the_floor_is_not_lying_still() -> None:
    t, acc = _fall(np.random.default_rng(2), after=(15.0, LYING_FLAT, 0.2))
    assert FallRule().check(t, acc) is None


@pytest.mark.parametrize("seed", range(5))
def test_lying_down_on_purpose_is_not_a_candidate(seed: int) -> None:
    """Sit, then lie back over a few seconds, then lie still: no jolt, no impact."""
    rng = np.random.default_rng(seed)
    ramp = [(1.0, tuple(np.array(SITTING) * (1 - f) + np.array(LYING_FLAT) * f), 0.02) for f in
            (0.25, 0.5, 0.75)]  # fmt: skip
    t, acc = _window(rng, [(30.0, SITTING, 0.05), *ramp, (60.0, LYING_FLAT, 0.01)])
    assert FallRule().check(t, acc) is None


def test_a_brisk_lie_down_needs_more_than_a_rotation() -> None:
    """Upright one second, lying the next: a 90° turn (1.41 g) is under the 1.5 g jolt."""
    t, acc = _window(
        np.random.default_rng(3),
        [(20.0, UPRIGHT, 0.0), (0, LYING_FLAT, 0.0), (30.0, LYING_FLAT, 0.005)],
    )
    assert FallRule().check(t, acc) is None
    assert FallRule(jolt_g=1.0).check(t, acc) is not None


def test_an_impact_from_lying_is_not_a_fall() -> None:
    """Turning over in bed with a bump: nothing upright before it."""
    t, acc = _window(
        np.random.default_rng(4),
        [(30.0, LYING_FLAT, 0.01), (0, IMPACT, 0.0), (30.0, LYING_FLAT, 0.01)],
    )
    assert FallRule().check(t, acc) is None


def test_a_device_peak_catches_an_impact_the_samples_missed() -> None:
    """At ~1 Hz the samples straddle the hit; the device's own peak since the last sample
    (kept at its internal rate) shows it."""
    rng = np.random.default_rng(5)
    t, acc = _window(rng, [(30.0, UPRIGHT, 0.05), (20.0, LYING_FLAT, 0.01)])
    # slow-ish fall: upright to lying between two samples ~1 s apart, 1.41 g apart at most
    assert FallRule().check(t, acc) is None
    peak = np.linalg.norm(acc, axis=1)
    first_lying = int(np.argmax(acc[:, 0] > 0.8))
    peak[first_lying] = 3.2
    found = FallRule().check(t, acc, peak)
    assert found is not None and found.peak_g == pytest.approx(3.2)


def test_a_long_gap_breaks_the_stillness() -> None:
    t, acc = _fall(np.random.default_rng(6), still_s=30.0)
    late = t > 45.0
    t = np.r_[t[~late], t[late] + 20.0]  # the tag went unread for 20 s mid-stillness
    found = FallRule().check(t, acc)
    assert found is None or found.onset_s > 45.0


def test_rule_parameters_are_checked() -> None:
    with pytest.raises(ModelError):
        FallRule(upright_deg=70.0, lying_deg=60.0)
    with pytest.raises(ModelError):
        FallRule(still_s=0.0)
    assert FallRule().check(np.array([0.0]), np.array([UPRIGHT])) is None
