"""CareHome: contract validity, determinism, resumability and per-resident equivalence."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careloop.wire import data_message
from simulators import Assignment, CareHome, Emission, Label
from tests.simulators.conftest import DAYS, INTERVAL_S, Run

STEPS_PER_DAY = int(86_400 / INTERVAL_S)


def test_every_emission_validates_against_the_contract(run: Run) -> None:
    batches: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for e in run.emissions:
        batches[(e.device, e.resident, e.kind)].append(e.reading)
    kinds = {k for _, _, k in batches}
    assert kinds == {"vitals", "event", "utterance"}
    for (device, resident, kind), readings in batches.items():
        for i in range(0, len(readings), 500):
            chunk = readings[i : i + 500]
            data_message(
                kind, device=device, resident=resident, seq=i, ts=chunk[-1]["ts"], readings=chunk
            )


def test_devices_and_kinds_match_the_profiles(run: Run) -> None:
    for e in run.emissions[:5000]:
        profile = run.profile(e.resident)
        expected = profile.devices.voice if e.kind == "utterance" else profile.devices.terminal
        assert e.device == expected
        assert str(e.topic(run.home.site)).endswith(f"/{e.device}/{e.kind}")


def test_vitals_every_step_with_slower_temperature_and_bp(run: Run) -> None:
    rid = run.normal_residents[0]
    vitals = [e.reading for e in run.by_resident[rid] if e.kind == "vitals"]
    assert len(vitals) == DAYS * STEPS_PER_DAY
    assert all("heart_rate" in r and "spo2" in r and "posture" in r for r in vitals)
    temps = [r for r in vitals if "temperature" in r]
    bps = [r for r in vitals if "systolic_bp" in r]
    assert len(temps) == pytest.approx(len(vitals) / 5, abs=2)
    assert len(bps) == pytest.approx(len(vitals) / 10, abs=2)
    assert all(r["diastolic_bp"] < r["systolic_bp"] for r in bps)


def test_utterances_are_a_handful_per_day_and_text_needs_consent(run: Run) -> None:
    for p in run.home.profiles:
        said = [e.reading for e in run.by_resident[p.id] if e.kind == "utterance"]
        if p.id not in run.scenario_of:
            assert 2 * DAYS <= len(said) <= 14 * DAYS, p.id
        for r in said:
            assert ("text" in r) == p.text_consent
            for feature in ("speech_rate", "pitch_hz", "energy_db", "duration_s"):
                assert isinstance(r[feature], float)
            assert isinstance(r["repeated_question"], bool)


def test_normal_residents_sleep_at_night_and_walk_by_day(run: Run) -> None:
    rid = run.normal_residents[0]
    p = run.profile(rid)
    vitals = [e.reading for e in run.by_resident[rid] if e.kind == "vitals"]
    hour = [(r["ts"] // 3_600_000) % 24 for r in vitals]
    night = [r for r, h in zip(vitals, hour, strict=True) if 0 <= h < 4]
    day = [r for r, h in zip(vitals, hour, strict=True) if 9 <= h < 19]
    assert sum(r["bed_occupied"] for r in night) > 0.85 * len(night)
    assert sum(r["steps"] for r in day) > 5 * sum(r["steps"] for r in night)
    mean = lambda rs, f: sum(r[f] for r in rs) / len(rs)  # noqa: E731  # local shorthand
    assert mean(night, "heart_rate") < mean(day, "heart_rate")
    assert mean(night, "respiration_rate") < mean(day, "respiration_rate")
    t_night = [
        r["temperature"]
        for r in vitals
        if "temperature" in r and 3 <= (r["ts"] // 3_600_000) % 24 < 5
    ]
    t_late = [
        r["temperature"]
        for r in vitals
        if "temperature" in r and 15 <= (r["ts"] // 3_600_000) % 24 < 17
    ]
    assert sum(t_night) / len(t_night) < sum(t_late) / len(t_late)
    assert abs(mean(night, "heart_rate") - 0.9 * p.resting_hr) < 8


def test_same_seed_same_emissions_other_seed_differs() -> None:
    a = CareHome(6, seed=11, scenarios="none")
    b = CareHome(6, seed=11, scenarios="none")
    c = CareHome(6, seed=12, scenarios="none")
    steps = [0, 1, 500, 4_321, 20_000]
    assert [a.emissions(k) for k in steps] == [b.emissions(k) for k in steps]
    assert [a.emissions(k) for k in steps] != [c.emissions(k) for k in steps]


def test_batched_steps_equal_single_steps(run: Run) -> None:
    home = run.home
    start = STEPS_PER_DAY + 400
    batched = list(home.iter_emissions(start, start + 300))
    assert [s for s, _ in batched] == list(range(start, start + 300))
    for step, emissions in batched[::7]:
        assert emissions == home.emissions(step)


@settings(max_examples=40, deadline=None)
@given(step=st.integers(0, DAYS * STEPS_PER_DAY - 1))
def test_emissions_are_the_concatenation_of_resident_emissions(run: Run, step: int) -> None:
    home = run.home
    joined: list[Emission] = []
    for i in range(len(home.profiles)):
        joined.extend(home.resident_emissions(i, step))
    assert joined == home.emissions(step)


def test_resident_emissions_match_inside_scenario_windows(run: Run) -> None:
    home = run.home
    for label in home.labels:
        index = run.profile(label.resident).index
        for ts in (label.start, (label.start + label.end) // 2, label.end - 1):
            step = home.step_at(ts)
            alone = home.resident_emissions(index, step)
            together = [e for e in home.emissions(step) if e.resident == label.resident]
            assert alone == together, label.scenario


@settings(max_examples=15, deadline=None)
@given(step=st.integers(0, 60 * STEPS_PER_DAY))
def test_a_fresh_home_resumes_at_any_step(step: int) -> None:
    """No hidden state: a home that computed other steps first gives the same answer."""
    warm = CareHome(4, seed=3)
    for k in range(5):
        warm.emissions(k)
    assert CareHome(4, seed=3).emissions(step) == warm.emissions(step)


def test_step_time_round_trip() -> None:
    home = CareHome(2, seed=1, interval_s=10.0)
    for step in (0, 1, 12345):
        ts = home.time_ms(step)
        assert home.step_at(ts) == step
        assert home.step_at(ts + 9_999) == step
        assert all(e.reading["ts"] >= ts for e in home.emissions(step))


def test_default_schedule_leaves_most_residents_normal() -> None:
    home = CareHome(40, seed=5)
    affected = {lb.resident for lb in home.labels}
    assert 0 < len(affected) <= 0.35 * 40
    assert {lb.scenario for lb in home.labels} >= {"fever_onset", "hypoxia", "fall_no_movement"}
    first_day = home.first_day_ms
    assert all(lb.start >= first_day + 2 * 86_400_000 for lb in home.labels)
    assert CareHome(40, seed=5).labels == home.labels
    assert CareHome(40, seed=6).labels != home.labels
    for rid in affected:
        mine = sorted((lb for lb in home.labels if lb.resident == rid), key=lambda lb: lb.start)
        assert all(a.end <= b.start for a, b in pairwise(mine))


def test_scenarios_none_and_explicit_labels() -> None:
    assert CareHome(3, seed=1, scenarios="none").labels == []
    home = CareHome(3, seed=1, scenarios=[Assignment("r002", "hypoxia", day=0)])
    (label,) = home.labels
    assert (label.resident, label.scenario, label.severity) == ("r002", "hypoxia", "emergency")
    again = CareHome(3, seed=1, scenarios=[label])
    assert again.labels == [label]
    assert again.emissions(home.step_at(label.start) + 30) == home.emissions(
        home.step_at(label.start) + 30
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_residents": 0},
        {"n_residents": 2, "interval_s": 0.5},
        {"n_residents": 2, "scenarios": "most"},
        {"n_residents": 2, "scenarios": [Assignment("r009", "hypoxia")]},
        {"n_residents": 2, "scenarios": [Assignment("r001", "gout")]},
    ],
)
def test_bad_arguments_fail_loudly(kwargs: dict) -> None:
    with pytest.raises((ValueError, KeyError)):
        CareHome(seed=1, **kwargs)


def test_labels_are_label_objects(run: Run) -> None:
    assert all(isinstance(lb, Label) for lb in run.home.labels)
    assert {lb.scenario for lb in run.home.labels} == set(run.scenario_of.values())
