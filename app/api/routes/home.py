"""The coordinators' home page data: every resident of the caller's sites at a glance.

``GET /api/v1/residents/overview`` answers, per resident: the latest vitals against the
resident's usual band, open needs by tier, open tickets (None until tickets exist), device
status, today's care plan (done, due, overdue, upcoming) and the latest satisfaction answer
(None until ratings exist). One InfluxQL statement each for all residents' latest vitals,
device status and care-plan events, plus the usual bands at most once an hour
(:mod:`app.api.overview`); one SQL query for the open needs.

``GET /api/v1/messages`` gives a page the catalog messages it shows (by key prefix), in the
caller's language: their profile's, else their browser's ``Accept-Language``.

For admins and coordinators (the staff of the sites); every answer is an audit row.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict

from app.api import overview
from app.api.alertview import open_needs
from app.api.audit import audited
from app.api.auth import PrincipalDep, StaffDep, scope
from app.api.deps import AlertStoreDep, DirectoryDep, InfluxDep, SettingsDep
from app.api.plantoday import PlanItem, today
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.report import locale_for
from app.reports.satisfaction import latest_ratings
from careloop.i18n import catalog
from careloop.wire.needs import TIERS
from people import Resident

router = APIRouter(prefix="/api/v1", tags=["overview"], responses=PROBLEM_RESPONSES)

#: Most residents one overview lists (the rest are counted in ``total``).
MAX_RESIDENTS = 1000
#: Readings older than this are not "latest" (a device that stopped is shown as such).
RECENT_MIN = 60
_EXAMPLE: dict[str, Any] = {
    "site": "home-a", "id": "r001", "name": "Mrs Lin", "language": "zh-Hant",
    "vitals": {"heart_rate": {"value": 88.0, "lo": 60.0, "hi": 80.0, "state": "high"}},
    "needs": {"important": 1}, "needs_open": 1, "top_tier": "important", "tickets": None,
    "devices_online": 1, "devices_total": 1, "device_seen_ms": 1767600000000,
    "plan": [{"name": "daily check-up", "event": "checkup_done", "opens_ms": 1767605400000,
              "closes_ms": 1767609000000, "state": "overdue"}],
    "plan_due": 0, "plan_overdue": 1, "satisfaction": None, "satisfaction_ms": None,
}  # fmt: skip


class VitalNow(BaseModel):
    value: float
    #: The usual band (None: not enough history yet).
    lo: float | None = None
    hi: float | None = None
    #: "low", "usual", "high", or "unknown" without a band.
    state: str


class ResidentOverview(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})
    site: str
    id: str
    name: str
    language: str
    vitals: dict[str, VitalNow]
    #: Open needs (alerts not yet closed) by tier, the total, and the most urgent tier.
    needs: dict[str, int]
    needs_open: int
    top_tier: str | None
    #: Open tickets: None until the tickets work lands (the page shows "—").
    tickets: int | None
    devices_online: int
    devices_total: int
    device_seen_ms: int | None
    plan: list[PlanItem]
    plan_due: int
    plan_overdue: int
    #: The latest satisfaction score (1 to 5) and when; None until ratings exist.
    satisfaction: float | None
    satisfaction_ms: int | None


class OverviewPublic(BaseModel):
    generated_ms: int
    #: Readings newer than this count as the latest.
    recent_since_ms: int
    items: list[ResidentOverview]
    count: int
    total: int


class MessagesPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"locale": "zh-Hant", "messages": {"home.title": "住民總覽"}}]
        }
    )
    locale: str
    messages: dict[str, Any]


def open_tickets(site: str, resident: str) -> int | None:
    """Open tickets of a resident: the hook for the tickets work (None = none kept yet)."""
    return None


def _vital(value: float, band: Any) -> VitalNow:
    if band is None:
        return VitalNow(value=value, state="unknown")
    state = "low" if value < band.lo else "high" if value > band.hi else "usual"
    return VitalNow(value=value, lo=round(band.lo, 2), hi=round(band.hi, 2), state=state)


@router.get("/residents/overview")
async def read_overview(
    request: Request,
    principal: StaffDep,
    directory: DirectoryDep,
    influx: InfluxDep,
    store: AlertStoreDep,
    settings: SettingsDep,
    site: Annotated[str | None, Query(description="only this site")] = None,
) -> OverviewPublic:
    """Every resident of the caller's sites: latest vitals against their usual band, open
    needs, tickets, devices, today's care plan, the latest satisfaction answer."""
    sites = scope(principal, site)
    residents, total = directory.residents(sites, offset=0, limit=MAX_RESIDENTS)
    audited(request, principal, "read_overview", site or "*", None)
    now = int(time.time() * 1000)
    since = now - RECENT_MIN * 60_000
    types = sorted({e.event for r in residents for e in r.profile.expectations})
    latest, devices, events, bands = await asyncio.gather(
        overview.latest(influx, sites, since),
        overview.devices(influx, sites),
        overview.events(influx, sites, now - 36 * 3_600_000, types),
        request.app.state.bands.bands(influx, sites, now),
    )
    needs = open_needs(store, sites)
    ratings = await asyncio.to_thread(latest_ratings, settings.paths.people, sites)
    items = [_row(r, now, latest, devices, events, bands, needs, ratings) for r in residents]
    return OverviewPublic(
        generated_ms=now, recent_since_ms=since, items=items, count=len(items), total=total
    )


def _row(r: Resident, now: int, latest: Any, devices: Any, events: Any, bands: Any,
         needs: Any, ratings: Any) -> ResidentOverview:  # fmt: skip
    key = (r.site, r.id)
    usual = bands.get(key, {})
    vitals = {f: _vital(v, usual.get(f)) for f, v in latest.get(key, {}).items()}
    tiers = needs.get(key, {})
    top = next((t for t in TIERS if tiers.get(t)), None)
    dev = devices.get(key)
    plan = today(r.profile, events.get(key, {}), now)
    rating = ratings.get(key)
    return ResidentOverview(
        site=r.site, id=r.id, name=r.display_name, language=r.language, vitals=vitals,
        needs=tiers, needs_open=sum(tiers.values()), top_tier=top,
        tickets=open_tickets(r.site, r.id),
        devices_online=dev.online if dev else 0, devices_total=dev.total if dev else 0,
        device_seen_ms=dev.last_seen_ms if dev else None,
        plan=plan, plan_due=sum(p.state == "due" for p in plan),
        plan_overdue=sum(p.state == "overdue" for p in plan),
        satisfaction=rating[1] if rating else None, satisfaction_ms=rating[0] if rating else None,
    )  # fmt: skip


@router.get("/messages")
async def read_messages(
    request: Request,
    principal: PrincipalDep,
    directory: DirectoryDep,
    prefix: Annotated[
        list[str], Query(min_length=1, max_length=20, description="key prefixes, e.g. home.")
    ],
    lang: Annotated[str | None, Query(max_length=35)] = None,
) -> MessagesPublic:
    """Catalog messages whose keys start with one of ``prefix``, in the caller's language."""
    if any(not p or len(p) > 40 for p in prefix):
        raise HTTPException(422, "each prefix must be 1 to 40 characters")
    locale = locale_for(principal, directory, lang, request.headers.get("accept-language"))
    table = catalog(locale)
    wanted = tuple(prefix)
    return MessagesPublic(
        locale=locale, messages={k: v for k, v in table.items() if k.startswith(wanted)}
    )
