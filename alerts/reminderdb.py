"""Reminders said to residents' devices: their table in the alert store, and queries.

One row per thing said: a care-plan reminder (the scorer's ``care_plan_reminder`` need,
``source='care_plan'``, keyed by the need's id) or an appointment reminder
(``source='appointment'``, keyed ``<appointment>:day`` / ``<appointment>:hour``). The key is
unique, so a redelivered need or a second ticker round never says it twice. A care-plan
reminder ``waits`` for the resident's answer until ``due_ms``; the answer (words or the
event the plan names) makes it ``confirmed``; an appointment reminder is ``said``. Without
a device it is ``not_said``. Audit rows are keyed by the reminder's id like an alert's.
"""

from __future__ import annotations

from dataclasses import dataclass

from careloop.db import Connection

REMINDER_SCHEMA = """
CREATE TABLE IF NOT EXISTS reminders (
    id TEXT PRIMARY KEY, key TEXT NOT NULL, site TEXT NOT NULL, resident TEXT NOT NULL,
    source TEXT NOT NULL, event TEXT, device TEXT, said_ms INTEGER NOT NULL,
    due_ms INTEGER NOT NULL, state TEXT NOT NULL, closed_ms INTEGER,
    UNIQUE (site, key)
);
CREATE INDEX IF NOT EXISTS reminders_waiting ON reminders (site, resident)
    WHERE state = 'waiting';
"""


@dataclass(frozen=True, slots=True)
class Reminder:
    id: str
    key: str
    site: str
    resident: str
    source: str
    event: str | None
    device: str | None
    said_ms: int
    due_ms: int
    state: str
    closed_ms: int | None


_COLS = "id, key, site, resident, source, event, device, said_ms, due_ms, state, closed_ms"


def seen(db: Connection, site: str, key: str) -> bool:
    """Whether this reminder was already recorded (said or not)."""
    row = db.execute("SELECT 1 FROM reminders WHERE site = ? AND key = ?", (site, key))
    return row.fetchone() is not None


def add(db: Connection, r: Reminder) -> None:
    db.execute(
        f"INSERT INTO reminders ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (r.id, r.key, r.site, r.resident, r.source, r.event, r.device, r.said_ms, r.due_ms,
         r.state, r.closed_ms),
    )  # fmt: skip


def waiting(db: Connection, site: str, resident: str, now_ms: int) -> list[Reminder]:
    """Care-plan reminders of the resident still waiting for an answer, newest first."""
    rows = db.execute(
        f"SELECT {_COLS} FROM reminders WHERE site = ? AND resident = ? AND state = 'waiting' "
        "AND due_ms > ? ORDER BY said_ms DESC",
        (site, resident, now_ms),
    )
    return [Reminder(*r) for r in rows]


def close(db: Connection, reminder_id: str, state: str, now_ms: int) -> None:
    db.execute(
        "UPDATE reminders SET state = ?, closed_ms = ? WHERE id = ?", (state, now_ms, reminder_id)
    )


def by_key(db: Connection, site: str, key: str) -> Reminder | None:
    row = db.execute(f"SELECT {_COLS} FROM reminders WHERE site = ? AND key = ?", (site, key))
    got = row.fetchone()
    return Reminder(*got) if got else None


def of_resident(db: Connection, site: str, resident: str) -> list[Reminder]:
    rows = db.execute(
        f"SELECT {_COLS} FROM reminders WHERE site = ? AND resident = ? ORDER BY said_ms",
        (site, resident),
    )
    return [Reminder(*r) for r in rows]


def erase_resident(db: Connection, site: str, resident: str) -> dict[str, int]:
    """Erasure: the resident's reminders with their audit rows and queued commands."""
    ids = [r.id for r in of_resident(db, site, resident)]
    return _delete(db, ids)


def purge(db: Connection, site: str, cutoff_ms: int) -> dict[str, int]:
    """Retention: reminders said before the site's cutoff, with their audit and commands."""
    rows = db.execute("SELECT id FROM reminders WHERE site = ? AND said_ms < ?", (site, cutoff_ms))
    return _delete(db, [r[0] for r in rows])


def _delete(db: Connection, ids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for table, column in (("audit", "alert"), ("deliveries", "alert"), ("reminders", "id")):
        n = 0
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            n += db.execute(
                f"DELETE FROM {table} WHERE {column} IN ({','.join('?' * len(chunk))})", chunk
            ).rowcount
        if n:
            out[f"reminder_{table}" if table != "reminders" else table] = n
    return out
