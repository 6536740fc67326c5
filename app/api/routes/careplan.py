"""``GET /api/v1/careplan/due?site=``: the care plans' "due soon" and "overdue" lists.

Per resident of the site with a care plan, every occurrence whose window is open now or
opens within ``ahead_days`` (due soon) and every one that closed without its event within
``behind_days`` (overdue), judged by the same rules as the scorer's planner and the home
page (:mod:`app.api.plantoday`) on the events in InfluxDB. Staff of the site only: a list of
who missed which check-up is health data.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from app.api import overview
from app.api.audit import audited
from app.api.auth import StaffDep, check_site
from app.api.deps import DirectoryDep, InfluxDep
from app.api.plantoday import DAY_MS, occurrences
from app.api.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/careplan", tags=["care plan"], responses=PROBLEM_RESPONSES)
_ID = r"^[A-Za-z0-9_.-]{1,64}$"


class DueItem(BaseModel):
    """One occurrence of one resident's expectation."""

    resident: str
    name: str
    event: str
    opens_ms: int
    closes_ms: int
    #: ``due`` (open now), ``upcoming`` (opens soon) or ``overdue``.
    state: str


class DuePublic(BaseModel):
    site: str
    now_ms: int
    due_soon: list[DueItem]
    overdue: list[DueItem]


@router.get("/due")
async def careplan_due(
    request: Request,
    principal: StaffDep,
    directory: DirectoryDep,
    influx: InfluxDep,
    site: Annotated[str, Query(pattern=_ID)],
    ahead_days: Annotated[int, Query(ge=0, le=90)] = 7,
    behind_days: Annotated[int, Query(ge=0, le=90)] = 14,
) -> DuePublic:
    """Due soon (open now or opening within ``ahead_days``) and overdue (closed without
    its event within ``behind_days``), soonest first."""
    check_site(principal, site)
    now = int(time.time() * 1000)
    residents = [r for r in directory.residents(frozenset({site}), limit=None)[0]
                 if r.profile.expectations]  # fmt: skip
    longest = max((e.window_ms for r in residents for e in r.profile.expectations), default=0)
    types = sorted({e.event for r in residents for e in r.profile.expectations})
    since = now - longest - (behind_days + 2) * DAY_MS
    events = await overview.events(influx, frozenset({site}), since, types) if residents else {}
    due, late = [], []
    for r in residents:
        seen = events.get((site, r.id), {})
        for item in occurrences(r.profile, seen, now, ahead_days=ahead_days,
                                behind_days=behind_days):  # fmt: skip
            row = DueItem(
                resident=r.id, name=item.name, event=item.event, opens_ms=item.opens_ms,
                closes_ms=item.closes_ms, state=item.state,
            )  # fmt: skip
            if item.state == "overdue":
                late.append(row)
            elif item.state in ("due", "upcoming") and item.opens_ms <= now + ahead_days * DAY_MS:
                due.append(row)
    audited(request, principal, "read_careplan_due", site, None)
    return DuePublic(
        site=site, now_ms=now, due_soon=sorted(due, key=lambda i: i.closes_ms),
        overdue=sorted(late, key=lambda i: i.closes_ms),
    )  # fmt: skip
