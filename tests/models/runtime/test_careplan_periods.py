"""Care plans of any period: a check-up every 90 days due within 14 days, reminded when its
window opens, closed by the resident's "檢查過了" or by the check-up event, flagged as missed
when neither came; impossible periods refused (reading time, no sleeps)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from careloop.wire.needs import NeedMessage
from models.runtime import CareProfile, Expectation, ScoringEngine
from tests.models.runtime.test_rules import MIN, SITE, T0, _feed, _walking

DAY = 1440 * MIN
#: 2026-01-06 09:00 in Taipei (UTC+8) is 01:00 UTC: 17 h after T0 (2026-01-05 08:00 UTC).
OPENS = T0 + 17 * 60 * MIN


def _checkups() -> CareProfile:
    return CareProfile(
        language="zh-Hant",
        utc_offset_min=480,
        expectations=(
            Expectation(
                name="糖尿病回診",
                event="checkup_done",
                at="09:00",
                every_days=90,
                window_days=14,
                start=date(2026, 1, 6),
                remind_before_min=14 * 1440,  # as soon as the window opens
                tier="important",
            ),
        ),
    )


def _plan(needs: list[NeedMessage]) -> list[tuple[str, bool]]:
    return [
        (n.kind, n.reminder) for n in needs if n.kind in ("care_plan_reminder", "missed_care_plan")
    ]


@pytest.fixture
def engine() -> tuple[ScoringEngine, int]:
    engine = ScoringEngine(profiles={(SITE, "r001"): _checkups()})
    slot = engine.slot(SITE, "r001")
    _feed(engine, slot, [_walking(T0)])  # first seen before the first window
    return engine, slot


def test_a_90_day_checkup_is_reminded_when_due_and_a_spoken_yes_closes_it(engine) -> None:
    engine, slot = engine
    assert _plan(engine.tick(OPENS - MIN)) == []
    assert _plan(engine.tick(OPENS + MIN)) == [("care_plan_reminder", True)]
    assert _plan(engine.tick(OPENS + 2 * DAY)) == []  # reminded once per occurrence
    # "I took my medicine" names another event: the check-up stays open
    engine.score_utterance(slot, {"ts": OPENS + 3 * DAY, "text": "吃過藥了"})
    engine.score_utterance(slot, {"ts": OPENS + 3 * DAY + MIN, "text": "檢查過了"})
    assert _plan(engine.tick(OPENS + 15 * DAY)) == []  # closed by the resident's words
    # 90 days on: the next occurrence, reminded again; nobody confirms; missed when it closes
    nxt = OPENS + 90 * DAY
    assert _plan(engine.tick(nxt - DAY)) == []
    assert _plan(engine.tick(nxt + MIN)) == [("care_plan_reminder", True)]
    assert _plan(engine.tick(nxt + 14 * DAY - MIN)) == []
    missed = [n for n in engine.tick(nxt + 14 * DAY + MIN) if n.kind == "missed_care_plan"]
    assert [(n.tier, n.reminder, n.language) for n in missed] == [("important", False, "zh-Hant")]


def test_the_checkup_event_closes_it_and_words_before_a_reminder_do_not(engine) -> None:
    engine, slot = engine
    # "done" before anything was reminded confirms nothing (it is not an answer to anything)
    engine.score_utterance(slot, {"ts": OPENS + MIN, "text": "done"})
    assert _plan(engine.tick(OPENS + 2 * MIN)) == [("care_plan_reminder", True)]
    engine.score_event(slot, {"ts": OPENS + 5 * DAY, "type": "checkup_done"})
    assert _plan(engine.tick(OPENS + 15 * DAY)) == []


def test_a_missed_checkup_without_any_answer_is_flagged_once(engine) -> None:
    engine, slot = engine
    engine.tick(OPENS + MIN)
    engine.score_utterance(slot, {"ts": OPENS + DAY, "text": "還沒去檢查"})  # "not yet"
    assert _plan(engine.tick(OPENS + 14 * DAY + MIN)) == [("missed_care_plan", False)]
    assert _plan(engine.tick(OPENS + 14 * DAY + 2 * MIN)) == []


def test_a_miss_names_its_expectation_for_the_alert_service() -> None:
    """The alert service finds the plan's own escalation from a miss's evidence (event and
    opening time): the evening pills, not the morning ones of the same event."""
    pills = [
        Expectation(name=name, event="medication_taken", at=at, window_min=60, escalate=chain)
        for name, at, chain in (("morning", "08:00", None), ("evening", "20:00", ("family",)))
    ]
    profile = CareProfile(utc_offset_min=480, expectations=tuple(pills))
    engine = ScoringEngine(profiles={(SITE, "r001"): profile})
    _feed(engine, engine.slot(SITE, "r001"), [_walking(T0)])  # 16:00 in Taipei
    missed = [n for n in engine.tick(T0 + 6 * 60 * MIN) if n.kind == "missed_care_plan"]
    assert len(missed) == 1  # 20:00-21:00 Taipei closed; 08:00 was before first seen
    evidence = missed[0].evidence[0]
    found = profile.expectation_at(evidence.measure, evidence.ts)
    assert found is not None and (found.name, found.escalate) == ("evening", ("family",))
    assert profile.expectation_at("checkup_done", evidence.ts) is None


def test_yearly_and_old_daily_plans_are_valid() -> None:
    flu = Expectation(name="flu shot", event="checkup_done", at="10:00", every_days=365,
                      window_days=30, start=date(2026, 10, 1))  # fmt: skip
    assert flu.occurs_on(flu.anchor) and flu.occurs_on(flu.anchor + 365)
    assert not flu.occurs_on(flu.anchor - 365) and not flu.occurs_on(flu.anchor + 30)
    assert flu.next_on_or_after(flu.anchor + 1) == flu.anchor + 365
    old = Expectation.model_validate(
        {"name": "pills", "event": "medication_taken", "at": "08:00", "window_min": 60}
    )  # a profile written before periods and day windows existed
    assert old.window_ms == 60 * MIN and old.occurs_on(20_000)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"every_days": 0}, "greater than or equal to 1"),
        ({"every_days": 5000}, "less than or equal to 3660"),
        ({"every_days": 7, "window_days": 8}, "longer than the period"),
        ({"weekdays": ["mon"], "every_days": 90}, "weekdays or a period"),
        ({"weekdays": ["mon"], "window_days": 2}, "at most a day"),
        ({"zone": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"start": "2026-02-30"}, "date"),
    ],
)
def test_an_impossible_plan_is_refused_with_its_reason(fields: dict, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Expectation.model_validate({"name": "x", "event": "checkup_done", "at": "09:00", **fields})
