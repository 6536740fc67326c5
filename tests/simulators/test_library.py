"""Profiles, the scenario library, phrase pools, labels and the counter-based noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators import (
    SCENARIOS,
    TIERS,
    Events,
    Label,
    Shift,
    get_scenario,
    make_profiles,
    read_labels,
    write_labels,
)
from simulators.grid import Cohort, Grid
from simulators.noise import keyed, smooth, uniforms
from simulators.phrases import POOLS, syllables

REQUIRED = {
    "fever_onset",
    "hypoxia",
    "tachycardia",
    "bradycardia",
    "hypertensive_crisis",
    "news2_rise",
    "fall_no_movement",
    "not_out_of_bed",
    "night_wandering",
    "slow_decline",
    "low_mood_zh",
    "low_mood_en",
    "agitation",
    "missed_checkup",
}


def test_profiles_are_deterministic_and_prefix_stable() -> None:
    assert make_profiles(10, seed=4) == make_profiles(10, seed=4)
    assert make_profiles(10, seed=4)[:5] == make_profiles(5, seed=4)
    assert make_profiles(10, seed=4) != make_profiles(10, seed=5)


def test_profiles_mix_baselines_languages_and_consent() -> None:
    profiles = make_profiles(60, seed=1, site="home-a")
    assert [p.id for p in profiles[:3]] == ["r001", "r002", "r003"]
    assert profiles[0].devices == ("term-r001", "voice-r001", "tag-r001")
    assert {p.site for p in profiles} == {"home-a"}
    assert any(p.resting_hr >= 88 for p in profiles)
    assert any(p.resting_hr <= 63 for p in profiles)
    assert all(93 <= p.spo2 <= 99 for p in profiles)
    assert {p.language for p in profiles} == {"zh", "en"}
    assert {p.text_consent for p in profiles} == {True, False}
    for p in profiles:
        assert p.wake_h < p.meals_h[0] + 0.5 < p.meals_h[1] < p.meals_h[2] < p.bed_h
        assert p.diastolic_bp < p.systolic_bp - 30


def test_library_has_every_required_scenario_with_a_tier() -> None:
    assert set(SCENARIOS) >= REQUIRED
    assert all(s.tier in TIERS for s in SCENARIOS.values())
    assert get_scenario("hypoxia").tier == "emergency"
    with pytest.raises(KeyError, match="known"):
        get_scenario("gout")
    with pytest.raises(ValueError):
        Shift("heart_rate")
    with pytest.raises(ValueError):
        Shift("mood", by=(1.0, 2.0))
    with pytest.raises(ValueError):
        Events("earthquake", "x")


def test_phrase_pools_are_varied_and_disjoint() -> None:
    assert len(POOLS["neutral_zh"]) >= 36 and len(POOLS["neutral_en"]) >= 36
    for name, pool in POOLS.items():
        assert len(set(pool)) == len(pool), name
    neutral = set(POOLS["neutral_zh"]) | set(POOLS["neutral_en"])
    mood = set(POOLS["low_mood_zh"]) | set(POOLS["low_mood_en"])
    assert not neutral & mood
    assert {"今天有点闷", "没人来看我"} <= mood and "I feel a bit down" in mood
    assert {"救命", "我摔倒了"} <= set(POOLS["help_zh"]) and "Help me" in POOLS["help_en"]
    assert syllables("今天有点闷") == 5 and syllables("Nobody visits me") == 6


labels = st.builds(
    lambda r, s, start, length, tier: Label(r, s, start, start + length, tier),
    st.from_regex(r"\Ar[0-9]{3}\Z"),
    st.sampled_from(sorted(SCENARIOS)),
    st.integers(946_684_800_000, 4_000_000_000_000),
    st.integers(1, 10 * 86_400_000),
    st.sampled_from(TIERS),
)


@settings(max_examples=30, deadline=None)
@given(items=st.lists(labels, max_size=8))
def test_labels_round_trip_through_json_lines(
    tmp_path_factory: pytest.TempPathFactory, items: list[Label]
) -> None:
    path = tmp_path_factory.mktemp("labels") / "labels.jsonl"
    assert write_labels(path, items) == len(items)
    assert read_labels(path) == items


def test_label_rejects_empty_interval_and_unknown_tier(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Label("r001", "hypoxia", 10, 10, "emergency")
    with pytest.raises(ValueError):
        Label("r001", "hypoxia", 10, 20, "urgent")  # type: ignore[arg-type]
    assert Label("r001", "hypoxia", 10, 20, "emergency").covers(10)
    assert not Label("r001", "hypoxia", 10, 20, "emergency").covers(20)


def test_uniforms_are_in_range_and_roughly_uniform() -> None:
    keys = np.arange(1, 2001, dtype=np.uint64).reshape(1, -1)
    u = uniforms(keyed(keys, np.arange(50).reshape(-1, 1), channel=3), 2)
    assert u.shape == (50, 2000, 2)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01
    assert abs(np.corrcoef(u[..., 0].ravel(), u[..., 1].ravel())[0, 1]) < 0.02


@settings(max_examples=25, deadline=None)
@given(step=st.integers(0, 10**7), column=st.integers(0, 9))
def test_one_cell_equals_the_same_cell_of_a_batch(step: int, column: int) -> None:
    """Element-wise arithmetic: a cell does not depend on the others computed with it."""
    cohort = Cohort.build(make_profiles(10, seed=2), seed=2)
    many = Grid.build(
        range(step, step + 5), start_ms=1_767_571_200_000, dt_ms=10_000, cohort=cohort
    )
    one = Grid.build(
        [step + 3], start_ms=1_767_571_200_000, dt_ms=10_000, cohort=cohort.take([column])
    )
    a = uniforms(keyed(many.cohort.keys, many.steps, 9), 4)[3, column]
    b = uniforms(keyed(one.cohort.keys, one.steps, 9), 4)[0, 0]
    assert np.array_equal(a, b)
    sa = smooth(many.t_s[..., None], many.cohort.phases)[3, column]
    sb = smooth(one.t_s[..., None], one.cohort.phases)[0, 0]
    assert np.array_equal(sa, sb)
    assert np.array_equal(cohort.draw(many.steps, 9, 4)[3, column], b)
