"""Tickets: requests, complaints and thanks from families, volunteers and coordinators.

A ticket is an alert of kind ``request`` or ``complaint`` (docs/tickets.md): the alert
service gives it its tier's deadlines (general: respond 24 h, resolve 48 h; important: 12 h,
7 days; emergency: the emergency tier's), pages, escalation, ownership and audit. Here:

* ``POST /api/v1/tickets``: raise one for a resident of the caller's site (a family token
  only for its own resident). ``kind="praise"`` records a thanks instead, credited to the
  volunteer or team it names, else to the volunteer who last helped the resident.
  ``take=true``: the volunteer raising it owns it at once (first contact).
* ``GET /api/v1/tickets``, ``GET /api/v1/tickets/{id}``: staff and volunteers of the site
  (volunteers see what the resident's consent shows them), a family its resident's.
* ``POST /api/v1/tickets/{id}/accept``: first contact: any volunteer of the site takes it,
  paged or not; the first accept owns it. ``.../resolve`` with a ``note`` (the report back).
* ``POST /api/v1/tickets/{id}/rating-link``: a one-time link a coordinator sends a family.

A resident of another site is a 404 (``not found``); a family token naming another
resident, or a role that may not act, a 403 with the reason.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from alerts import ticketdb as tdb
from alerts.errors import ReplyRejected
from alerts.model import Alert
from app.api.audit import audited
from app.api.auth import Principal, StaffDep, check_site, require
from app.api.deps import AlertServiceDep, AlertStoreDep, DirectoryDep
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.alerts import REJECT_STATUS, _acting_volunteer, shown_to
from app.api.routes.report import locale_for
from careloop.wire.alerts import AlertReply
from people import Directory, NotFound
from people.consent import Disclosure, disclosure

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=PROBLEM_RESPONSES)

_ID = r"^[A-Za-z0-9_.-]{1,64}$"
TicketKind = Literal["request", "complaint", "praise"]
TicketTier = Literal["emergency", "important", "general"]
#: The tier a ticket gets when the caller names none.
DEFAULT_TIER: dict[str, TicketTier] = {"request": "general", "complaint": "important"}
#: One-time rating links live this long.
LINK_DAYS = 14
ReporterDep = Annotated[Principal, Depends(require("admin", "coordinator", "volunteer", "family"))]
ActorDep = Annotated[Principal, Depends(require("admin", "coordinator", "volunteer"))]


class TicketCreate(BaseModel):
    """A request, complaint or thanks about one resident."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"site": "home-a", "resident": "r001", "kind": "request",
                 "summary": "The room is too cold at night."},
                {"site": "home-a", "resident": "r001", "kind": "praise", "volunteer": "v-ming"},
            ]
        },
    )  # fmt: skip
    site: Annotated[str, Field(pattern=_ID)]
    resident: Annotated[str, Field(pattern=_ID)]
    kind: TicketKind
    #: Default: general for a request, important for a complaint.
    tier: TicketTier | None = None
    summary: Annotated[str, Field(min_length=1, max_length=600)] = "Raised through the API."
    #: Praise only: the volunteer or team (rotation) thanked.
    volunteer: Annotated[str, Field(pattern=_ID)] | None = None
    team: Annotated[str, Field(pattern=_ID)] | None = None
    #: The raising volunteer takes it at once (first contact); not for families.
    take: bool = False


class TicketUpdate(BaseModel):
    """Acting on a ticket: who (staff acting for a volunteer) and, to resolve, the note."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "Heater fixed, 24 °C now."}]}
    )
    volunteer: Annotated[str, Field(pattern=_ID)] | None = None
    note: Annotated[str, Field(max_length=200)] | None = None


class TicketPublic(BaseModel):
    """A ticket as the caller may see it (consent decides resident, kind and summary)."""

    id: str
    site: str
    resident: str | None
    kind: str | None
    tier: str
    state: str
    source: str
    summary: str | None
    owner: str | None
    opened_ms: int
    accepted_ms: int | None
    resolved_ms: int | None
    respond_due_ms: int | None
    resolve_due_ms: int | None
    respond_breached: bool
    resolve_breached: bool
    note: str | None
    resolution: str | None
    ratings: list[dict[str, Any]]

    @classmethod
    def of(cls, a: Alert, shown: Disclosure, store: Any, locale: str = "en") -> TicketPublic:
        info = tdb.ticket_info(store.db, a.id)
        return cls(
            id=a.id, site=a.site, resident=a.resident if shown.resident else None,
            kind=a.kind if shown.health else None, tier=a.tier, state=a.state,
            source=info.source, summary=a.summary_in(locale) if shown.health else None,
            owner=a.owner, opened_ms=a.opened_ms, accepted_ms=a.accepted_ms,
            resolved_ms=a.resolved_ms, respond_due_ms=a.respond_due_ms,
            resolve_due_ms=a.resolve_due_ms,
            respond_breached=a.respond_breached, resolve_breached=a.resolve_breached,
            note=info.note if shown.health else None,
            resolution=info.resolution if shown.health else None,
            ratings=tdb.ratings_of(store.db, a.id),
        )  # fmt: skip


class PraisePublic(BaseModel):
    """A recorded thanks and whom it was credited to."""

    id: int
    volunteer: str | None
    team: str | None
    #: ``named`` (the caller named them), ``last_helper`` or ``nobody`` (nobody helped yet).
    credited_by: str


class RatingLinkPublic(BaseModel):
    """A one-time link for a family to rate a resolved ticket: shown once."""

    #: Give it to the family: ``POST /api/v1/ratings`` with ``{"link": ..., "score": 1-5}``.
    link: str
    expires_ms: int


#: What a family sees of a ticket a family member raised: what they wrote and the answer.
FAMILY_RAISED = Disclosure(resident=True, identity=False, health=True, words=False)


def _shown(principal: Principal, directory: Directory, alert: Alert, store: Any) -> Disclosure:
    """Staff and volunteers: :func:`shown_to`. A family: everything of a ticket a family
    member raised; of one from the voice device or staff, what the resident lets their
    family see (``share_vitals_with_family``)."""
    if principal.role != "family":
        return shown_to(principal, directory, alert)
    reporter = tdb.ticket_info(store.db, alert.id).reporter or ""
    if reporter.startswith("family:"):
        return FAMILY_RAISED
    shared = disclosure(directory.consent(alert.site, alert.resident), "family")
    return Disclosure(resident=True, identity=False, health=shared.health, words=False)


def _check_resident(principal: Principal, directory: Directory, site: str, resident: str) -> None:
    """404 for a site outside the caller's scope or an unknown resident; 403 for a family
    token naming someone else's resident."""
    check_site(principal, site)
    if principal.role == "family" and resident != principal.subject:
        raise HTTPException(403, "a family token raises tickets for its own resident only")
    try:
        directory.resident(site, resident)
    except NotFound as exc:
        raise HTTPException(404, "no such resident at this site") from exc


def _visible(principal: Principal, store: Any, ticket_id: str) -> Alert:
    alert = store.get(ticket_id)
    if (
        alert is None or alert.kind not in tdb.TICKET_KINDS or not principal.sees(alert.site)
        or (principal.role == "family" and alert.resident != principal.subject)
    ):  # fmt: skip
        raise HTTPException(404, "not found")
    return alert


@router.post("", status_code=201)
async def create_ticket(
    body: TicketCreate,
    request: Request,
    principal: ReporterDep,
    service: AlertServiceDep,
    store: AlertStoreDep,
    directory: DirectoryDep,
) -> TicketPublic | PraisePublic:
    """Raise a request or complaint (a ticket), or record a thanks."""
    _check_resident(principal, directory, body.site, body.resident)
    source = "coordinator" if principal.role == "admin" else principal.role
    reporter = principal.subject if principal.role != "family" else f"family:{principal.token}"
    if body.kind == "praise":
        if body.volunteer is not None:
            _named_volunteer(directory, body.site, body.volunteer)
        done = service.engine.praise(
            body.site, body.resident, source=source, reporter=reporter,
            volunteer=body.volunteer, team=body.team,
        )  # fmt: skip
        return PraisePublic.model_validate(done)
    take_by = None
    if body.take:
        if principal.role == "family":
            raise HTTPException(403, "a family member cannot take a ticket")
        take_by = _acting_volunteer(principal, directory, _stub(body), None)
    try:
        alert = service.engine.open_ticket(
            body.site, body.resident, body.kind, body.tier or DEFAULT_TIER[body.kind],
            body.summary, source=source, reporter=reporter, note=body.summary, take_by=take_by,
        )  # fmt: skip
    except ReplyRejected as exc:
        raise HTTPException(REJECT_STATUS.get(exc.reason, 409), exc.reason) from exc
    finally:
        service.wake()
    audited(request, principal, "create_ticket", alert.site, alert.resident)
    locale = locale_for(principal, directory, None, request.headers.get("accept-language"))
    return TicketPublic.of(alert, _shown(principal, directory, alert, store), store, locale)


def _stub(body: TicketCreate) -> Alert:
    return Alert("", body.site, body.resident, body.kind, "general", "open", "", 0)


def _named_volunteer(directory: Directory, site: str, volunteer: str) -> None:
    try:
        record = directory.volunteer(volunteer)
    except NotFound:
        record = None
    if record is None or site not in record.sites:
        raise HTTPException(422, "name a volunteer of the resident's site ('volunteer')")


@router.get("")
async def list_tickets(
    request: Request,
    principal: ReporterDep,
    store: AlertStoreDep,
    directory: DirectoryDep,
    paging: PageDep,
    site: Annotated[str | None, Query(pattern=_ID)] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> Page[TicketPublic]:
    """Tickets of the caller's sites (a family's: its resident's), newest first."""
    if site is not None:
        check_site(principal, site)
    sites = frozenset({site}) if site else principal.sites
    where = ["kind IN ('request', 'complaint')"]
    args: list[Any] = []
    if sites is not None:
        where.append(f"site IN ({','.join('?' * len(sites))})" if sites else "1 = 0")
        args += sorted(sites)
    if principal.role == "family":
        where.append("resident = ?")
        args.append(principal.subject)
    if open_only:
        where.append("closed_ms IS NULL")
    clause = " AND ".join(where)
    total = int(store.db.execute(f"SELECT count(*) FROM alerts WHERE {clause}", args).fetchone()[0])
    ids = [
        r[0]
        for r in store.db.execute(
            f"SELECT id FROM alerts WHERE {clause} ORDER BY opened_ms DESC, id LIMIT ? OFFSET ?",
            [*args, paging.limit, paging.offset],
        )
    ]
    alerts = [a for a in (store.get(i) for i in ids) if a is not None]
    audited(request, principal, "list_tickets", site or "*", None)
    locale = locale_for(principal, directory, None, request.headers.get("accept-language"))
    items = [
        TicketPublic.of(a, _shown(principal, directory, a, store), store, locale) for a in alerts
    ]
    return Page.of(items, total, paging)


@router.get("/{ticket_id}")
async def read_ticket(
    ticket_id: str,
    request: Request,
    principal: ReporterDep,
    store: AlertStoreDep,
    directory: DirectoryDep,
) -> TicketPublic:
    alert = _visible(principal, store, ticket_id)
    audited(request, principal, "read_ticket", alert.site, alert.resident)
    locale = locale_for(principal, directory, None, request.headers.get("accept-language"))
    return TicketPublic.of(alert, _shown(principal, directory, alert, store), store, locale)


async def _act(
    ticket_id: str,
    action: Literal["accept", "resolve"],
    principal: Principal,
    service: Any,
    store: Any,
    directory: Directory,
    body: TicketUpdate | None,
    locale: str,
) -> TicketPublic:
    """Take a ticket (first contact: any volunteer of its site) or resolve it with a note
    (its owner); 409 with the reason when its state does not allow it."""
    body = body or TicketUpdate()
    alert = _visible(principal, store, ticket_id)
    volunteer = _acting_volunteer(principal, directory, alert, body.volunteer)
    reply = AlertReply(
        nonce=f"http-{uuid.uuid4().hex}", alert=alert.id, action=action,
        ts=service.clock.now_ms(), note=body.note,
    )  # fmt: skip
    try:
        if action == "accept":
            updated = service.engine.take(alert.site, volunteer, reply, "http")
        else:
            updated = service.reply(alert.site, volunteer, reply, "http")
    except ReplyRejected as exc:
        raise HTTPException(
            REJECT_STATUS.get(exc.reason, 409), {"reason": exc.reason, "detail": exc.detail}
        ) from exc
    finally:
        service.wake()
    return TicketPublic.of(updated, _shown(principal, directory, updated, store), store, locale)


@router.post("/{ticket_id}/accept")
async def accept_ticket(
    ticket_id: str,
    request: Request,
    principal: ActorDep,
    service: AlertServiceDep,
    store: AlertStoreDep,
    directory: DirectoryDep,
    body: TicketUpdate | None = None,
) -> TicketPublic:
    """Take a ticket: first contact, any volunteer of its site (staff may name one); the
    first accept owns it, a later one is 409 ``already_owned``."""
    locale = locale_for(principal, directory, None, request.headers.get("accept-language"))
    return await _act(ticket_id, "accept", principal, service, store, directory, body, locale)


@router.post("/{ticket_id}/resolve")
async def resolve_ticket(
    ticket_id: str,
    request: Request,
    principal: ActorDep,
    service: AlertServiceDep,
    store: AlertStoreDep,
    directory: DirectoryDep,
    body: TicketUpdate | None = None,
) -> TicketPublic:
    """Resolve a ticket you own, with a ``note`` (the report back); the resident's device is
    then asked how satisfied they were. 403 if you do not own it."""
    locale = locale_for(principal, directory, None, request.headers.get("accept-language"))
    return await _act(ticket_id, "resolve", principal, service, store, directory, body, locale)


@router.post("/{ticket_id}/rating-link", status_code=201)
async def rating_link(
    ticket_id: str, principal: StaffDep, service: AlertServiceDep, store: AlertStoreDep
) -> RatingLinkPublic:
    """A one-time link for the resident's family to rate this ticket (shown once; stored
    only as its hash); it expires after 14 days or its first use."""
    alert = _visible(principal, store, ticket_id)
    link = "rl_" + secrets.token_urlsafe(24)
    now = service.clock.now_ms()
    expires = now + LINK_DAYS * 86_400_000
    with service.store.tx() as db:
        tdb.add_link(db, link, alert.id, principal.subject, now, expires)
    return RatingLinkPublic(link=link, expires_ms=expires)


__all__ = ["router"]
