"""The volunteers' app's own routes: who I am, my alerts, my history, "I'm available / not
now", and my phone's Web Push subscription. For volunteers only (signed in through
``app_session.py`` or with a volunteer token); every answer is about the caller.

* ``GET /api/v1/app/me``: my name, sites, availability, the VAPID key to subscribe with.
* ``GET /api/v1/app/alerts``: open alerts I was paged about (and did not decline), own, or
  am offered by a handover, each with what I need to know about the resident as far as
  their consent lets a volunteer see (:func:`people.consent.disclosure`): their name, room
  or address, language and what helps them (the care profile) with ``identity``; what the
  need is with ``health``; a directions link where a location is known and may be shown.
  Acting on them is ``POST /api/v1/alerts/{id}/accept|decline|handover|resolve``; live
  updates are ``GET /api/v1/alerts/events``.
* ``GET /api/v1/app/history``: my closed alerts, how they ended and the note I left, and
  the thanks I received (the praise credits, docs/tickets.md): how many, and the latest
  with when, how and from whom (the resident's name only where their consent shows it to
  volunteers).
* ``PUT /api/v1/app/availability``: ``{"available": false, "until_ms": ...}`` = not now
  (until then, or until switched back); the on-call routing skips me meanwhile.
* ``POST /api/v1/app/push``, ``DELETE /api/v1/app/push``: the installed app's push
  subscription (``PushSubscription.toJSON()``).
* ``GET /api/v1/app/volunteers``: the volunteers of my sites I can hand over to (ids and
  names only).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from alerts import ticketdb as tdb
from alerts.channels.webpush import Vapid, unb64url
from alerts.model import Alert
from app.api.audit import audited
from app.api.auth import Principal, require
from app.api.deps import AlertStoreDep, DirectoryDep, SettingsDep, follow_people
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.app_session import volunteer_locale
from people import Directory, NotFound, PeopleError, PushSubscription, Volunteer
from people.consent import disclosure

router = APIRouter(prefix="/api/v1/app", tags=["volunteer app"], responses=PROBLEM_RESPONSES)

VolunteerDep = Annotated[Principal, Depends(require("volunteer"))]


class MePublic(BaseModel):
    id: str
    name: str
    sites: list[str]
    locale: str
    available: bool
    #: When "not now" ends by itself (epoch ms); None = until switched back, or available.
    away_until_ms: int | None
    #: ``applicationServerKey`` for ``pushManager.subscribe`` (None: push is off).
    vapid_public_key: str | None
    push_subscriptions: int


class ResidentCard(BaseModel):
    """What a volunteer may know about the resident; None where consent withholds it."""

    resident: str | None = None
    name: str | None = None
    room: str | None = None
    language: str | None = None
    helps: list[str] = []
    directions_url: str | None = None


class MyAlert(BaseModel):
    id: str
    site: str
    tier: str
    state: str
    kind: str | None
    summary: str | None
    opened_ms: int
    respond_due_ms: int | None
    resolve_due_ms: int | None
    owner: str | None
    handover_to: str | None
    #: What I may do now.
    mine: bool
    offered: bool
    my_answer: str | None
    resident: ResidentCard
    note: str | None = None
    closed_ms: int | None = None
    outcome: str | None = None


class MyAlerts(BaseModel):
    items: list[MyAlert]
    count: int


class ThanksItem(BaseModel):
    ts_ms: int
    site: str
    #: How it came: ``voice`` (the resident's device), ``family``, ``volunteer``,
    #: ``coordinator``; how it was credited: ``named`` or ``last_helper``.
    source: str
    credited_by: str
    #: Who thanked: None where the resident's consent withholds it from volunteers.
    resident: str | None = None
    name: str | None = None


class MyThanks(BaseModel):
    #: Every thanks credited to me, by how it was credited, and the last one's time.
    praise: int
    by: dict[str, int]
    last_ms: int | None
    #: The latest (at most ``THANKS_SHOWN``), newest first.
    recent: list[ThanksItem]


class MyHistory(MyAlerts):
    thanks: MyThanks


#: How many thanks the history lists one by one.
THANKS_SHOWN = 20


class AvailabilityUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"available": False, "until_ms": 1767610000000}]},
    )
    available: bool
    until_ms: Annotated[int, Field(gt=0)] | None = None


class PushKeys(BaseModel):
    p256dh: Annotated[str, Field(min_length=80, max_length=100, pattern=r"^[A-Za-z0-9_-]+=*$")]
    auth: Annotated[str, Field(min_length=16, max_length=30, pattern=r"^[A-Za-z0-9_-]+=*$")]


class PushSubscriptionCreate(BaseModel):
    """``PushSubscription.toJSON()`` as the browser gives it."""

    model_config = ConfigDict(extra="ignore")
    endpoint: Annotated[str, Field(min_length=10, max_length=1000)]
    keys: PushKeys
    expirationTime: int | None = None


class PushSubscriptionDelete(BaseModel):
    model_config = ConfigDict(extra="ignore")
    endpoint: Annotated[str, Field(min_length=10, max_length=1000)]


class Colleague(BaseModel):
    id: str
    name: str


def me_record(directory: Directory, principal: Principal) -> Volunteer:
    try:
        return directory.volunteer(principal.subject)
    except NotFound as exc:
        raise HTTPException(404, "no volunteer record for this session") from exc


def _locale(directory: Directory, principal: Principal, request: Request) -> str:
    """The caller's locale (their profile's language, else the browser's), for summaries."""
    try:
        return volunteer_locale(directory.volunteer(principal.subject), request)
    except NotFound:
        return volunteer_locale(None, request)


def _directions(location: tuple[float, float] | None) -> str | None:
    if location is None:
        return None
    lat, lon = location
    return f"https://www.openstreetmap.org/directions?to={lat:.6f}%2C{lon:.6f}"


def card(directory: Directory, alert: Alert) -> tuple[ResidentCard, bool]:
    """The resident as a volunteer may see them, and whether the need may be shown."""
    shown = disclosure(directory.consent(alert.site, alert.resident), "volunteer")
    out = ResidentCard(resident=alert.resident if shown.resident else None)
    if shown.identity:
        try:
            r = directory.resident(alert.site, alert.resident)
        except NotFound:
            return out, shown.health
        out.name, out.language = r.display_name, r.language
        out.room = r.profile.room or None
        out.helps = list(r.profile.helps)
        out.directions_url = _directions(r.location)
    return out, shown.health


def my_alert(
    directory: Directory, me: str, alert: Alert, answer: str | None, note: str | None = None,
    locale: str = "en",
) -> MyAlert:  # fmt: skip
    resident, health = card(directory, alert)
    return MyAlert(
        id=alert.id, site=alert.site, tier=alert.tier, state=alert.state,
        kind=alert.kind if health else None, summary=alert.summary_in(locale) if health else None,
        opened_ms=alert.opened_ms, respond_due_ms=alert.respond_due_ms,
        resolve_due_ms=alert.resolve_due_ms, owner=alert.owner, handover_to=alert.handover_to,
        mine=alert.owner == me, offered=alert.handover_to == me, my_answer=answer,
        resident=resident, note=note, closed_ms=alert.closed_ms, outcome=alert.outcome,
    )  # fmt: skip


@router.get("/me")
async def read_me(
    request: Request, principal: VolunteerDep, directory: DirectoryDep, settings: SettingsDep
) -> MePublic:
    """Who I am, whether I am available, and how my phone subscribes to pushes."""
    me = me_record(directory, principal)
    away = directory.away()
    now = directory._now()  # the directory's clock, as set_away judges it
    until = away.get(me.id)
    available = me.id not in away or (until is not None and until <= now)
    key = None
    if settings.alerts.push:
        key = Vapid.load(settings.paths.vapid_key, settings.alerts.vapid_subject).public_key
    return MePublic(
        id=me.id, name=me.name, sites=sorted(me.sites), locale=volunteer_locale(me, request),
        available=available, away_until_ms=None if available else until,
        vapid_public_key=key, push_subscriptions=len(directory.push_subscriptions(me.id)),
    )  # fmt: skip


@router.get("/alerts")
async def my_alerts(
    request: Request, principal: VolunteerDep, directory: DirectoryDep, store: AlertStoreDep
) -> MyAlerts:
    """My open alerts, newest first, with what I may know about each resident."""
    me = principal.subject
    rows = [  # one somebody else accepted is theirs, unless they offer it to me
        (a, ans)
        for a, ans in store.volunteer_alerts(me)
        if a.owner is None or me in (a.owner, a.handover_to)
    ]
    locale = _locale(directory, principal, request)
    items = [my_alert(directory, me, a, ans, locale=locale) for a, ans in rows]
    for a, _ in rows:
        audited(request, principal, "app_alert", a.site, a.resident)
    return MyAlerts(items=items, count=len(items))


def my_thanks(directory: Directory, store: Any, me: str) -> MyThanks:
    """The thanks credited to ``me``, each resident shown as far as their consent lets a
    volunteer see them (:func:`people.consent.disclosure`)."""
    counts = tdb.praise_counts(store.db, me)
    seen: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    recent = []
    for p in tdb.praise_of(store.db, me, THANKS_SHOWN):
        key = (p["site"], p["resident"])
        if key not in seen:
            shown = disclosure(directory.consent(*key), "volunteer")
            name = None
            if shown.identity:
                try:
                    name = directory.resident(*key).display_name
                except NotFound:  # erased since: the thanks stays, the name does not
                    name = None
            seen[key] = (p["resident"] if shown.resident else None, name)
        resident, name = seen[key]
        recent.append(
            ThanksItem(
                ts_ms=p["ts_ms"], site=p["site"], source=p["source"],
                credited_by=p["credited_by"], resident=resident, name=name,
            )
        )  # fmt: skip
    return MyThanks(
        praise=counts["praise"], by=counts["by"], last_ms=counts["last_ms"], recent=recent
    )


@router.get("/history")
async def my_history(
    request: Request, principal: VolunteerDep, directory: DirectoryDep, store: AlertStoreDep
) -> MyHistory:
    """My closed alerts (the last 50), how each ended and the note left when resolving; and
    the thanks I received."""
    rows = store.volunteer_alerts(principal.subject, closed=True, limit=50)
    notes = store.resolve_notes([a.id for a, _ in rows if a.owner == principal.subject])
    locale = _locale(directory, principal, request)
    me = principal.subject
    items = [my_alert(directory, me, a, ans, notes.get(a.id), locale) for a, ans in rows]
    thanks = my_thanks(directory, store, principal.subject)
    audited(request, principal, "app_history", "*", None)
    return MyHistory(items=items, count=len(items), thanks=thanks)


@router.put("/availability")
async def set_availability(
    body: AvailabilityUpdate,
    request: Request,
    principal: VolunteerDep,
    directory: DirectoryDep,
    settings: SettingsDep,
) -> MePublic:
    """Available, or not now (until ``until_ms``, or until switched back)."""
    try:
        directory.set_away(principal.subject, not body.available, body.until_ms)
    except NotFound as exc:
        raise HTTPException(404, "no volunteer record for this session") from exc
    except PeopleError as exc:
        raise HTTPException(422, str(exc)) from exc
    follow_people(request)  # the in-process routing sees it at once
    return await read_me(request, principal, directory, settings)


@router.post("/push", status_code=201)
async def subscribe_push(
    body: PushSubscriptionCreate, principal: VolunteerDep, directory: DirectoryDep
) -> dict[str, Any]:
    """Keep this app's push subscription (a phone subscribes once per install)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        point = unb64url(body.keys.p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(unb64url(body.keys.auth)) != 16:
            raise ValueError("auth is 16 bytes")
    except ValueError as exc:
        raise HTTPException(422, "keys.p256dh must be a P-256 point, keys.auth 16 bytes") from exc
    sub = PushSubscription(body.endpoint, principal.subject, body.keys.p256dh, body.keys.auth)
    try:
        directory.add_push_subscription(sub)
    except NotFound as exc:
        raise HTTPException(404, "no volunteer record for this session") from exc
    except PeopleError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {
        "endpoint": body.endpoint,
        "subscriptions": len(directory.push_subscriptions(sub.volunteer)),
    }


@router.delete("/push", status_code=204)
async def unsubscribe_push(
    body: PushSubscriptionDelete, principal: VolunteerDep, directory: DirectoryDep
) -> Response:
    """Forget this app's subscription (only the caller's own)."""
    if not directory.remove_push_subscription(body.endpoint, principal.subject):
        raise HTTPException(404, "no such subscription of yours")
    return Response(status_code=204)


@router.get("/volunteers")
async def colleagues(principal: VolunteerDep, directory: DirectoryDep) -> list[Colleague]:
    """Active volunteers of my sites, to hand over to (not me, not coordinators)."""
    found, _ = directory.volunteers(principal.sites, limit=None)
    return [
        Colleague(id=v.id, name=v.name)
        for v in found
        if v.active and v.id != principal.subject and not v.coordinator
    ]
