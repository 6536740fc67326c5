"""What a resident's care plan expects today, and what of it is done, due or overdue.

The same rules as the scorer's care planner (:mod:`models.runtime.careplan`), so the home
page and the ``missed_care_plan`` needs agree: the day is local by the care profile's
``utc_offset_min``; an occurrence's window opens at ``at`` and lasts ``window_min``; an event
up to half a window early still counts. An occurrence is **done** when its event came,
**due** while its window is open, **overdue** once it closed without the event, and
**upcoming** before it opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from people.profile import CareProfile

MIN_MS = 60_000
DAY_MS = 86_400_000

PlanState = Literal["done", "due", "overdue", "upcoming"]


@dataclass(frozen=True, slots=True)
class PlanItem:
    name: str
    event: str
    opens_ms: int
    closes_ms: int
    state: PlanState


def local_midnight(profile: CareProfile, now_ms: int) -> int:
    """Epoch ms of today's 00:00 in the resident's local time."""
    off = profile.utc_offset_min * MIN_MS
    return (now_ms + off) // DAY_MS * DAY_MS - off


def today(profile: CareProfile, events: dict[str, list[int]], now_ms: int) -> list[PlanItem]:
    """Today's occurrences of each expectation, in the order they open."""
    off = profile.utc_offset_min * MIN_MS
    day = (now_ms + off) // DAY_MS
    items = []
    for exp in profile.expectations:
        if not exp.occurs_on(day):
            continue
        opens = day * DAY_MS + exp.open_min * MIN_MS - off
        closes = opens + exp.window_min * MIN_MS
        early = opens - exp.window_min * MIN_MS // 2
        state: PlanState
        if any(early <= ts < closes for ts in events.get(exp.event, [])):
            state = "done"
        elif now_ms < opens:
            state = "upcoming"
        elif now_ms < closes:
            state = "due"
        else:
            state = "overdue"
        items.append(PlanItem(exp.name, exp.event, opens, closes, state))
    return sorted(items, key=lambda i: i.opens_ms)
