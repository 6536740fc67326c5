"""The runtime's rules, one behaviour each, on hand-written readings (reading time, no sleeps)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from careloop.wire.needs import NeedMessage
from models.runtime import CareProfile, Expectation, ScoringEngine, encode_readings

SITE = "home"
T0 = 1_767_600_000_000  # 2026-01-05 08:00 UTC, a Monday
S = 1000
MIN = 60 * S


def _still(ts: int, **extra: Any) -> dict[str, Any]:
    reading = {
        "ts": ts,
        "heart_rate": 72.0,
        "spo2": 97.0,
        "respiration_rate": 15.0,
        "posture": "lying",
        "activity": 1.0,
        "steps": 0,
        "bed_occupied": False,
        "room_motion": False,
    }
    reading.update(extra)
    return reading


def _walking(ts: int) -> dict[str, Any]:
    return _still(ts, posture="walking", activity=2.6, steps=14, room_motion=True)


def _feed(
    engine: ScoringEngine, slot: int, readings: Iterable[dict[str, Any]]
) -> list[NeedMessage]:
    out: list[NeedMessage] = []
    for reading in readings:
        out += engine.score_vitals(encode_readings([slot], [reading]))
    return out


def _opened(needs: list[NeedMessage]) -> list[tuple[str, str, str]]:
    return [(n.kind, n.tier, n.state) for n in needs]


@pytest.fixture
def engine() -> ScoringEngine:
    return ScoringEngine()


def test_sos_is_an_emergency_at_once(engine: ScoringEngine) -> None:
    slot = engine.slot(SITE, "r001")
    _feed(engine, slot, [_walking(T0)])
    needs = engine.score_event(slot, {"ts": T0 + 5 * S, "type": "sos_button", "detail": "pendant"})
    assert _opened(needs) == [("sos", "emergency", "open")]
    assert needs[0].onset == T0 + 5 * S and needs[0].resident == "r001" and needs[0].site == SITE


def test_fall_is_confirmed_only_by_stillness_afterwards(engine: ScoringEngine) -> None:
    slot = engine.slot(SITE, "r001")
    _feed(engine, slot, [_walking(T0 + k * 5 * S) for k in range(10)])
    fall_at = T0 + 50 * S
    engine.score_event(slot, {"ts": fall_at, "type": "fall_detected", "confidence": 0.9})
    before = _feed(engine, slot, [_still(fall_at + k * 5 * S) for k in range(1, 12)])  # 55 s
    assert before == []
    after = _feed(engine, slot, [_still(fall_at + 60 * S), _still(fall_at + 65 * S)])
    assert _opened(after) == [("fall", "emergency", "open")]
    assert "no movement for 60 s" in after[0].summary
    # getting up afterwards clears the emergency and leaves a check-in in its place
    cleared = _feed(engine, slot, [_walking(fall_at + 70 * S)])
    assert _opened(cleared) == [
        ("fall", "emergency", "cleared"),
        ("fall_check_in", "general", "open"),
    ]
    assert cleared[0].id == after[0].id


def test_a_fall_then_getting_up_raises_a_general_check_in(engine: ScoringEngine) -> None:
    slot = engine.slot(SITE, "r001")
    engine.score_event(slot, {"ts": T0, "type": "fall_detected", "confidence": 0.8})
    still = _feed(engine, slot, [_still(T0 + k * 5 * S) for k in range(1, 4)])
    assert still == []  # 15 s on the floor: no emergency yet
    needs = _feed(engine, slot, [_walking(T0 + k * 5 * S) for k in range(4, 40)])
    assert _opened(needs) == [("fall_check_in", "general", "open")]
    assert needs[0].onset == T0 and needs[0].ts == T0 + 20 * S
    assert "fell and got up" in needs[0].summary and "20 s later" in needs[0].summary
    # it is one check-in, not one per step afterwards; no emergency was ever raised
    assert not any(n.kind == "fall" for n in needs)


def test_help_after_a_fall_joins_the_fall_need_instead_of_a_second_page(
    engine: ScoringEngine,
) -> None:
    slot = engine.slot(SITE, "r001")
    engine.score_event(slot, {"ts": T0, "type": "fall_detected", "confidence": 0.8})
    fall = _feed(engine, slot, [_still(T0 + k * 10 * S) for k in range(1, 8)])
    assert _opened(fall) == [("fall", "emergency", "open")]
    help_ = engine.score_utterance(
        slot, {"ts": T0 + 90 * S, "language": "en", "text": "help me, I can't get up"}
    )
    assert [(n.kind, n.state, n.id) for n in help_] == [("fall", "update", fall[0].id)]
    assert "Asked for help" in help_[0].summary


def test_a_silent_device_is_not_an_inactive_person(engine: ScoringEngine) -> None:
    quiet, still = engine.slot(SITE, "r001"), engine.slot(SITE, "r002")
    _feed(engine, quiet, [_walking(T0)])
    # r002 keeps reporting, lying still out of bed (no fall alarm went off)
    needs = _feed(engine, still, [_still(T0 + k * MIN) for k in range(0, 36)])
    kinds = {(n.resident, n.kind) for n in needs}
    assert ("r002", "inactivity") in kinds and ("r001", "inactivity") not in kinds
    inactive = next(n for n in needs if n.kind == "inactivity")
    assert inactive.tier == "important" and "not the device" in inactive.summary
    silent = [n for n in needs if n.kind == "device_silent"]
    assert [n.resident for n in silent] == ["r001"] and silent[0].tier == "general"
    assert "the device, not the person" in silent[0].summary


def test_last_will_offline_is_noticed_sooner_than_silence(engine: ScoringEngine) -> None:
    slot = engine.slot(SITE, "r001")
    _feed(engine, slot, [_walking(T0)])
    engine.device_status(slot, T0 + MIN, "offline", "lost")
    assert engine.tick(T0 + 4 * MIN) == []
    needs = engine.tick(T0 + 6 * MIN + 1)
    assert _opened(needs) == [("device_silent", "general", "open")]
    assert "connection was lost" in needs[0].summary


def _plan(needs: list[NeedMessage]) -> list[NeedMessage]:
    """Care-plan needs only (these tests leave the terminal silent for days on purpose)."""
    return [n for n in needs if n.kind in ("care_plan_reminder", "missed_care_plan")]


def _profile_with_video_call() -> CareProfile:
    return CareProfile(
        language="zh",
        expectations=(
            Expectation(
                name="video call with grandson",
                event="video_call",
                at="18:00",
                window_min=60,
                weekdays=("wed",),
                remind_before_min=15,
            ),
        ),
    )


def test_care_plan_reminds_before_and_flags_after_a_missed_wednesday_call() -> None:
    engine = ScoringEngine(profiles={(SITE, "r001"): _profile_with_video_call()})
    slot = engine.slot(SITE, "r001")
    _feed(engine, slot, [_walking(T0)])  # Monday 08:00: first seen
    wednesday = T0 + 2 * 24 * 60 * MIN - 8 * 60 * MIN  # Wednesday 00:00
    assert _plan(engine.tick(wednesday + 18 * 60 * MIN + 30 * MIN)) == []  # inside the window
    reminder = _plan(engine.tick(wednesday + 18 * 60 * MIN + 46 * MIN))
    assert [(n.kind, n.reminder) for n in reminder] == [("care_plan_reminder", True)]
    assert "video call with grandson" in reminder[0].summary
    missed = _plan(engine.tick(wednesday + 19 * 60 * MIN + 1))
    assert [(n.kind, n.tier, n.reminder) for n in missed] == [
        ("missed_care_plan", "general", False)
    ]
    assert missed[0].language == "zh"
    assert _plan(engine.tick(wednesday + 20 * 60 * MIN)) == []  # said once


def test_care_plan_is_quiet_when_the_call_happens_and_on_other_days() -> None:
    engine = ScoringEngine(profiles={(SITE, "r001"): _profile_with_video_call()})
    slot = engine.slot(SITE, "r001")
    _feed(engine, slot, [_walking(T0)])
    tuesday = T0 + 24 * 60 * MIN - 8 * 60 * MIN
    assert _plan(engine.tick(tuesday + 20 * 60 * MIN)) == []
    wednesday = tuesday + 24 * 60 * MIN
    engine.score_event(slot, {"ts": wednesday + 18 * 60 * MIN + 5 * MIN, "type": "video_call"})
    assert _plan(engine.tick(wednesday + 18 * 60 * MIN + 50 * MIN)) == []
    assert _plan(engine.tick(wednesday + 20 * 60 * MIN)) == []


def _resting(ts: int, hr: float) -> dict[str, Any]:
    return _still(ts, heart_rate=hr, bed_occupied=True)


def test_heart_rate_is_judged_against_the_residents_own_normal(engine: ScoringEngine) -> None:
    calm, fast = engine.slot(SITE, "r060"), engine.slot(SITE, "r095")
    needs: list[NeedMessage] = []
    for k in range(240):  # four hours a minute apart, each around their own normal
        wobble = (k % 5 - 2) * 1.5
        batch = [_resting(T0 + k * MIN, 60.0 + wobble), _resting(T0 + k * MIN, 95.0 + wobble)]
        needs += engine.score_vitals(encode_readings([calm, fast], batch))
    assert needs == []
    t = T0 + 240 * MIN
    for k in range(20):  # now both at 95 bpm, at rest
        batch = [_resting(t + k * MIN, 95.0), _resting(t + k * MIN, 95.0)]
        needs += engine.score_vitals(encode_readings([calm, fast], batch))
    assert [(n.resident, n.kind, n.tier) for n in needs] == [
        ("r060", "heart_rate_abnormal", "important")
    ]
    assert "usual" in needs[0].summary


def test_one_need_per_episode_however_long_it_lasts(engine: ScoringEngine) -> None:
    slot = engine.slot(SITE, "r001")
    warm = [_resting(T0 + k * MIN, 70.0 + (k % 5 - 2) * 1.5) for k in range(200)]
    assert _feed(engine, slot, warm) == []
    t = T0 + 200 * MIN
    needs = _feed(engine, slot, [_resting(t + k * 30 * S, 140.0) for k in range(120)])
    # 140 bpm is NEWS2 red (urgent) at 2 min; the out-of-range rule at 4 min and the
    # "far from usual at rest" rule at 15 min join that need: one page, with their evidence
    assert [(n.kind, n.state) for n in needs] == [("vitals_red_score", "open")] + [
        ("vitals_red_score", "update")
    ] * (len(needs) - 1)
    assert len({n.id for n in needs}) == 1 and "Heart rate out of range" in needs[1].summary
