"""Appointments of a resident: when, where, who goes along (docs/careplan.md).

* ``POST /api/v1/residents/{site}/{resident}/appointments``: a coordinator or a volunteer
  who may see the resident books one. A time in the past, or without its zone, is refused
  (422 with the reason). ``accompany`` / ``transport`` raise a request ticket (the same
  ticket as ``POST /api/v1/tickets``, kind ``request``) whose id the appointment keeps.
* ``GET .../appointments``: the upcoming ones (``?past=true``: all), soonest first.
* ``DELETE .../appointments/{id}``: cancelled.

The alert service has the resident's device say it the day before and an hour before.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.audit import audited
from app.api.auth import MemberDep, check_site
from app.api.deps import AlertServiceDep, DirectoryDep
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.residents import visible_resident
from careloop.i18n import Translator, resolve_locale
from people import Appointment, Directory, PeopleError

router = APIRouter(prefix="/api/v1/residents", tags=["appointments"], responses=PROBLEM_RESPONSES)
_TEXT = Annotated[str, Field(max_length=200)]


class AppointmentBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: When, with its zone ("2026-03-02T10:30:00+08:00").
    at: datetime
    place: Annotated[str, Field(min_length=1, max_length=200)]
    purpose: _TEXT = ""
    #: Who goes with them (a volunteer's id or a family member's name).
    companion: _TEXT = ""
    accompany: bool = False
    transport: bool = False
    #: The event that closes the care plan's expectation (``checkup_done``).
    event: str | None = None


class AppointmentCreate(AppointmentBase):
    """An appointment to book."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "at": "2026-03-02T10:30:00+08:00", "place": "Taipei clinic, 3F",
            "purpose": "diabetes check-up", "companion": "v-ming", "transport": True,
            "event": "checkup_done"}]},
    )  # fmt: skip


class AppointmentPublic(AppointmentBase):
    """A booked appointment."""

    id: str
    site: str
    resident: str
    booked_by: str
    #: The request ticket raised for accompany/transport, if any.
    ticket: str | None

    @classmethod
    def of(cls, a: Appointment) -> AppointmentPublic:
        return cls(
            id=a.id, site=a.site, resident=a.resident,
            at=datetime.fromtimestamp(a.at_ms / 1000, ZoneInfo("UTC")), place=a.place,
            purpose=a.purpose, companion=a.companion, accompany=a.accompany,
            transport=a.transport, event=a.event, booked_by=a.booked_by, ticket=a.ticket,
        )  # fmt: skip


def _at_ms(at: datetime) -> int:
    if at.tzinfo is None or at.utcoffset() is None:
        raise HTTPException(422, "the appointment's time needs its zone (e.g. +08:00)")
    at_ms = int(at.timestamp() * 1000)
    if at_ms <= time.time() * 1000:
        raise HTTPException(422, "the appointment is in the past")
    return at_ms


def _ticket_summary(request: Request, directory: Directory, a: Appointment) -> str:
    t = Translator(resolve_locale(None, request.headers.get("accept-language")))
    zone = ZoneInfo(directory.site(a.site).timezone)
    when = t.format_datetime(datetime.fromtimestamp(a.at_ms / 1000, zone), zone, "short")
    need = "both" if a.accompany and a.transport else "accompany" if a.accompany else "transport"
    return t(f"appointment.ticket_{need}", place=a.place, when=when)


@router.post("/{site}/{resident}/appointments", status_code=201)
async def book_appointment(
    site: str, resident: str, body: AppointmentCreate, request: Request,
    principal: MemberDep, directory: DirectoryDep, service: AlertServiceDep,
) -> AppointmentPublic:  # fmt: skip
    """Book an appointment; an accompany/transport need becomes a request ticket."""
    visible_resident(principal, directory, site, resident)
    at_ms = _at_ms(body.at)
    try:
        booked = Appointment(
            f"ap-{uuid.uuid4().hex[:12]}", site, resident, at_ms, body.place, body.purpose,
            body.companion, body.accompany, body.transport, body.event, principal.subject,
        )  # fmt: skip
    except PeopleError as exc:  # an unknown event
        raise HTTPException(422, str(exc)) from exc
    booked = directory.add_appointment(booked)
    if booked.accompany or booked.transport:
        source = "coordinator" if principal.role == "admin" else principal.role
        try:
            ticket = service.engine.open_ticket(
                site, resident, "request", "general", _ticket_summary(request, directory, booked),
                source=source, reporter=principal.subject,
            )  # fmt: skip
        finally:
            service.wake()
        directory.set_appointment_ticket(site, booked.id, ticket.id)
        booked = directory.appointment(site, resident, booked.id)
    audited(request, principal, "book_appointment", site, resident)
    return AppointmentPublic.of(booked)


@router.get("/{site}/{resident}/appointments")
async def list_appointments(
    site: str, resident: str, request: Request, principal: MemberDep, directory: DirectoryDep,
    paging: PageDep, past: bool = False,
) -> Page[AppointmentPublic]:  # fmt: skip
    """The resident's appointments, soonest first (upcoming only unless ``past=true``)."""
    visible_resident(principal, directory, site, resident)
    since = 0 if past else int(time.time() * 1000)
    items, total = directory.appointments(
        site, resident, since_ms=since, offset=paging.offset, limit=paging.limit
    )
    audited(request, principal, "read_appointments", site, resident)
    return Page.of([AppointmentPublic.of(a) for a in items], total, paging)


@router.delete("/{site}/{resident}/appointments/{appointment}", status_code=204)
async def cancel_appointment(
    site: str, resident: str, appointment: str, principal: MemberDep, directory: DirectoryDep
) -> Response:
    """Cancel it (its ticket, if any, stays for whoever owns it to resolve)."""
    check_site(principal, site)
    visible_resident(principal, directory, site, resident)
    directory.cancel_appointment(site, resident, appointment)
    return Response(status_code=204)
