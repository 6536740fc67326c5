"""The alert service's own small HTTP app: replies, the event stream, the closed loop.

Served only by ``careloop alerts --http-port`` (the process that owns the alert store, on
loopback, for volunteer apps behind a trusted gateway). It has no authentication of its own,
so the main API does not include it: there, ``/api/v1/alerts/...`` (routes/alerts.py) acts
for the authenticated caller. The engine raises :class:`~alerts.errors.ReplyRejected` with a
bounded reason; :data:`REJECT_STATUS` maps it to HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, StringConstraints

from careloop.wire.alerts import AlertReply, ReplyAction

if TYPE_CHECKING:
    from alerts.service import AlertService

router = APIRouter(prefix="/alerts", tags=["alerts"])

REJECT_STATUS = {
    "unknown_alert": 404,
    "wrong_volunteer": 403,
    "replay": 409,
    "already_owned": 409,
    "not_allowed": 409,
    "bad_reply": 422,
}


def get_alerts(request: Request) -> AlertService:
    """The alert service attached to this app, or 503."""
    service = getattr(request.app.state, "alerts", None)
    if service is None:
        raise HTTPException(503, "no alert service in this process")
    return service


# Typed as Any for FastAPI: the service class is imported lazily (the API runs without it).
AlertsDep = Annotated[Any, Depends(get_alerts)]


class ReplyCreate(BaseModel):
    """A volunteer's reply over HTTP; the same fields as ``AlertReply`` plus who sends it."""

    model_config = ConfigDict(extra="forbid")
    site: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    volunteer: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    nonce: str
    action: ReplyAction
    ts: int
    to: str | None = None
    note: str | None = None


class ReplyPublic(BaseModel):
    """What the alert looks like after the reply."""

    alert: str
    state: str
    owner: str | None
    handover_to: str | None
    result: Literal["ok"] = "ok"


@router.post("/{alert_id}/reply")
async def post_reply(alert_id: str, body: ReplyCreate, service: AlertsDep) -> ReplyPublic:
    """Accept, decline, resolve or hand over; 4xx with ``detail.reason`` if refused."""
    from alerts.errors import ReplyRejected
    from careloop.wire import WireError

    try:
        reply = AlertReply.model_validate(
            {
                "nonce": body.nonce,
                "alert": alert_id,
                "action": body.action,
                "ts": body.ts,
                **({"to": body.to} if body.to else {}),
                **({"note": body.note} if body.note else {}),
            }
        )
        alert = service.reply(body.site, body.volunteer, reply, "http")
    except ReplyRejected as exc:
        raise HTTPException(
            REJECT_STATUS.get(exc.reason, 409), {"reason": exc.reason, "detail": exc.detail}
        ) from exc
    except (WireError, ValueError) as exc:
        raise HTTPException(422, {"reason": "bad_reply", "detail": str(exc)[:200]}) from exc
    return ReplyPublic(
        alert=alert.id, state=alert.state, owner=alert.owner, handover_to=alert.handover_to
    )


@router.get("/events")
async def events(service: AlertsDep) -> StreamingResponse:
    """Server-sent events: one per committed audit row (no resident ids, no text)."""
    return StreamingResponse(
        service.events.sse(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/closed-loop")
async def closed_loop(service: AlertsDep) -> dict[str, Any]:
    """The anonymised closed-loop view of every need and how it was handled."""
    from alerts.sla import closed_loop as view
    from alerts.sla import summary

    records = view(service.store)
    return {"count": len(records), "summary": summary(records), "data": records}


def alerts_app(service: AlertService) -> FastAPI:
    """A small app with just this router, served by ``careloop alerts --http-port``."""
    app = FastAPI(title="careloop alerts")
    app.state.alerts = service
    app.include_router(router)
    return app
