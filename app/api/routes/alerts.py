"""Alerts: list and read them, act on them, follow them live.

* ``GET /api/v1/alerts`` with filters and paging, ``GET /api/v1/alerts/{id}``: staff and
  volunteers of the alert's site, showing what the resident's consent lets the caller see
  (:func:`people.consent.disclosure`): to a volunteer, the resident's id only with
  ``share_with_volunteers``, the need's kind and summary only with
  ``share_vitals_with_volunteers`` as well; the tier and deadlines always. A volunteer's
  filter by resident or kind only matches alerts whose resident or kind they may see, so
  counts reveal nothing either.
* ``POST /api/v1/alerts/{id}/accept|decline|resolve|handover``: applied to the shared
  alert store (:class:`~alerts.actions.AlertActions`), exactly as a reply over MQTT. A
  volunteer acts only for themselves; a coordinator may act for a volunteer of the alert's
  site (``volunteer`` in the body); an admin for anyone.
* ``GET /api/v1/alerts/events``: server-sent events of the alert audit log, only for alerts
  of the caller's sites (no resident ids, no text).

An alert of another site is a 404, like one that does not exist.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from alerts.events import AuditFeed
from alerts.model import Alert
from app.api.alertview import alert_sites, find_alerts, get_alert
from app.api.audit import audited
from app.api.auth import MemberDep, Principal, scope
from app.api.deps import AlertServiceDep, AlertStoreDep, DirectoryDep
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.report import locale_for
from careloop.wire.alerts import AlertReply
from people import Directory, NotFound
from people.consent import Disclosure, Reader, disclosure

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=PROBLEM_RESPONSES)

#: How a refused reply (:class:`alerts.ReplyRejected`, a bounded reason) is answered.
REJECT_STATUS = {
    "unknown_alert": 404,
    "wrong_volunteer": 403,
    "replay": 409,
    "already_owned": 409,
    "not_allowed": 409,
    "bad_reply": 422,
}

Action = Literal["accept", "decline", "resolve", "handover"]
StateFilter = Literal[
    "open", "notified", "escalated", "accepted", "resolved", "expired", "cancelled"
]
_ID = r"^[A-Za-z0-9_.-]{1,64}$"
_EXAMPLE: dict[str, Any] = {
    "id": "a-3f9c2e1b7a",
    "site": "home-a",
    "resident": "r001",
    "kind": "fall_no_movement",
    "tier": "emergency",
    "state": "accepted",
    "opened_ms": 1767600000000,
    "summary": "Fall detected and no movement for 2 min.",
    "owner": "v-ming",
    "handover_to": None,
    "accepted_ms": 1767600041000,
    "resolved_ms": None,
    "closed_ms": None,
    "respond_due_ms": 1767600030000,
    "resolve_due_ms": 1767601800000,
    "respond_breached": True,
    "resolve_breached": False,
    "evidence": 1,
}


class AlertPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})
    id: str
    site: str
    #: None where the caller may not know whom the alert is about.
    resident: str | None
    #: None where the caller may not see the resident's health information.
    kind: str | None
    tier: str
    state: str
    opened_ms: int
    #: None where the caller may not see the resident's health information.
    summary: str | None
    owner: str | None
    handover_to: str | None
    accepted_ms: int | None
    resolved_ms: int | None
    closed_ms: int | None
    respond_due_ms: int | None
    resolve_due_ms: int | None
    respond_breached: bool
    resolve_breached: bool
    evidence: int

    @classmethod
    def of(cls, a: Alert, shown: Disclosure, locale: str = "en") -> AlertPublic:
        """``a`` as ``shown`` lets the caller see it, its summary in the caller's ``locale``."""
        return cls(
            id=a.id, site=a.site, resident=a.resident if shown.resident else None,
            kind=a.kind if shown.health else None, tier=a.tier, state=a.state,
            opened_ms=a.opened_ms, summary=a.summary_in(locale) if shown.health else None,
            owner=a.owner, handover_to=a.handover_to, accepted_ms=a.accepted_ms,
            resolved_ms=a.resolved_ms, closed_ms=a.closed_ms, respond_due_ms=a.respond_due_ms,
            resolve_due_ms=a.resolve_due_ms, respond_breached=a.respond_breached,
            resolve_breached=a.resolve_breached, evidence=a.evidence,
        )  # fmt: skip


class ActionCreate(BaseModel):
    """Who acts (staff only: a volunteer always acts as themselves), and for a handover, to
    whom."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{}, {"volunteer": "v-ming", "to": "v-sara"}]},
    )
    volunteer: Annotated[str, Field(pattern=_ID)] | None = None
    to: Annotated[str, Field(pattern=_ID)] | None = None
    note: Annotated[str, Field(max_length=200)] | None = None


def shown_to(principal: Principal, directory: Directory, alert: Alert) -> Disclosure:
    """What ``principal`` may see of ``alert``'s resident (the one consent answer)."""
    reader: Reader = "volunteer" if principal.role == "volunteer" else "staff"
    return disclosure(directory.consent(alert.site, alert.resident), reader)


def _disclosed_residents(
    directory: Directory, sites: frozenset[str] | None, *, health: bool
) -> frozenset[tuple[str, str]]:
    """(site, resident) whose id (``health``: and needs) a volunteer may see."""
    out = set()
    for c in directory.consents(sites):
        shown = disclosure(c, "volunteer")
        if shown.resident and (shown.health or not health):
            out.add((c.site, c.resident))
    return frozenset(out)


def visible_alert(principal: Principal, store: Any, alert_id: str) -> Alert:
    alert = get_alert(store, alert_id)
    if alert is None or not principal.sees(alert.site):
        raise HTTPException(404, "not found")
    return alert


@router.get("")
async def list_alerts(
    request: Request,
    principal: MemberDep,
    store: AlertStoreDep,
    directory: DirectoryDep,
    paging: PageDep,
    site: Annotated[str | None, Query(pattern=_ID)] = None,
    state: Annotated[StateFilter | None, Query(description="open = any not closed")] = None,
    tier: Annotated[str | None, Query(pattern=_ID)] = None,
    kind: Annotated[str | None, Query(pattern=_ID)] = None,
    resident: Annotated[str | None, Query(pattern=_ID)] = None,
) -> Page[AlertPublic]:
    """Alerts of the caller's sites, newest first."""
    sites = scope(principal, site)
    among = None
    if principal.role == "volunteer" and (resident is not None or kind is not None):
        among = _disclosed_residents(directory, sites, health=kind is not None)
    items, total = find_alerts(
        store,
        sites,
        filters={"site": site, "state": state, "tier": tier, "kind": kind, "resident": resident},
        offset=paging.offset,
        limit=paging.limit,
        among=among,
    )
    audited(request, principal, "list_alerts", site or "*", resident)
    locale = locale_for(principal, directory, None, request.headers.get("accept-language"))
    out = [AlertPublic.of(a, shown_to(principal, directory, a), locale) for a in items]
    return Page.of(out, total, paging)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(request: Request, principal: MemberDep, store: AlertStoreDep) -> StreamingResponse:
    """Server-sent events, one per alert audit row of the caller's sites; comment heartbeats.

    Each event's data is JSON: ``id, alert, site, ts, actor, action, from, to, channel,
    reason, tier``. Works with ``EventSource`` and the session cookie. Read from the audit
    log, so any API process serves changes made by any: ``Last-Event-ID`` resumes after
    that event (on this process or another).
    """
    gauge = request.app.state.metrics.sse_clients

    async def stream() -> AsyncIterator[str]:
        sites: dict[str, str] = {}
        gauge.inc()
        try:
            async for frame in AuditFeed(store, after_id=_last_event(request)).sse():
                if frame.startswith(":"):
                    yield frame
                    continue
                data = next(ln[6:] for ln in frame.splitlines() if ln.startswith("data: "))
                event = json.loads(data)
                alert = str(event["alert"])
                if alert not in sites:
                    sites.update(alert_sites(store, {alert}))
                site = sites.get(alert)
                if site is None or not principal.sees(site):
                    continue
                event["site"] = site
                body = json.dumps(event, separators=(",", ":"))
                yield f"id: {event['id']}\nevent: {event['action']}\ndata: {body}\n\n"
        finally:
            gauge.dec()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/{alert_id}")
async def read_alert(
    alert_id: str,
    request: Request,
    principal: MemberDep,
    store: AlertStoreDep,
    directory: DirectoryDep,
) -> AlertPublic:
    alert = visible_alert(principal, store, alert_id)
    audited(request, principal, "read_alert", alert.site, alert.resident)
    locale = locale_for(principal, directory, None, request.headers.get("accept-language"))
    return AlertPublic.of(alert, shown_to(principal, directory, alert), locale)


@router.post("/{alert_id}/{action}")
async def act(
    alert_id: str,
    action: Action,
    request: Request,
    principal: MemberDep,
    service: AlertServiceDep,
    store: AlertStoreDep,
    directory: DirectoryDep,
    body: ActionCreate | None = None,
) -> AlertPublic:
    """Accept, decline, resolve or hand over, as a volunteer; 409 with ``reason`` if the
    alert's state does not allow it (e.g. ``already_owned``)."""
    from alerts.errors import ReplyRejected

    body = body or ActionCreate()
    alert = visible_alert(principal, store, alert_id)
    volunteer = _acting_volunteer(principal, directory, alert, body.volunteer)
    if action == "handover" and not body.to:
        raise HTTPException(422, "a handover names the volunteer to hand over to ('to')")
    reply = AlertReply(
        nonce=f"http-{uuid.uuid4().hex}",
        alert=alert_id,
        action=action,
        ts=service.clock.now_ms(),
        to=body.to if action == "handover" else None,
        note=body.note,
    )
    try:
        updated = service.reply(alert.site, volunteer, reply, "http")
    except ReplyRejected as exc:
        raise HTTPException(
            REJECT_STATUS.get(exc.reason, 409), {"reason": exc.reason, "detail": exc.reason}
        ) from exc
    locale = locale_for(principal, directory, None, request.headers.get("accept-language"))
    return AlertPublic.of(updated, shown_to(principal, directory, updated), locale)


def _last_event(request: Request) -> int | None:
    """The ``Last-Event-ID`` an ``EventSource`` sends when it reconnects, if a number."""
    value = request.headers.get("last-event-id", "")
    return int(value) if value.isdigit() else None


def _acting_volunteer(
    principal: Principal, directory: Directory, alert: Alert, asked: str | None
) -> str:
    """Whom the action is for: the caller if a volunteer, else the named volunteer of the
    alert's site (403 if a volunteer names someone else, 422 if staff name nobody)."""
    if principal.role == "volunteer":
        if asked is not None and asked != principal.subject:
            raise HTTPException(403, "a volunteer acts only for themselves")
        return principal.subject
    volunteer = asked or principal.subject
    try:
        record = directory.volunteer(volunteer)
    except NotFound:
        record = None
    if record is None or alert.site not in record.sites:
        raise HTTPException(422, "name a volunteer of the alert's site ('volunteer')")
    return volunteer


__all__ = ["AlertPublic", "router", "visible_alert"]
