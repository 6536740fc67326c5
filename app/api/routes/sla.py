"""SLA figures: how fast needs were accepted and resolved, per site and tier.

Built on the anonymised closed-loop view of :mod:`alerts.sla` (no ids), restricted to the
caller's sites; percentiles are nearest-rank over the alerts opened in the window.
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from alerts.sla import closed_loop
from app.api.auth import MemberDep, scope
from app.api.deps import AlertStoreDep
from app.api.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/sla", tags=["sla"], responses=PROBLEM_RESPONSES)

DEFAULT_WINDOW_MS = 30 * 86_400_000


class SlaFigures(BaseModel):
    """One site and tier."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "site": "home-a", "tier": "emergency", "alerts": 12, "accepted": 11,
                    "resolved": 10, "expired": 1, "respond_breaches": 2, "resolve_breaches": 0,
                    "accept_p50_s": 21.0, "accept_p90_s": 48.0, "resolve_p50_s": 540.0,
                    "resolve_p90_s": 1320.0,
                }
            ]
        }
    )  # fmt: skip
    site: str
    tier: str
    alerts: int
    accepted: int
    resolved: int
    expired: int
    respond_breaches: int
    resolve_breaches: int
    accept_p50_s: float | None
    accept_p90_s: float | None
    resolve_p50_s: float | None
    resolve_p90_s: float | None


class SlaPublic(BaseModel):
    since_ms: int
    groups: list[SlaFigures]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def figures(records: list[dict[str, Any]]) -> list[SlaFigures]:
    """Per (site, tier) counts, breaches, p50 and p90 of time to accept and to resolve."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["site"], r["tier"]), []).append(r)
    out = []
    for (site, tier), rs in sorted(groups.items()):
        accept = [r["time_to_accept_s"] for r in rs if r["time_to_accept_s"] is not None]
        resolve = [r["time_to_resolve_s"] for r in rs if r["time_to_resolve_s"] is not None]
        out.append(
            SlaFigures(
                site=site, tier=tier, alerts=len(rs), accepted=len(accept),
                resolved=sum(r["outcome"] == "resolved" for r in rs),
                expired=sum(r["outcome"] == "expired" for r in rs),
                respond_breaches=sum(r["respond_breached"] for r in rs),
                resolve_breaches=sum(r["resolve_breached"] for r in rs),
                accept_p50_s=percentile(accept, 0.5), accept_p90_s=percentile(accept, 0.9),
                resolve_p50_s=percentile(resolve, 0.5), resolve_p90_s=percentile(resolve, 0.9),
            )
        )  # fmt: skip
    return out


@router.get("")
async def read_sla(
    principal: MemberDep,
    store: AlertStoreDep,
    site: Annotated[str | None, Query()] = None,
    since_ms: Annotated[int | None, Query(ge=0, le=2**53, description="default: 30 days")] = None,
) -> SlaPublic:
    """SLA figures of the caller's sites for alerts opened since ``since_ms``."""
    sites = scope(principal, site)
    since = since_ms if since_ms is not None else int(time.time() * 1000) - DEFAULT_WINDOW_MS
    records = [r for r in closed_loop(store, since_ms=since) if sites is None or r["site"] in sites]
    return SlaPublic(since_ms=since, groups=figures(records))
