"""The alert store's tables and rows: the SQL schema, and the records read back.

Kept apart from :mod:`alerts.store` (the queries) so the layout of the file can be read in
one place. ``needs_seen`` is keyed by site, need id, state and time: need ids are per
resident, and resident ids per site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, site TEXT NOT NULL, resident TEXT NOT NULL, kind TEXT NOT NULL,
    tier TEXT NOT NULL, state TEXT NOT NULL, need_id TEXT NOT NULL, opened_ms INTEGER NOT NULL,
    summary TEXT NOT NULL, score REAL NOT NULL, device TEXT, language TEXT,
    evidence INTEGER NOT NULL, step INTEGER NOT NULL, notified_ms INTEGER, accepted_ms INTEGER,
    resolved_ms INTEGER, closed_ms INTEGER, owner TEXT, handover_to TEXT,
    respond_due_ms INTEGER, resolve_due_ms INTEGER, respond_breached INTEGER NOT NULL,
    resolve_breached INTEGER NOT NULL, outcome TEXT, facts TEXT NOT NULL DEFAULT '[]',
    summary_key TEXT, summary_args TEXT
);
-- Dedup: one open alert per resident and need kind.
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open ON alerts (site, resident, kind)
    WHERE closed_ms IS NULL;
CREATE INDEX IF NOT EXISTS alerts_opened ON alerts (opened_ms);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, alert TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    actor TEXT NOT NULL, action TEXT NOT NULL, from_state TEXT, to_state TEXT,
    channel TEXT NOT NULL, reason TEXT, detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_alert ON audit (alert, id);
CREATE TABLE IF NOT EXISTS pages (
    alert TEXT NOT NULL, volunteer TEXT NOT NULL, site TEXT NOT NULL, step INTEGER NOT NULL,
    role TEXT NOT NULL, paged_ms INTEGER NOT NULL, answer TEXT,
    PRIMARY KEY (alert, volunteer)
);
CREATE INDEX IF NOT EXISTS pages_recent ON pages (site, paged_ms);
CREATE TABLE IF NOT EXISTS timers (
    alert TEXT NOT NULL, kind TEXT NOT NULL, due_ms INTEGER NOT NULL,
    PRIMARY KEY (alert, kind)
);
CREATE INDEX IF NOT EXISTS timers_due ON timers (due_ms);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, nid TEXT NOT NULL UNIQUE, alert TEXT NOT NULL,
    channel TEXT NOT NULL, target TEXT NOT NULL, payload BLOB NOT NULL,
    due_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending', created_ms INTEGER NOT NULL, sent_ms INTEGER,
    last_error TEXT, lease_until INTEGER, leased_by TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (channel, due_ms)
    WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS replies (
    nonce TEXT PRIMARY KEY, volunteer TEXT NOT NULL, alert TEXT NOT NULL,
    ts_ms INTEGER NOT NULL, outcome TEXT NOT NULL
);
"""
#: The roster copy earlier versions kept here as (id, site, body JSON) rows: people data has
#: one owner now, so an old file's copy is dropped when it is opened.
NEEDS_SEEN = """
-- Need ids are per resident, and resident ids per site: the site is part of the key.
CREATE TABLE IF NOT EXISTS needs_seen (
    site TEXT NOT NULL, need_id TEXT NOT NULL, state TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    PRIMARY KEY (site, need_id, state, ts_ms)
);
"""
OLD_ROSTER = ("volunteers", "residents", "rotations", "overrides")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification waiting in the outbox."""

    id: int
    nid: str
    alert: str
    channel: str
    target: str
    payload: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit log."""

    id: int
    alert: str
    ts_ms: int
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    channel: str
    reason: str | None
    detail: dict[str, Any]
