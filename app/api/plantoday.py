"""What a resident's care plan expects today, and what of it is done, due or overdue.

The same rules as the scorer's care planner (:mod:`models.runtime.careplan`), so the home
page and the ``missed_care_plan`` needs agree: the day is local by the care profile's
``utc_offset_min``; an occurrence's window opens at ``at`` and lasts ``window_min`` (or
``window_days``); an event up to half a window early still counts. An occurrence is **done**
when its event came, **due** while its window is open, **overdue** once it closed without the
event, and **upcoming** before it opens. :func:`today` is the home page's day;
:func:`occurrences` the care-plan lists' span (``GET /api/v1/careplan/due``: due soon,
overdue), where a 14-day check-up window is "due" on each of its days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from people.profile import CareProfile, Expectation

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


def _item(exp: Expectation, day: int, off: int, events: dict[str, list[int]], now: int) -> PlanItem:
    opens = day * DAY_MS + exp.open_min * MIN_MS - off
    closes = opens + exp.window_ms
    early = opens - exp.window_ms // 2
    state: PlanState
    if any(early <= ts < closes for ts in events.get(exp.event, [])):
        state = "done"
    elif now < opens:
        state = "upcoming"
    elif now < closes:
        state = "due"
    else:
        state = "overdue"
    return PlanItem(exp.name, exp.event, opens, closes, state)


def today(profile: CareProfile, events: dict[str, list[int]], now_ms: int) -> list[PlanItem]:
    """Today's occurrences of each expectation (and those of longer windows still open
    today), in the order they open."""
    off = profile.utc_offset_min * MIN_MS
    day = (now_ms + off) // DAY_MS
    midnight = day * DAY_MS - off
    items = []
    for exp in profile.expectations:
        for d in exp.occurrences(day):
            item = _item(exp, d, off, events, now_ms)
            if d == day or (item.closes_ms > midnight and item.state in ("due", "done")):
                items.append(item)
    return sorted(items, key=lambda i: i.opens_ms)


def occurrences(
    profile: CareProfile, events: dict[str, list[int]], now_ms: int, *, ahead_days: int,
    behind_days: int,
) -> list[PlanItem]:  # fmt: skip
    """Every occurrence whose window opens within ``ahead_days`` from now or closed within
    ``behind_days`` before now, or is open now, oldest first."""
    off = profile.utc_offset_min * MIN_MS
    day = (now_ms + off) // DAY_MS
    items = []
    for exp in profile.expectations:
        span = exp.window_ms // DAY_MS + 1
        d = exp.next_on_or_after(day - behind_days - span)
        while d <= day + ahead_days:
            item = _item(exp, d, off, events, now_ms)
            if item.closes_ms >= now_ms - behind_days * DAY_MS:
                items.append(item)
            d = exp.next_on_or_after(d + 1)
    return sorted(items, key=lambda i: i.opens_ms)
