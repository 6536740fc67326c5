"""Signing in to the volunteers' app with a one-time code or link sent by e-mail.

* ``POST /api/v1/app/signin`` ``{"email"}``: if a volunteer has that address, e-mail them a
  six-digit code and a link (``/app/#signin=...``), both valid ``api.signin_minutes`` and
  spent by the first use (:mod:`people.store.signin`). The answer is the same 202 whether or
  not the address is known, so the form does not tell strangers who volunteers here.
* ``POST /api/v1/app/session`` ``{"link"}`` or ``{"email", "code"}``: a live, unused
  sign-in becomes a volunteer token (``api.app_session_days``) in the HttpOnly session
  cookie, exactly as ``POST /api/v1/session`` sets it; a wrong one is a 401 counted against
  the caller's address like a wrong token.
* ``GET /api/v1/app/messages``: the app's words in the caller's locale (their profile's
  language when signed in, else ``Accept-Language``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from alerts.channels import SmtpSender
from alerts.errors import DeliveryError
from app.api.auth import COOKIE_NAME, PrincipalDep, SessionPublic, client_address
from app.api.deps import DirectoryDep, SettingsDep
from app.api.problems import PROBLEM_RESPONSES
from careloop.i18n import Translator, catalog, resolve_locale
from careloop.logs import fields
from careloop.settings import Settings
from people import Directory, NotFound, TooManySignIns, Volunteer

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/app", tags=["volunteer app"], responses=PROBLEM_RESPONSES)

#: Catalog domains the app's script uses.
APP_DOMAINS = ("app.", "tier.", "need.", "notification.")


class SignInCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "ming@example.org"}]}
    )
    email: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class SignInAccepted(BaseModel):
    """Always the same: whether the address is known is not revealed."""

    sent: bool = True
    minutes: int


class AppSessionCreate(BaseModel):
    """A sign-in link's token, or the e-mail address and the code."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"link": "cls_q2-EXAMPLE"},
                {"email": "ming@example.org", "code": "042917"},
            ]
        },
    )
    link: Annotated[str, Field(min_length=8, max_length=100)] | None = None
    email: Annotated[str, Field(min_length=3, max_length=254)] | None = None
    code: Annotated[str, Field(pattern=r"^\s*\d{6}\s*$")] | None = None


class Messages(BaseModel):
    locale: str
    messages: dict[str, Any]


def volunteer_locale(volunteer: Volunteer | None, request: Request) -> str:
    """The volunteer's language if careloop speaks it, else the browser's, else English."""
    language = next(iter(volunteer.languages), None) if volunteer else None
    return resolve_locale(language, request.headers.get("accept-language"))


def _signin_email(settings: Settings, locale: str, code: str, url: str, minutes: int) -> bytes:
    t = Translator(locale)
    body = "\n".join(
        [t("app.signin_email_intro"), "", url, "", t("app.signin_email_code", code=code),
         "", t("app.signin_email_expiry", minutes=minutes), t("app.signin_email_ignore")]
    )  # fmt: skip
    return json.dumps({"subject": t("app.signin_email_subject"), "body": body}).encode()


@router.post("/signin", status_code=202, responses={503: {"description": "no SMTP server"}})
async def request_signin(
    body: SignInCreate, request: Request, directory: DirectoryDep, settings: SettingsDep
) -> SignInAccepted:
    """E-mail a one-time code and link to the volunteer with this address (if any)."""
    cfg = settings.alerts
    if not cfg.smtp_host:
        raise HTTPException(503, "sign-in by e-mail needs an SMTP server (alerts.smtp_host)")
    minutes = settings.api.signin_minutes
    volunteer = directory.volunteer_by_email(body.email)
    if volunteer is None or not volunteer.active:
        log.info("app sign-in asked for an unknown address")
        return SignInAccepted(minutes=minutes)
    try:
        signin = directory.create_signin(volunteer.id, lifetime_ms=minutes * 60_000)
    except TooManySignIns:
        log.info("app sign-in refused: too many", extra=fields(volunteer=volunteer.id))
        return SignInAccepted(minutes=minutes)
    url = f"{settings.api.base_url()}/app/#signin={signin.link}"
    message = _signin_email(
        settings, volunteer_locale(volunteer, request), signin.code, url, minutes
    )
    smtp = SmtpSender(
        cfg.smtp_host, cfg.smtp_port, cfg.smtp_from, username=cfg.smtp_username,
        password=cfg.smtp_password.get_secret_value() if cfg.smtp_password else None,
        tls=cfg.smtp_tls, ca_file=cfg.smtp_ca_file,
    )  # fmt: skip
    try:
        await smtp.send(volunteer.email or "", message, f"signin-{signin.id}")
    except DeliveryError as exc:
        log.warning("app sign-in e-mail failed", extra=fields(error=exc.reason[:200]))
        raise HTTPException(503, "the sign-in e-mail could not be sent; try again") from exc
    log.info("app sign-in sent", extra=fields(volunteer=volunteer.id))
    return SignInAccepted(minutes=minutes)


def _redeem(directory: Directory, body: AppSessionCreate) -> str | None:
    if body.link:
        return directory.redeem_signin_link(body.link)
    if body.email and body.code:
        volunteer = directory.volunteer_by_email(body.email)
        if volunteer is None:
            return None
        return directory.redeem_signin_code(volunteer.id, body.code)
    raise HTTPException(422, "send the sign-in link, or the e-mail address and the code")


@router.post("/session", responses={401: {"description": "wrong, used or expired sign-in"}})
async def create_app_session(
    body: AppSessionCreate,
    request: Request,
    response: Response,
    directory: DirectoryDep,
    settings: SettingsDep,
) -> SessionPublic:
    """Spend a one-time sign-in and set the app's session cookie."""
    limiter = request.app.state.token_limiter
    client = client_address(request)
    if wait := limiter.retry_after(client):
        raise HTTPException(429, "too many failed sign-in attempts; try again later",
                            headers={"Retry-After": str(wait)})  # fmt: skip
    volunteer_id = await asyncio.to_thread(_redeem, directory, body)
    try:
        volunteer = directory.volunteer(volunteer_id) if volunteer_id else None
    except NotFound:
        volunteer = None
    if volunteer is None or not volunteer.active:
        limiter.failed(client)
        raise HTTPException(401, "this sign-in code or link is wrong, used or expired")
    raw, record = directory.create_token(
        "volunteer", volunteer.id, volunteer.sites, note="app sign-in",
        lifetime_ms=settings.api.app_session_days * 86_400_000,
    )  # fmt: skip
    response.set_cookie(
        COOKIE_NAME, raw, httponly=True, samesite="strict",
        secure=settings.api.cookie_secure, path="/",
        max_age=settings.api.app_session_days * 86_400,
    )  # fmt: skip
    log.info("app signed in", extra=fields(volunteer=volunteer.id, token_id=record.id))
    return SessionPublic(role="volunteer", subject=volunteer.id, sites=sorted(volunteer.sites))


@router.get("/messages")
async def messages(request: Request, principal: PrincipalDep, directory: DirectoryDep) -> Messages:
    """The app's words in the caller's locale."""
    volunteer = None
    if principal.role in ("volunteer", "coordinator"):
        try:
            volunteer = directory.volunteer(principal.subject)
        except NotFound:
            volunteer = None
    locale = volunteer_locale(volunteer, request)
    table = {k: v for k, v in catalog(locale).items() if k.startswith(APP_DOMAINS)}
    return Messages(locale=locale, messages=table)
