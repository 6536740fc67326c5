"""The anonymous public board: needs and how fast they were answered, nothing personal.

Records come from :func:`alerts.sla.closed_loop`: kind, tier, site, the opening hour
(rounded), times to accept and resolve, breaches and the outcome; no resident, volunteer or
alert ids, no summaries. Anyone may read it, without a token.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from alerts.sla import closed_loop
from app.api.deps import AlertStoreDep
from app.api.pagination import PageDep
from app.api.routes.sla import SlaFigures, figures

router = APIRouter(prefix="/api/v1/public", tags=["public"])

DEFAULT_WINDOW_MS = 7 * 86_400_000


class ClosedLoopRecord(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "site": "home-a", "kind": "sos_call", "tier": "emergency",
                    "opened_hour": 1767600000000, "time_to_accept_s": 18.0,
                    "time_to_resolve_s": 600.0, "outcome": "resolved",
                    "respond_breached": False, "resolve_breached": False, "escalations": 0,
                    "declines": 1, "volunteers_paged": 3,
                }
            ]
        }
    )  # fmt: skip
    site: str
    kind: str
    tier: str
    opened_hour: int
    time_to_accept_s: float | None
    time_to_resolve_s: float | None
    outcome: str
    respond_breached: bool
    resolve_breached: bool
    escalations: int
    declines: int
    volunteers_paged: int


class ClosedLoopPublic(BaseModel):
    """A page of records (newest first) and the figures over all of them."""

    items: list[ClosedLoopRecord]
    total: int
    page: int
    per_page: int
    since_ms: int
    summary: list[SlaFigures]


@router.get("/closed-loop")
async def public_closed_loop(
    store: AlertStoreDep,
    paging: PageDep,
    site: Annotated[str | None, Query(max_length=64)] = None,
    since_ms: Annotated[int | None, Query(ge=0, le=2**53, description="default: 7 days")] = None,
) -> ClosedLoopPublic:
    """Every need since ``since_ms`` and how it was answered (anonymised)."""
    since = since_ms if since_ms is not None else int(time.time() * 1000) - DEFAULT_WINDOW_MS
    records = [r for r in closed_loop(store, since_ms=since) if site is None or r["site"] == site]
    records.reverse()
    chunk = records[paging.offset : paging.offset + paging.limit]
    return ClosedLoopPublic(
        items=[ClosedLoopRecord.model_validate(r, from_attributes=False) for r in chunk],
        total=len(records),
        page=paging.page,
        per_page=paging.per_page,
        since_ms=since,
        summary=figures(records),
    )
