"""The one-time accept and decline links of e-mailed pages (:mod:`alerts.links`).

``GET /app/act/<token>`` shows what the link will do and a button, in the volunteer's
language; nothing happens on a GET, because mail scanners and link previews open links by
themselves. The button posts ``{"token"}`` to ``POST /api/v1/app/act``, which applies the
reply through the alert service exactly as the app or MQTT would, with the link's nonce:

* a link not signed with our key, or altered: 404 ``bad_link``;
* a link whose alert is closed, or past the time written in it: 410 ``expired``;
* a link already used: 409 ``used`` (the engine refuses the nonce a second time);
* a refusal by the alert's state (someone else accepted first...): 409 with the reason.

Every answer carries ``message``, a whole sentence in the volunteer's language.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from alerts.errors import ReplyRejected
from alerts.links import ActionLink, LinkError, LinkSigner
from app.api.deps import AlertServiceDep, AlertStoreDep, DirectoryDep, SettingsDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.app_session import volunteer_locale
from careloop.i18n import Translator, catalog
from careloop.logs import fields
from careloop.wire.alerts import AlertReply
from people import Directory, NotFound

log = logging.getLogger(__name__)

router = APIRouter(tags=["volunteer app"], responses=PROBLEM_RESPONSES)

#: Outcome -> HTTP status of ``POST /api/v1/app/act``.
STATUS = {"done": 200, "bad_link": 404, "expired": 410, "used": 409, "refused": 409}
_TEMPLATE = (Path(__file__).resolve().parent.parent / "static" / "act.html").read_text()


class ActCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=10, max_length=600)]


def _signer(settings: SettingsDep) -> LinkSigner:
    return LinkSigner.load(settings.paths.link_key)


def _translator(directory: Directory, request: Request, link: ActionLink | None) -> Translator:
    volunteer = None
    if link is not None:
        try:
            volunteer = directory.volunteer(link.volunteer)
        except NotFound:
            volunteer = None
    return Translator(volunteer_locale(volunteer, request))


def _check(
    token: str, signer: LinkSigner, store: AlertStoreDep, now_ms: int
) -> tuple[str, ActionLink | None]:
    """(outcome so far, the link): "ok" when it may still be used."""
    try:
        link = signer.verify(token)
    except LinkError:
        return "bad_link", None
    alert = store.get(link.alert)
    if alert is None:
        return "bad_link", link
    if store.reply_seen(link.nonce):
        return "used", link
    if alert.closed_ms is not None or now_ms >= link.expires_ms:
        return "expired", link
    return "ok", link


@router.get("/app/act/{token}", include_in_schema=False)
async def act_page(
    token: str,
    request: Request,
    settings: SettingsDep,
    directory: DirectoryDep,
    store: AlertStoreDep,
    service: AlertServiceDep,
) -> HTMLResponse:
    """What the link does, and a button to do it (or why it no longer works)."""
    from app.api.routes.dashboard import SECURITY_HEADERS

    outcome, link = _check(token, _signer(settings), store, service.clock.now_ms())
    t = _translator(directory, request, link)
    if outcome == "ok" and link is not None:
        alert = store.get(link.alert)
        tier = t(f"tier.{alert.tier}") if alert else ""
        text = t(f"app.link_confirm_{link.action}", tier=tier, alert=link.alert)
        button = t(f"app.action_{link.action}")
    else:
        text, button = t(f"app.link_{outcome}"), ""
    page = _TEMPLATE.format(
        lang=html.escape(t.locale), title=html.escape(t("app.title")),
        text=html.escape(text), button=html.escape(button),
        hidden="" if button else "hidden", app=html.escape(t("app.open_app")),
    )  # fmt: skip
    return HTMLResponse(page, headers=SECURITY_HEADERS)


@router.post("/api/v1/app/act", responses={404: {}, 409: {}, 410: {}})
async def act(
    body: ActCreate,
    request: Request,
    settings: SettingsDep,
    directory: DirectoryDep,
    store: AlertStoreDep,
    service: AlertServiceDep,
) -> JSONResponse:
    """Use a one-time link: accept or decline as the volunteer it was sent to."""
    now = service.clock.now_ms()
    outcome, link = _check(body.token, _signer(settings), store, now)
    reason = None
    if outcome == "ok" and link is not None:
        alert = store.get(link.alert)
        assert alert is not None
        reply = AlertReply(nonce=link.nonce, alert=link.alert, action=link.action, ts=now)
        try:
            service.reply(alert.site, link.volunteer, reply, "email")
            outcome = f"done_{link.action}"
        except ReplyRejected as exc:
            reason = exc.reason
            outcome = "used" if exc.reason == "replay" else "refused"
    t = _translator(directory, request, link)
    key = f"app.link_{outcome}" if outcome != "refused" else f"app.refused_{reason}"
    if reason is not None and f"app.refused_{reason}" not in _known(t):
        key = "app.link_refused"
    log.info("action link", extra=fields(outcome=outcome, reason=reason))
    status = STATUS.get(outcome, 200)
    return JSONResponse(
        {"outcome": outcome.removeprefix("done_"), "reason": reason, "message": t(key)},
        status_code=status,
    )


def _known(t: Translator) -> set[str]:
    return set(catalog(t.locale))
