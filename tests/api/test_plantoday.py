"""Today's care plan for the home page: done, due, overdue, upcoming, by the same window
rules as the scorer's care planner (local day by the profile's UTC offset)."""

from __future__ import annotations

from app.api.plantoday import local_midnight, today
from people.profile import CareProfile

MIN = 60_000
DAY = 86_400_000
#: 2026-01-05 00:00 in UTC+8 (a Monday).
MIDNIGHT = 1_767_542_400_000


def _profile() -> CareProfile:
    return CareProfile.model_validate(
        {
            "utc_offset_min": 480,
            "expectations": [
                {"name": "meds", "event": "medication_taken", "at": "08:00", "window_min": 60},
                {"name": "check", "event": "checkup_done", "at": "10:00", "window_min": 60},
                {"name": "call", "event": "video_call", "at": "18:00", "weekdays": ["mon"]},
                {"name": "walk", "event": "checkup_done", "at": "15:00", "weekdays": ["tue"]},
            ],
        }
    )


def test_states_through_the_day() -> None:
    p = _profile()
    assert local_midnight(p, MIDNIGHT + 5 * 3_600_000) == MIDNIGHT
    at = MIDNIGHT + 10 * 60 * MIN + 30 * MIN  # 10:30 local
    events = {"medication_taken": [MIDNIGHT + 7 * 60 * MIN + 40 * MIN]}  # 07:40: half-window early
    items = today(p, events, at)
    assert [(i.name, i.state) for i in items] == [
        ("meds", "done"), ("check", "due"), ("call", "upcoming"),
    ]  # fmt: skip  # the Tuesday walk is not today
    later = today(p, {}, MIDNIGHT + 12 * 60 * MIN)
    assert [i.state for i in later] == ["overdue", "overdue", "upcoming"]
    too_early = {"medication_taken": [MIDNIGHT + 7 * 60 * MIN]}  # a whole hour early: not it
    assert today(p, too_early, MIDNIGHT + 9 * 60 * MIN)[0].state == "overdue"


def test_no_plan_means_nothing_today() -> None:
    assert today(CareProfile(), {}, MIDNIGHT) == []
