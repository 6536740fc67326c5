"""The people database's file, schema and the plumbing every part of :class:`Directory`
shares (paging, site scoping), on the kernel's :class:`~careloop.store.Store`.

One SQLite file (WAL) holds sites, residents, consents, volunteers, on-call plans, the device
registry, API tokens and the audit of reads, so a deployment has one relational database to
back up and erase from. Readers that cache (the alert service's roster, the scorer's care
profiles, ingest's device table) compare :meth:`~careloop.store.Store.version` to
notice changes made by any process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from careloop.db import Connection
from careloop.db.migrate import Migrations
from careloop.store import Store, Synchronous
from people.errors import NotFound, PeopleError

SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, timezone TEXT NOT NULL,
    retention_days INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS residents (
    site TEXT NOT NULL, id TEXT NOT NULL, display_name TEXT NOT NULL, language TEXT NOT NULL,
    profile TEXT NOT NULL, created_at INTEGER NOT NULL, location TEXT,
    PRIMARY KEY (site, id)
);
CREATE TABLE IF NOT EXISTS consents (
    site TEXT NOT NULL, resident TEXT NOT NULL, store_utterance_text INTEGER NOT NULL,
    share_with_volunteers INTEGER NOT NULL, share_vitals_with_volunteers INTEGER NOT NULL,
    updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL,
    share_reports_with_family INTEGER NOT NULL DEFAULT 0,
    share_vitals_with_family INTEGER NOT NULL DEFAULT 0,
    notify_family INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (site, resident)
);
CREATE TABLE IF NOT EXISTS volunteers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, sites TEXT NOT NULL, email TEXT, phone TEXT,
    skills TEXT NOT NULL, languages TEXT NOT NULL, channels TEXT NOT NULL,
    coordinator INTEGER NOT NULL, active INTEGER NOT NULL, location TEXT,
    assigned TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS rotations (
    site TEXT NOT NULL, name TEXT PRIMARY KEY, members TEXT NOT NULL, start_ms INTEGER NOT NULL,
    shift_ms INTEGER NOT NULL, timezone TEXT NOT NULL, hours TEXT
);
CREATE TABLE IF NOT EXISTS rotation_overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, rotation TEXT NOT NULL,
    volunteer TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    device TEXT PRIMARY KEY, site TEXT NOT NULL, resident TEXT NOT NULL, kind TEXT,
    registered_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_resident ON devices (site, resident);
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL, subject TEXT NOT NULL,
    sites TEXT, created_at INTEGER NOT NULL, revoked_at INTEGER, note TEXT NOT NULL,
    expires_at INTEGER
);
CREATE TABLE IF NOT EXISTS audit_reads (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, subject TEXT NOT NULL,
    role TEXT NOT NULL, action TEXT NOT NULL, site TEXT NOT NULL, resident TEXT,
    route TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_reads_resident ON audit_reads (site, resident);
"""

#: PostgreSQL: every table of the people database (people/migrations/*.sql).
MIGRATIONS = Migrations("people", "people")

#: SQLite: columns added after a table first shipped: (table, column, declaration).
COLUMNS_ADDED = (
    ("residents", "location", "TEXT"),
    ("volunteers", "location", "TEXT"),
    ("volunteers", "assigned", "TEXT NOT NULL DEFAULT '[]'"),
    ("api_tokens", "expires_at", "INTEGER"),
    ("consents", "share_reports_with_family", "INTEGER NOT NULL DEFAULT 0"),
    ("consents", "share_vitals_with_family", "INTEGER NOT NULL DEFAULT 0"),
    ("consents", "notify_family", "INTEGER NOT NULL DEFAULT 0"),
)

#: Most rows one page of a list returns.
MAX_LIMIT = 500
#: ``LIMIT`` meaning none, on both backends (SQLite's -1 is an error on PostgreSQL).
_NO_LIMIT = (1 << 63) - 1


class DirectoryBase(Store):
    """The file, the clock and the helpers the record families build on."""

    error = PeopleError
    label: ClassVar[str] = "people database"
    pg_schema = "people"
    migrations = MIGRATIONS

    def __init__(
        self,
        path: Path,
        *,
        url: str = "",
        synchronous: Synchronous | None = "full",
        clock: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(path, SCHEMA, url=url, synchronous=synchronous, private=True)
        self._now = clock or (lambda: int(time.time() * 1000))
        if self.dialect != "sqlite":
            return  # PostgreSQL: people/migrations made every table and column
        with self.tx() as db:
            for table, column, declaration in COLUMNS_ADDED:
                have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def _page(
        self,
        table: str,
        cols: str,
        where: str,
        args: list[Any],
        order: str,
        offset: int,
        limit: int | None,
    ) -> tuple[list[tuple[Any, ...]], int]:
        """Rows ``offset..offset+limit`` and the total, read together; ``limit`` is capped at
        MAX_LIMIT, None = every row (internal readers such as the roster)."""
        bound = _NO_LIMIT if limit is None else max(0, min(limit, MAX_LIMIT))
        with self.reading() as db:
            total = int(
                db.execute(f"SELECT count(*) FROM {table} WHERE {where}", args).fetchone()[0]
            )
            rows = db.execute(
                f"SELECT {cols} FROM {table} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*args, bound, max(0, offset)],
            ).fetchall()
        return rows, total

    @staticmethod
    def _scope(column: str, sites: frozenset[str] | None) -> tuple[str, list[Any]]:
        """A WHERE clause limiting ``column`` to ``sites`` (None = every site)."""
        if sites is None:
            return "1 = 1", []
        if not sites:
            return "1 = 0", []
        return f"{column} IN ({','.join('?' * len(sites))})", sorted(sites)

    @staticmethod
    def _need_site(db: Connection, site: str) -> None:
        if not db.execute("SELECT 1 FROM sites WHERE id = ?", (site,)).fetchone():
            raise NotFound("site", site)
