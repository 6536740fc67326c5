"""A resident's vitals, events and needs over a time range (for the resident page).

Vitals and events come from InfluxDB (InfluxQL on ``/query``); a range longer than
:data:`RAW_MAX_MS` is averaged (vitals) or counted (events) per ``every`` seconds with
``GROUP BY time()``, chosen so a series has at most ``api.max_points`` points unless the
caller asks for a bucket. Needs are the resident's alerts with their plain-language
explanations, from the alert store.

Access: staff of the site; volunteers only where the resident's consent
``share_vitals_with_volunteers`` allows (else 404). Every answer is an audit row.
"""

from __future__ import annotations

import json
import math
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict

from app.api import influxql
from app.api.alertview import find_alerts
from app.api.audit import audited
from app.api.auth import MemberDep
from app.api.deps import AlertStoreDep, DirectoryDep, InfluxDep, SettingsDep
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.report import locale_for
from app.api.routes.residents import visible_resident

router = APIRouter(prefix="/api/v1/residents", tags=["vitals"], responses=PROBLEM_RESPONSES)

#: Ranges up to this long return raw points; longer ones are aggregated.
RAW_MAX_MS = 2 * 3600 * 1000
#: The longest range one request may ask for.
MAX_RANGE_MS = 400 * 86_400_000
DEFAULT_RANGE_MS = 6 * 3600 * 1000
DEFAULT_FIELDS = ("heart_rate", "spo2", "respiration_rate", "temperature")

Ms = Annotated[int | None, Query(ge=0, le=2**53, description="epoch milliseconds")]
Every = Annotated[int | None, Query(ge=1, le=86_400 * 31, description="bucket in seconds")]


class SeriesPublic(BaseModel):
    """Points per series: ``[[ts_ms, value], ...]``, oldest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "site": "home-a",
                    "resident": "r001",
                    "start": 1767600000000,
                    "end": 1767621600000,
                    "every_s": 60,
                    "series": {"heart_rate": [[1767600000000, 72.5], [1767600060000, 74.0]]},
                }
            ]
        }
    )
    site: str
    resident: str
    start: int
    end: int
    #: None: raw points; else the bucket length the values were averaged or counted over.
    every_s: int | None
    series: dict[str, list[tuple[int, float]]]


class NeedPublic(BaseModel):
    """A need the scorer raised for the resident, as an alert, with its explanation."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "alert": "a-3f9c2e1b7a",
                    "kind": "missed_care_plan",
                    "tier": "general",
                    "state": "resolved",
                    "opened_ms": 1767600000000,
                    "explanation": "Missed: daily check-up was due at 09:30 and did not happen.",
                    "owner": "v-ming",
                    "evidence": 1,
                    "facts": [
                        {
                            "measure": "spo2",
                            "value": 88.4,
                            "unit": "%",
                            "baseline": 96.9,
                            "baseline_scale": 0.9,
                            "rule": "SpO2 <= 91 % and >= 3 SD below the resident's usual",
                            "ts": 1767600000000,
                        }
                    ],
                }
            ]
        }
    )
    alert: str
    kind: str
    tier: str
    state: str
    opened_ms: int
    explanation: str
    owner: str | None
    #: How many findings were merged into this need.
    evidence: int
    #: The facts behind the latest one: reading, usual value, rule.
    facts: list[dict[str, Any]] = []


def _range(
    start: int | None, end: int | None, every: int | None, max_points: int
) -> tuple[int, int, int | None]:
    end = end if end is not None else int(time.time() * 1000)
    start = start if start is not None else end - DEFAULT_RANGE_MS
    if end <= start:
        raise HTTPException(422, "end must be after start")
    if end - start > MAX_RANGE_MS:
        raise HTTPException(422, f"the range may span at most {MAX_RANGE_MS // 86_400_000} days")
    if every is None and end - start > RAW_MAX_MS:
        every = max(1, math.ceil((end - start) / 1000 / max_points))
    elif every is not None and (end - start) / 1000 / every > max_points * 10:
        raise HTTPException(422, "every is too small for this range")
    return start, end, every


@router.get("/{site}/{resident}/vitals")
async def read_vitals(
    site: str,
    resident: str,
    request: Request,
    principal: MemberDep,
    directory: DirectoryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    start: Ms = None,
    end: Ms = None,
    fields: Annotated[
        str | None, Query(description="comma-separated, e.g. heart_rate,spo2")
    ] = None,
    every: Every = None,
) -> SeriesPublic:
    """Vital signs (numeric fields) in [start, end); default the last 6 hours."""
    visible_resident(principal, directory, site, resident, vitals=True)
    names = [f.strip() for f in fields.split(",") if f.strip()] if fields else list(DEFAULT_FIELDS)
    unknown = [f for f in names if f not in influxql.NUMERIC_VITALS]
    if unknown or not names:
        raise HTTPException(422, f"fields must be among {', '.join(influxql.NUMERIC_VITALS)}")
    start, end, every = _range(start, end, every, settings.api.max_points)
    audited(request, principal, "read_vitals", site, resident)
    series = await influxql.vitals(
        influx, site, resident, list(dict.fromkeys(names)),
        start, end, every, settings.api.max_points,
    )  # fmt: skip
    return SeriesPublic(
        site=site, resident=resident, start=start, end=end, every_s=every, series=series
    )


@router.get("/{site}/{resident}/events")
async def read_events(
    site: str,
    resident: str,
    request: Request,
    principal: MemberDep,
    directory: DirectoryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    start: Ms = None,
    end: Ms = None,
    every: Every = None,
) -> SeriesPublic:
    """Events (SOS, falls, doors, medication, check-ups, ...) per type in [start, end)."""
    visible_resident(principal, directory, site, resident, vitals=True)
    start, end, every = _range(start, end, every, settings.api.max_points)
    audited(request, principal, "read_events", site, resident)
    series = await influxql.events(
        influx, site, resident, start, end, every,
        settings.api.max_points,
    )  # fmt: skip
    return SeriesPublic(
        site=site, resident=resident, start=start, end=end, every_s=every, series=series
    )


@router.get("/{site}/{resident}/needs")
async def read_needs(
    site: str,
    resident: str,
    request: Request,
    principal: MemberDep,
    directory: DirectoryDep,
    store: AlertStoreDep,
    paging: PageDep,
) -> Page[NeedPublic]:
    """The resident's needs (alerts), newest first, with the model's explanation."""
    visible_resident(principal, directory, site, resident, vitals=True)
    audited(request, principal, "read_needs", site, resident)
    items, total = find_alerts(
        store, frozenset({site}), filters={"resident": resident},
        offset=paging.offset, limit=paging.limit,
    )  # fmt: skip
    locale = locale_for(principal, directory, None, request.headers.get("accept-language"))
    needs = [
        NeedPublic(
            alert=a.id,
            kind=a.kind,
            tier=a.tier,
            state=a.state,
            opened_ms=a.opened_ms,
            explanation=a.summary_in(locale),
            owner=a.owner,
            evidence=a.evidence,
            facts=json.loads(a.facts),
        )
        for a in items
    ]
    return Page.of(needs, total, paging)
