"""Tickets, praise and satisfaction ratings: their tables in the alert store, and queries.

A ticket *is* an alert (kind ``request`` or ``complaint``: tiers, deadlines, ownership,
escalation and audit are the alert machinery's); ``tickets`` only adds who raised it and how
(voice, family, volunteer, coordinator), the reporter's note and the owner's resolution note.
A voice ticket has no row here: its source is the scorer. ``praise`` credits a volunteer or
a team. ``rating_asks`` are satisfaction questions waiting for the resident's device to
answer; ``ratings`` the answers, one per alert and rater (the resident, or each family
member's token); ``rating_links`` one-time links for families (the random link is stored
only as its SHA-256 hash). Words are stored with a rating only under the resident's text
consent; logs never carry them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from careloop.db import Connection, upsert

TICKET_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    alert TEXT PRIMARY KEY, source TEXT NOT NULL, reporter TEXT, created_ms INTEGER NOT NULL,
    note TEXT, resolution TEXT
);
CREATE TABLE IF NOT EXISTS praise (
    id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, resident TEXT NOT NULL,
    volunteer TEXT, team TEXT, source TEXT NOT NULL, reporter TEXT, ts_ms INTEGER NOT NULL,
    credited_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS praise_volunteer ON praise (volunteer);
CREATE TABLE IF NOT EXISTS rating_asks (
    alert TEXT PRIMARY KEY, site TEXT NOT NULL, resident TEXT NOT NULL, device TEXT NOT NULL,
    asked_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL, attempts INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rating_asks_open ON rating_asks (site, resident) WHERE state = 'asking';
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, alert TEXT NOT NULL, site TEXT NOT NULL,
    resident TEXT NOT NULL, kind TEXT NOT NULL, tier TEXT NOT NULL, volunteer TEXT,
    rater_role TEXT NOT NULL, rater TEXT NOT NULL, score INTEGER, words TEXT,
    via TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    UNIQUE (alert, rater_role, rater)
);
CREATE INDEX IF NOT EXISTS ratings_ts ON ratings (site, ts_ms);
CREATE TABLE IF NOT EXISTS rating_links (
    hash TEXT PRIMARY KEY, alert TEXT NOT NULL, issued_by TEXT NOT NULL,
    issued_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, used_ms INTEGER
);
"""

_ASK_UPSERT = upsert(
    "rating_asks", "alert, site, resident, device, asked_ms, due_ms, attempts, state", "alert"
)

#: Ticket kinds (alerts that are tickets) and every kind the ticket API takes.
TICKET_KINDS = ("request", "complaint")


@dataclass(frozen=True, slots=True)
class TicketInfo:
    """The ticket part of an alert (None fields for a voice ticket)."""

    source: str
    reporter: str | None
    note: str | None
    resolution: str | None


@dataclass(frozen=True, slots=True)
class RatingAsk:
    """A satisfaction question waiting for the resident's device to answer."""

    alert: str
    site: str
    resident: str
    device: str
    asked_ms: int
    due_ms: int
    attempts: int
    state: str


def link_hash(link: str) -> str:
    """The stored form of a one-time rating link (SHA-256 hex; links are random)."""
    return hashlib.sha256(link.encode()).hexdigest()


def add_ticket(
    db: Connection, alert: str, source: str, reporter: str | None, now_ms: int,
    note: str | None,
) -> None:  # fmt: skip
    """The ticket row of a new alert; a report merged into an open ticket keeps the first."""
    db.execute(
        "INSERT INTO tickets (alert, source, reporter, created_ms, note) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (alert, source, reporter, now_ms, note),
    )


def set_resolution(db: Connection, alert: str, note: str) -> None:
    """The owner's note when resolving (what was done; the report back)."""
    cur = db.execute("UPDATE tickets SET resolution = ? WHERE alert = ?", (note, alert))
    if cur.rowcount == 0:  # a voice ticket: its row starts with the resolution
        db.execute(
            "INSERT INTO tickets (alert, source, created_ms, resolution) "
            "SELECT id, 'voice', opened_ms, ? FROM alerts WHERE id = ?",
            (note, alert),
        )


def ticket_info(db: Connection, alert: str) -> TicketInfo:
    row = db.execute(
        "SELECT source, reporter, note, resolution FROM tickets WHERE alert = ?", (alert,)
    ).fetchone()
    return TicketInfo("voice", None, None, None) if row is None else TicketInfo(*row)


def add_praise(
    db: Connection, *, site: str, resident: str, volunteer: str | None,
    team: str | None, source: str, reporter: str | None, now_ms: int, credited_by: str,
) -> int:  # fmt: skip
    """Record one thanks; returns its id. ``credited_by``: ``named`` or ``last_helper``."""
    cur = db.execute(
        "INSERT INTO praise (site, resident, volunteer, team, source, reporter, ts_ms, "
        "credited_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (site, resident, volunteer, team, source, reporter, now_ms, credited_by),
    )
    return int(cur.fetchone()[0])


def praise_counts(db: Connection, volunteer: str) -> dict[str, Any]:
    """How often ``volunteer`` was thanked: in all, and by how the credit was decided."""
    rows = db.execute(
        "SELECT credited_by, count(*), max(ts_ms) FROM praise WHERE volunteer = ? "
        "GROUP BY credited_by",
        (volunteer,),
    ).fetchall()
    by = {c: int(n) for c, n, _ in rows}
    last = max((int(t) for _, _, t in rows), default=None)
    return {"volunteer": volunteer, "praise": sum(by.values()), "by": by, "last_ms": last}


def praise_of(db: Connection, volunteer: str, limit: int = 20) -> list[dict[str, Any]]:
    """The latest thanks credited to ``volunteer``, newest first: when, whose (site and
    resident: the caller decides whether the reader may see who), how it came (``source``:
    voice, family, volunteer, coordinator) and how it was credited."""
    rows = db.execute(
        "SELECT id, site, resident, source, credited_by, ts_ms FROM praise WHERE volunteer = ? "
        "ORDER BY ts_ms DESC, id DESC LIMIT ?",
        (volunteer, limit),
    ).fetchall()
    keys = ("id", "site", "resident", "source", "credited_by", "ts_ms")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def last_helper(db: Connection, site: str, resident: str) -> str | None:
    """The volunteer who most recently owned an alert of ``resident`` (accepted it)."""
    row = db.execute(
        "SELECT owner FROM alerts WHERE site = ? AND resident = ? AND owner IS NOT NULL "
        "AND kind != 'praise' ORDER BY coalesce(accepted_ms, opened_ms) DESC LIMIT 1",
        (site, resident),
    ).fetchone()
    return None if row is None else str(row[0])


# -- satisfaction questions ---------------------------------------------------------------------
def open_ask(
    db: Connection, alert: str, site: str, resident: str, device: str, now_ms: int,
    due_ms: int,
) -> None:  # fmt: skip
    """A question asked; an older question of the resident still waiting lapses (no answer):
    an answer belongs to the latest question."""
    db.execute(
        "UPDATE rating_asks SET state = 'superseded' WHERE site = ? AND resident = ? "
        "AND state = 'asking'",
        (site, resident),
    )
    db.execute(
        _ASK_UPSERT,
        (alert, site, resident, device, now_ms, due_ms, 1, "asking"),
    )


def waiting_ask(db: Connection, site: str, resident: str, now_ms: int) -> RatingAsk | None:
    row = db.execute(
        "SELECT * FROM rating_asks WHERE site = ? AND resident = ? AND state = 'asking' "
        "AND due_ms > ? ORDER BY asked_ms DESC LIMIT 1",
        (site, resident, now_ms),
    ).fetchone()
    return None if row is None else RatingAsk(*row)


def due_asks(db: Connection, now_ms: int) -> list[RatingAsk]:
    rows = db.execute(
        "SELECT * FROM rating_asks WHERE state = 'asking' AND due_ms <= ? LIMIT 200", (now_ms,)
    ).fetchall()
    return [RatingAsk(*r) for r in rows]


def claim_due_ask(db: Connection, alert: str, now_ms: int) -> bool:
    """Take a question whose time ran out: True if it was still waiting (this transaction
    records it as unanswered), False if it was answered or taken elsewhere meanwhile."""
    cur = db.execute(
        "UPDATE rating_asks SET state = 'no_answer' WHERE alert = ? AND state = 'asking' "
        "AND due_ms <= ?",
        (alert, now_ms),
    )
    return cur.rowcount == 1


def update_ask(
    db: Connection, alert: str, *, state: str, attempts: int | None = None,
    due_ms: int | None = None,
) -> None:  # fmt: skip
    db.execute(
        "UPDATE rating_asks SET state = ?, attempts = coalesce(?, attempts), "
        "due_ms = coalesce(?, due_ms) WHERE alert = ?",
        (state, attempts, due_ms, alert),
    )


def add_rating(
    db: Connection, *, alert: str, site: str, resident: str, kind: str, tier: str,
    volunteer: str | None, rater_role: str, rater: str, score: int | None, words: str | None,
    via: str, now_ms: int,
) -> bool:  # fmt: skip
    """Store one answer; False if this rater already answered about this alert."""
    cur = db.execute(
        "INSERT INTO ratings (alert, site, resident, kind, tier, volunteer, rater_role, rater, "
        "score, words, via, ts_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (alert, site, resident, kind, tier, volunteer, rater_role, rater, score, words, via,
         now_ms),
    )  # fmt: skip
    return cur.rowcount == 1


def ratings_of(db: Connection, alert: str) -> list[dict[str, Any]]:
    """Every answer about one alert (no words: those stay in the store for staff review)."""
    rows = db.execute(
        "SELECT rater_role, score, via, ts_ms FROM ratings WHERE alert = ? ORDER BY id", (alert,)
    ).fetchall()
    return [{"rater": r, "score": s, "via": v, "ts_ms": t} for r, s, v, t in rows]


# -- one-time links for families ------------------------------------------------------------------
def add_link(
    db: Connection, link: str, alert: str, issued_by: str, now_ms: int, expires_ms: int
) -> None:
    db.execute(
        "INSERT INTO rating_links VALUES (?, ?, ?, ?, ?, NULL)",
        (link_hash(link), alert, issued_by, now_ms, expires_ms),
    )


def use_link(db: Connection, link: str, now_ms: int) -> tuple[str | None, str]:
    """Spend a link: ``(alert, "ok")``, or ``(None | alert, why not)`` with why among
    ``unknown``, ``expired``, ``used``."""
    row = db.execute(
        "SELECT alert, expires_ms, used_ms FROM rating_links WHERE hash = ?", (link_hash(link),)
    ).fetchone()
    if row is None:
        return None, "unknown"
    alert, expires, used = row
    if used is not None:
        return alert, "used"
    if expires <= now_ms:
        return alert, "expired"
    db.execute("UPDATE rating_links SET used_ms = ? WHERE hash = ?", (now_ms, link_hash(link)))
    return alert, "ok"


def erase_resident(db: Connection, site: str, resident: str) -> dict[str, int]:
    """Erasure: the resident's praise, questions and ratings (tickets go with their alerts)."""
    out: dict[str, int] = {}
    for table in ("praise", "rating_asks", "ratings"):
        n = db.execute(
            f"DELETE FROM {table} WHERE site = ? AND resident = ?", (site, resident)
        ).rowcount
        if n:  # a receipt names the tables something was erased from
            out[table] = out.get(table, 0) + n
    return out
