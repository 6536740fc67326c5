"""Appointments: when and where a resident is expected (a clinic, a check-up), and who goes
with them.

People data, owned here like the care profile: a coordinator or a volunteer books one
through the API (``/api/v1/residents/{site}/{resident}/appointments``); the alert service
reads the upcoming ones through this store (:meth:`Appointments.upcoming_appointments`,
followed like the roster) and has the resident's device remind them the day before and an
hour before; an accompany or transport request becomes a ticket whose id is kept here.
Erasing a resident erases their appointments (``Directory.erase_resident``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from careloop.wire import EVENT_TYPES
from people.errors import NotFound, PeopleError
from people.model import valid_id
from people.store.base import DirectoryBase

APPOINTMENT_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS appointments (
        id TEXT PRIMARY KEY, site TEXT NOT NULL, resident TEXT NOT NULL, at_ms INTEGER NOT NULL,
        place TEXT NOT NULL, purpose TEXT NOT NULL, companion TEXT NOT NULL,
        accompany INTEGER NOT NULL, transport INTEGER NOT NULL, event TEXT,
        booked_by TEXT NOT NULL, created_at INTEGER NOT NULL, ticket TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS appointments_at ON appointments (at_ms)",
    "CREATE INDEX IF NOT EXISTS appointments_resident ON appointments (site, resident)",
)
_COLS = (
    "id, site, resident, at_ms, place, purpose, companion, accompany, transport, event, "
    "booked_by, created_at, ticket"
)


@dataclass(frozen=True, slots=True)
class Appointment:
    """One appointment; ``companion`` is who goes with them ("" = nobody named yet)."""

    id: str
    site: str
    resident: str
    at_ms: int
    place: str
    purpose: str = ""
    companion: str = ""
    #: Someone should go with them / they need a ride: each raises a request ticket.
    accompany: bool = False
    transport: bool = False
    #: The event that closes the care plan's expectation (e.g. ``checkup_done``).
    event: str | None = None
    booked_by: str = ""
    created_at: int = 0
    #: The request ticket (an alert id) raised for the accompany/transport request.
    ticket: str | None = None

    def __post_init__(self) -> None:
        valid_id(self.site, "site")
        valid_id(self.resident, "resident")
        if self.event is not None and self.event not in EVENT_TYPES:
            raise PeopleError(f"event must be one of {', '.join(EVENT_TYPES)}")


def _row(r: tuple[Any, ...]) -> Appointment:
    return Appointment(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), bool(r[8]), r[9], r[10], r[11],
        r[12],
    )  # fmt: skip


class Appointments(DirectoryBase):
    """Book, read, cancel and erase appointments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.dialect != "sqlite":
            return  # PostgreSQL: people/migrations made the tables
        with self.tx() as db:
            for statement in APPOINTMENT_SCHEMA:
                db.execute(statement)

    def add_appointment(self, a: Appointment) -> Appointment:
        """Book it; refused (PeopleError) when its time has passed or the resident is
        unknown (NotFound)."""
        now = self._now()
        if a.at_ms <= now:
            raise PeopleError("the appointment's time has passed")
        with self.tx() as db:
            if not db.execute(
                "SELECT 1 FROM residents WHERE site = ? AND id = ?", (a.site, a.resident)
            ).fetchone():
                raise NotFound("resident", f"{a.site}/{a.resident}")
            db.execute(
                f"INSERT INTO appointments ({_COLS}) VALUES ({','.join('?' * 13)})",
                (a.id, a.site, a.resident, a.at_ms, a.place, a.purpose, a.companion,
                 int(a.accompany), int(a.transport), a.event, a.booked_by, now, a.ticket),
            )  # fmt: skip
        return self.appointment(a.site, a.resident, a.id)

    def set_appointment_ticket(self, site: str, appointment: str, ticket: str) -> None:
        with self.tx() as db:
            db.execute(
                "UPDATE appointments SET ticket = ? WHERE site = ? AND id = ?",
                (ticket, site, appointment),
            )

    def appointment(self, site: str, resident: str, appointment: str) -> Appointment:
        row = self.one(
            f"SELECT {_COLS} FROM appointments WHERE site = ? AND resident = ? AND id = ?",
            [site, resident, appointment],
        )
        if row is None:
            raise NotFound("appointment", appointment)
        return _row(row)

    def appointments(
        self, site: str, resident: str, *, since_ms: int = 0, offset: int = 0,
        limit: int | None = 100,
    ) -> tuple[list[Appointment], int]:  # fmt: skip
        """The resident's appointments from ``since_ms`` on, soonest first, and how many."""
        rows, total = self._page(
            "appointments", _COLS, "site = ? AND resident = ? AND at_ms >= ?",
            [site, resident, since_ms], "at_ms, id", offset, limit,
        )  # fmt: skip
        return [_row(r) for r in rows], total

    def upcoming_appointments(
        self, sites: frozenset[str] | None, since_ms: int
    ) -> list[Appointment]:
        """Every appointment of ``sites`` (None: all) at or after ``since_ms`` (the alert
        service's reminders)."""
        where, args = self._scope("site", sites)
        rows, _ = self._page(
            "appointments", _COLS, f"{where} AND at_ms >= ?", [*args, since_ms], "at_ms, id",
            0, None,
        )  # fmt: skip
        return [_row(r) for r in rows]

    def cancel_appointment(self, site: str, resident: str, appointment: str) -> None:
        with self.tx() as db:
            n = db.execute(
                "DELETE FROM appointments WHERE site = ? AND resident = ? AND id = ?",
                (site, resident, appointment),
            ).rowcount
        if n == 0:
            raise NotFound("appointment", appointment)
