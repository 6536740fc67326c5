"""The alert store: one SQLite file (WAL) holding everything that must survive ``kill -9``.

Tables: ``alerts``, ``audit`` (every transition: who, when, why, via which channel),
``pages`` (who was notified of what, and their answer), ``timers`` (deadlines as rows),
``deliveries`` (the outbox of notifications on every channel), ``needs_seen`` and
``replies`` (idempotence of redelivered needs and replayed replies). Who can be paged is
not here: the roster is people data, read from :mod:`people` (older files' copies of it are
dropped when opened).

One state change is one transaction (:meth:`AlertStore.tx`): the alert row, its audit row,
its timers and the notifications it causes commit together or not at all. That is the
durability argument of docs/alerts.md: after a crash a timer either still exists (and fires
once after the restart) or its transition and notifications are already committed.

The store is used from the service's event loop thread only (calls are short).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from alerts import reminderdb
from alerts.claims import Channel, Claims
from alerts.clock import wall_ms
from alerts.errors import StoreError
from alerts.history import _ALERT_COLUMNS, AlertHistory
from alerts.model import Alert
from alerts.reminderdb import REMINDER_SCHEMA
from alerts.schema import NEEDS_SEEN, OLD_ROSTER, SCHEMA, AuditEntry
from alerts.ticketdb import TICKET_SCHEMA
from alerts.ticketdb import erase_resident as erase_ticket_data
from careloop.db import Connection
from careloop.db.migrate import Migrations
from careloop.store import Store


def new_id(prefix: str) -> str:
    """A random id, e.g. ``a-3f9c0d2e11aa`` (no ordering or content leaks)."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


class AlertStore(AlertHistory, Claims, Store):
    """The SQLite store; ``synchronous='full'`` also survives power loss, ``'normal'`` a
    process crash (WAL). Used from the service's event-loop thread; ``tx()`` nests."""

    error = StoreError
    label = "alert store"
    #: (replica name, lease ms) of the alert service sending this store's MQTT rows; None
    #: where nothing in this process sends (the API's actions).
    lease_to: tuple[str, int] | None = None
    pg_schema = "alerts"
    migrations = Migrations("alerts", "alerts")

    def __init__(
        self, path: Path, *, url: str = "", synchronous: Literal["full", "normal"] = "full"
    ) -> None:
        super().__init__(
            path,
            SCHEMA + NEEDS_SEEN + TICKET_SCHEMA + REMINDER_SCHEMA,
            url=url,
            synchronous=synchronous,
        )
        if self.dialect == "sqlite":
            self._upgrade_file()

    def _upgrade_file(self) -> None:
        """Bring a SQLite file written by an older version to today's tables (PostgreSQL
        has versioned migrations instead: alerts/migrations)."""
        with self.tx() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(alerts)")}
            if "facts" not in columns:  # a store written before alerts kept their evidence
                db.execute("ALTER TABLE alerts ADD COLUMN facts TEXT NOT NULL DEFAULT '[]'")
            if "summary_key" not in columns:  # written before summaries were catalog text
                db.execute("ALTER TABLE alerts ADD COLUMN summary_key TEXT")
                db.execute("ALTER TABLE alerts ADD COLUMN summary_args TEXT")
            shape = {row[1] for row in db.execute("PRAGMA table_info(deliveries)")}
            if "lease_until" not in shape:  # written before outbox rows were leased
                db.execute("ALTER TABLE deliveries ADD COLUMN lease_until INTEGER")
                db.execute("ALTER TABLE deliveries ADD COLUMN leased_by TEXT")
            seen = {row[1] for row in db.execute("PRAGMA table_info(needs_seen)")}
            if "site" not in seen:  # keyed without the site before: an idempotence log only
                db.execute("DROP TABLE needs_seen")
                db.execute(NEEDS_SEEN)
            for table in OLD_ROSTER:
                shape = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if "body" in shape or shape == {
                    "id",
                    "rotation",
                    "volunteer",
                    "start_ms",
                    "end_ms",
                }:
                    db.execute(f"DROP TABLE {table}")

    @property
    def db(self) -> Connection:
        """The connection, for the short single-threaded statements below (errors become
        :class:`StoreError` outside a transaction too)."""
        return self.connection

    # -- alerts -------------------------------------------------------------------------------
    def get(self, alert_id: str) -> Alert | None:
        cols = ", ".join(_ALERT_COLUMNS)
        row = self.db.execute(f"SELECT {cols} FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return self._alert(row)

    def open_alert(self, site: str, resident: str, kind: str) -> Alert | None:
        """The open alert for this resident and kind (dedup key), if any."""
        cols = ", ".join(_ALERT_COLUMNS)
        row = self.db.execute(
            f"SELECT {cols} FROM alerts WHERE site = ? AND resident = ? AND kind = ? "
            "AND closed_ms IS NULL",
            (site, resident, kind),
        ).fetchone()
        return self._alert(row)

    def alerts(self, *, open_only: bool = False, limit: int = 1000) -> list[Alert]:
        cols = ", ".join(_ALERT_COLUMNS)
        where = "WHERE closed_ms IS NULL" if open_only else ""
        rows = self.db.execute(
            f"SELECT {cols} FROM alerts {where} ORDER BY opened_ms DESC LIMIT ?", (limit,)
        ).fetchall()
        return [a for a in map(self._alert, rows) if a is not None]

    def save(self, alert: Alert, *, new: bool = False) -> None:
        values = [
            int(v) if isinstance(v, bool) else v
            for v in (getattr(alert, c) for c in _ALERT_COLUMNS)
        ]
        if new:
            marks = ", ".join("?" for _ in _ALERT_COLUMNS)
            self.db.execute(f"INSERT INTO alerts VALUES ({marks})", values)
        else:
            sets = ", ".join(f"{c} = ?" for c in _ALERT_COLUMNS[1:])
            self.db.execute(f"UPDATE alerts SET {sets} WHERE id = ?", [*values[1:], values[0]])

    def open_counts(self) -> dict[tuple[str, str], int]:
        """Open alerts per (site, tier)."""
        rows = self.db.execute(
            "SELECT site, tier, count(*) FROM alerts WHERE closed_ms IS NULL GROUP BY site, tier"
        ).fetchall()
        return {(s, t): int(n) for s, t, n in rows}

    # -- audit --------------------------------------------------------------------------------
    def audit(
        self,
        alert: str,
        ts_ms: int,
        actor: str,
        action: str,
        *,
        channel: str,
        from_state: str | None = None,
        to_state: str | None = None,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        body = json.dumps(detail or {}, separators=(",", ":"), sort_keys=True)
        cur = self.db.execute(
            "INSERT INTO audit (alert, ts_ms, actor, action, from_state, to_state, channel, "
            "reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (alert, ts_ms, actor, action, from_state, to_state, channel, reason, body),
        )
        return AuditEntry(
            int(cur.fetchone()[0]), alert, ts_ms, actor, action, from_state, to_state,
            channel, reason, detail or {},
        )  # fmt: skip

    def audit_log(self, alert: str | None = None, *, after_id: int = 0) -> list[AuditEntry]:
        sql = "SELECT * FROM audit WHERE id > ?"
        args: list[Any] = [after_id]
        if alert is not None:
            sql += " AND alert = ?"
            args.append(alert)
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        return [_entry(r) for r in rows]

    def last_audit_id(self) -> int:
        row = self.db.execute("SELECT max(id) FROM audit").fetchone()
        return int(row[0] or 0)

    def audit_rows(self, ids: list[int]) -> list[AuditEntry]:
        """The audit rows of these ids that exist (an events feed filling a gap)."""
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT * FROM audit WHERE id IN ({marks}) ORDER BY id", ids)
        return [_entry(r) for r in rows.fetchall()]

    def tiers(self, alerts: set[str]) -> dict[str, str]:
        """alert -> tier, for those that exist."""
        if not alerts:
            return {}
        ids = sorted(alerts)
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT id, tier FROM alerts WHERE id IN ({marks})", ids)
        return {a: t for a, t in rows.fetchall()}

    # -- pages --------------------------------------------------------------------------------
    def add_page(self, alert: Alert, volunteer: str, step: int, role: str, now_ms: int) -> None:
        self.db.execute(
            "INSERT INTO pages (alert, volunteer, site, step, role, paged_ms) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (alert, volunteer) DO UPDATE SET "
            "step = excluded.step, role = excluded.role, paged_ms = excluded.paged_ms",
            (alert.id, volunteer, alert.site, step, role, now_ms),
        )

    def pages(self, alert: str) -> dict[str, tuple[int, str, str | None]]:
        """volunteer -> (step, role, answer) for everyone paged about ``alert``."""
        rows = self.db.execute(
            "SELECT volunteer, step, role, answer FROM pages WHERE alert = ?", (alert,)
        ).fetchall()
        return {v: (s, r, a) for v, s, r, a in rows}

    def set_answer(self, alert: str, volunteer: str, answer: str) -> None:
        self.db.execute(
            "UPDATE pages SET answer = ? WHERE alert = ? AND volunteer = ?",
            (answer, alert, volunteer),
        )

    def load(self, site: str, since_ms: int) -> tuple[dict[str, int], dict[str, int]]:
        """Per volunteer at ``site``: pages since ``since_ms``, and the time of their last page."""
        rows = self.db.execute(
            "SELECT volunteer, count(*), max(paged_ms) FROM pages WHERE site = ? "
            "AND paged_ms >= ? GROUP BY volunteer",
            (site, since_ms),
        ).fetchall()
        last = self.db.execute(
            "SELECT volunteer, max(paged_ms) FROM pages WHERE site = ? GROUP BY volunteer",
            (site,),
        ).fetchall()
        return {v: int(n) for v, n, _ in rows}, {v: int(t) for v, t in last}

    def owned(self, site: str) -> dict[str, int]:
        """Open alerts owned per volunteer at ``site``."""
        rows = self.db.execute(
            "SELECT owner, count(*) FROM alerts WHERE site = ? AND closed_ms IS NULL "
            "AND owner IS NOT NULL GROUP BY owner",
            (site,),
        ).fetchall()
        return {v: int(n) for v, n in rows}

    # -- timers -------------------------------------------------------------------------------
    def set_timer(self, alert: str, kind: str, due_ms: int) -> None:
        self.db.execute(
            "INSERT INTO timers VALUES (?, ?, ?) ON CONFLICT (alert, kind) "
            "DO UPDATE SET due_ms = excluded.due_ms",
            (alert, kind, due_ms),
        )

    def clear_timer(self, alert: str, kind: str) -> None:
        self.db.execute("DELETE FROM timers WHERE alert = ? AND kind = ?", (alert, kind))

    def clear_timers(self, alert: str) -> None:
        self.db.execute("DELETE FROM timers WHERE alert = ?", (alert,))

    def timers(self, alert: str) -> dict[str, int]:
        rows = self.db.execute("SELECT kind, due_ms FROM timers WHERE alert = ?", (alert,))
        return {k: int(d) for k, d in rows.fetchall()}

    def due_timers(self, now_ms: int, limit: int = 500) -> list[tuple[str, str, int]]:
        """``(alert, kind, due_ms)`` of timers due by ``now_ms``, earliest first."""
        rows = self.db.execute(
            "SELECT alert, kind, due_ms FROM timers WHERE due_ms <= ? ORDER BY due_ms LIMIT ?",
            (now_ms, limit),
        ).fetchall()
        return [(a, k, int(d)) for a, k, d in rows]

    def next_due(self) -> int | None:
        row = self.db.execute("SELECT min(due_ms) FROM timers").fetchone()
        return None if row[0] is None else int(row[0])

    # -- deliveries (the outbox) ------------------------------------------------------------
    def enqueue(
        self, alert: str, channel: Channel, target: str, payload: bytes, nid: str, now_ms: int
    ) -> None:
        """Queue a notification. An MQTT row is born leased to this store's sender
        (:attr:`lease_to`), so publishing it costs no second transaction."""
        owner, until = None, None
        if channel == "mqtt" and self.lease_to is not None:
            owner, until = self.lease_to[0], wall_ms() + self.lease_to[1]
        self.db.execute(
            "INSERT INTO deliveries (nid, alert, channel, target, payload, due_ms, created_ms, "
            "leased_by, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (nid, alert, channel, target, payload, now_ms, now_ms, owner, until),
        )

    def deliveries(self, alert: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, nid, alert, channel, target, state, attempts, last_error FROM deliveries"
        rows = self.db.execute(
            sql + (" WHERE alert = ?" if alert else "") + " ORDER BY id",
            (alert,) if alert else (),
        ).fetchall()
        keys = ("id", "nid", "alert", "channel", "target", "state", "attempts", "last_error")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def erase_resident(self, site: str, resident: str) -> dict[str, int]:
        """Delete a resident's alerts and everything about them here; rows per table.

        Alerts with their audit, pages, timers, deliveries and replies, and the record of
        the resident's need messages (need ids start with the resident id; the site is part
        of the key, so a same-id person at another site keeps theirs).
        """
        out: dict[str, int] = {}
        with self.tx() as db:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM alerts WHERE site = ? AND resident = ?", (site, resident)
                )
            ]
            out.update(_delete_alerts(db, ids))
            out["needs_seen"] = db.execute(
                "DELETE FROM needs_seen WHERE site = ? AND substr(need_id, 1, ?) = ?",
                (site, len(resident) + 1, f"{resident}:"),
            ).rowcount
            erased = erase_ticket_data(db, site, resident)  # praise, ratings
            erased.update(reminderdb.erase_resident(db, site, resident))
            for table, n in erased.items():
                out[table] = out.get(table, 0) + n
        return out

    def purge(self, cutoffs: Mapping[str, int]) -> dict[str, int]:
        """Apply retention: per site, alerts closed before its cutoff with everything keyed
        by them, and the needs seen before it; rows per table. Open alerts stay."""
        out: dict[str, int] = {}
        with self.tx() as db:
            for site, cutoff in cutoffs.items():
                ids = [
                    r[0]
                    for r in db.execute(
                        "SELECT id FROM alerts WHERE site = ? AND closed_ms < ?", (site, cutoff)
                    )
                ]
                removed = _delete_alerts(db, ids)
                removed["needs_seen"] = db.execute(
                    "DELETE FROM needs_seen WHERE site = ? AND ts_ms < ?", (site, cutoff)
                ).rowcount
                removed.update(reminderdb.purge(db, site, cutoff))
                for table, n in removed.items():
                    out[table] = out.get(table, 0) + n
        return out


def _entry(r: tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], json.loads(r[9] or "{}")
    )


def _delete_alerts(db: Connection, ids: list[str]) -> dict[str, int]:
    """Delete alerts ``ids`` and every row keyed by them; rows per table."""
    out: dict[str, int] = {}
    if not ids:  # ``IN ()`` is SQLite's only
        return {t: 0 for t in ("audit", "pages", "timers", "deliveries", "replies", "alerts")}
    marks = ",".join("?" * len(ids))
    for table in ("audit", "pages", "timers", "deliveries", "replies"):
        out[table] = db.execute(f"DELETE FROM {table} WHERE alert IN ({marks})", ids).rowcount
    for table in ("tickets", "rating_asks", "ratings", "rating_links"):  # named when used
        if n := db.execute(f"DELETE FROM {table} WHERE alert IN ({marks})", ids).rowcount:
            out[table] = n
    out["alerts"] = db.execute(f"DELETE FROM alerts WHERE id IN ({marks})", ids).rowcount
    return out
