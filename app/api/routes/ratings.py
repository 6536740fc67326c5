"""Satisfaction ratings: families answer, staff read the month-by-month figures.

* ``POST /api/v1/ratings``: a family member rates a resolved ticket or alert of their
  resident (a family token, once per token: a second answer is 409 ``already_rated``), or
  anyone holding a one-time link from ``POST /api/v1/tickets/{id}/rating-link`` (no token;
  a used link is 409, an expired one 410). Words are kept only under the resident's text
  consent.
* ``GET /api/v1/ratings/monthly`` (JSON) and ``GET /api/v1/ratings/monthly.svg`` (the
  chart): satisfaction, time to respond and resolve, complaint rate per site and month,
  for staff of the site.
* ``GET /api/v1/volunteers/{volunteer}/praise``: how often a volunteer was thanked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from alerts import ticketdb as tdb
from alerts.satisfaction import monthly
from alerts.tickets import RatingRefused
from app.api.auth import MemberDep, Principal, PrincipalDep, StaffDep, scope
from app.api.deps import AlertServiceDep, AlertStoreDep, DirectoryDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.satchart import satisfaction_svg
from careloop.i18n import resolve_locale
from people import NotFound

router = APIRouter(prefix="/api/v1/ratings", tags=["ratings"], responses=PROBLEM_RESPONSES)
praise_router = APIRouter(prefix="/api/v1/volunteers", tags=["ratings"])

_ID = r"^[A-Za-z0-9_.-]{1,64}$"
#: Why a rating is refused, and the status it gets.
REFUSED = {"unknown_alert": 404, "not_resolved": 409, "already_rated": 409}
WHY = {
    "unknown_alert": "no such ticket or alert",
    "not_resolved": "only a resolved ticket or alert can be rated",
    "already_rated": "this family member already rated this ticket; a rating is given once",
}


class RatingCreate(BaseModel):
    """A score from 1 (bad) to 5 (very good), for ``alert`` (family token) or by ``link``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"alert": "a-3f9c2e1b7a", "score": 5}, {"link": "rl_x", "score": 4}]
        },
    )
    alert: Annotated[str, Field(pattern=_ID)] | None = None
    link: Annotated[str, Field(min_length=8, max_length=100)] | None = None
    score: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=500)] | None = None


class RatingPublic(BaseModel):
    alert: str
    score: int
    ratings: list[dict[str, Any]]


class MonthPublic(BaseModel):
    """One site and month; times in seconds; ``satisfaction`` is the mean score 1-5."""

    site: str
    month: str
    needs: int
    tickets: int
    complaints: int
    complaint_rate: float | None
    respond_p50_s: float | None
    resolve_p50_s: float | None
    ratings: int
    no_answer: int
    satisfaction: float | None
    by_tier: dict[str, float | None]
    by_kind: dict[str, float | None]


class PraiseCount(BaseModel):
    volunteer: str
    praise: int
    by: dict[str, int]
    last_ms: int | None


@router.post("", status_code=201, responses={409: {}, 410: {}})
async def rate(
    body: RatingCreate,
    principal: PrincipalDep,
    service: AlertServiceDep,
    store: AlertStoreDep,
) -> RatingPublic:
    """A family's rating of a resolved ticket or alert of their resident."""
    now = service.clock.now_ms()
    # One transaction: a link is spent only if its rating is stored (a refused rating, e.g.
    # of a ticket not resolved yet, leaves the link usable).
    with service.store.tx() as db:
        if body.link is not None:
            alert_id, why = tdb.use_link(db, body.link, now)
            if why == "unknown" or alert_id is None:
                raise HTTPException(404, "unknown rating link")
            if why == "used":
                raise HTTPException(
                    409, "this rating link was already used; a rating is given once"
                )
            if why == "expired":
                raise HTTPException(410, "this rating link has expired")
            rater, via = f"link:{tdb.link_hash(body.link)[:16]}", "link"
        else:
            if principal.role != "family":
                raise HTTPException(403, "rate with a family token or a one-time rating link")
            if body.alert is None:
                raise HTTPException(422, "name the ticket or alert ('alert') or give a 'link'")
            alert = store.get(body.alert)
            if (
                alert is None
                or not principal.sees(alert.site)
                or alert.resident != principal.subject
            ):
                raise HTTPException(404, "not found")
            alert_id, rater, via = alert.id, f"family:{principal.token}", "api"
        try:
            rated = service.engine.family_rating(
                alert_id, rater, body.score, via=via, words=body.comment
            )
        except RatingRefused as exc:
            raise HTTPException(REFUSED[exc.reason], WHY[exc.reason]) from exc
    return RatingPublic(
        alert=rated.id, score=body.score, ratings=tdb.ratings_of(store.db, rated.id)
    )


def _figures(principal: Principal, store: Any, site: str | None) -> list[dict[str, Any]]:
    return monthly(store, sites=scope(principal, site))


@router.get("/monthly")
async def monthly_figures(
    principal: StaffDep, store: AlertStoreDep, site: str | None = None
) -> list[MonthPublic]:
    """Per site and month: satisfaction, time to respond and resolve, complaint rate."""
    return [MonthPublic.model_validate(r) for r in _figures(principal, store, site)]


@router.get(
    "/monthly.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def monthly_chart(
    request: Request, principal: StaffDep, store: AlertStoreDep, site: str | None = None
) -> Response:
    """The same figures as a chart (bars: mean satisfaction; line: complaint rate)."""
    locale = resolve_locale(None, request.headers.get("accept-language"))
    svg = satisfaction_svg(_figures(principal, store, site), locale)
    return Response(svg, media_type="image/svg+xml")


@praise_router.get("/{volunteer}/praise")
async def volunteer_praise(
    volunteer: str, principal: MemberDep, store: AlertStoreDep, directory: DirectoryDep
) -> PraiseCount:
    """How often ``volunteer`` was thanked (a volunteer sees their own; staff their sites')."""
    if principal.role == "volunteer" and principal.subject != volunteer:
        raise HTTPException(403, "a volunteer sees their own thanks only")
    try:
        record = directory.volunteer(volunteer)
    except NotFound as exc:
        raise HTTPException(404, "not found") from exc
    if not any(principal.sees(s) for s in record.sites):
        raise HTTPException(404, "not found")
    return PraiseCount.model_validate(tdb.praise_counts(store.db, volunteer))


__all__ = ["praise_router", "router"]
