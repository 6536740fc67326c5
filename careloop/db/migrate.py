"""Versioned SQL migrations for PostgreSQL, applied at start-up by every store that opens.

Each component that keeps tables (``alerts``, ``people``, ``provision``, ...) ships numbered
files in its package, ``migrations/NNNN_what.sql``, and lives in a PostgreSQL schema
(several components may share one: provisioning's table sits beside the people tables, as
it does in the SQLite file). ``<schema>.schema_migrations`` records which files ran; the
missing ones run in order, each in its own transaction with its record, so a failure leaves
the database at the last whole version.

Several processes start at once (an alert service, the API, ingest): a session advisory lock
per schema lets one migrate while the others wait, then find nothing left to do. A database
migrated by newer code (a version this code does not know) is refused with a clear error,
never written by code that does not understand it. SQLite files keep their
``CREATE TABLE IF NOT EXISTS`` scripts and column upgrades (docs/database.md).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import zlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from careloop.db.postgres import PgConnection
from careloop.errors import CareloopError

#: First key of the advisory locks careloop takes (``pg_advisory_lock(key, schema)``).
LOCK_SPACE = 0x63_6C_70  # "clp"
_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(CareloopError):
    """The database cannot be brought to this code's schema (newer, or a file failed)."""


@dataclass(frozen=True, slots=True)
class Migrations:
    """Where a component's migration files are: ``<package>/migrations/*.sql``."""

    component: str
    package: str

    def files(self) -> list[tuple[int, str, Traversable]]:
        """``(version, name, file)`` in version order; numbering must have no gaps."""
        folder = resources.files(self.package) / "migrations"
        found = sorted(
            (int(m.group(1)), f.name, f)
            for f in folder.iterdir()
            if (m := _FILE.match(f.name)) is not None
        )
        if [v for v, _, _ in found] != list(range(1, len(found) + 1)):
            raise MigrationError(f"{self.component} migrations are not numbered 0001, 0002, ...")
        return found


def schema_key(schema: str) -> int:
    """The second advisory-lock key of ``schema`` (a signed 32-bit CRC of its name)."""
    crc = zlib.crc32(schema.encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


_KERNEL = """
CREATE SCHEMA IF NOT EXISTS {schema};
SET search_path TO {schema};
CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (component, version)
);
-- The change counter every write transaction bumps: Store.version() on PostgreSQL.
CREATE TABLE IF NOT EXISTS careloop_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL
);
INSERT INTO careloop_changes VALUES (1, 0) ON CONFLICT DO NOTHING;
"""


def migrate(db: PgConnection, migrations: Migrations, *, upto: int | None = None) -> int:
    """Bring ``migrations.component`` in ``db``'s schema to the newest version (or ``upto``,
    for tests of upgrades); returns how many files ran. Raises :class:`MigrationError`."""
    files = migrations.files()
    if upto is not None:
        files = files[:upto]
    schema = db.schema
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise MigrationError(f"bad schema name {schema!r}")
    db.script(f"SELECT pg_advisory_lock({LOCK_SPACE}, {schema_key(schema)})")
    try:
        db.script(_KERNEL.format(schema=schema))
        done = {
            int(v)
            for (v,) in db.execute(
                "SELECT version FROM schema_migrations WHERE component = ?",
                (migrations.component,),
            )
        }
        known = len(migrations.files())
        if done and max(done) > known:
            raise MigrationError(
                f"schema {schema!r} holds {migrations.component} version {max(done)}, newer "
                f"than this code's {known}: run the careloop version that migrated it, or "
                "newer (docs/database.md)"
            )
        ran = 0
        for version, name, file in files:
            if version in done:
                continue
            body = file.read_text(encoding="utf-8")
            try:
                db.script(f"BEGIN;\n{body}\n;")
                db.execute(
                    "INSERT INTO schema_migrations (component, version, name) VALUES (?, ?, ?)",
                    (migrations.component, version, name),
                )
                db.script("COMMIT")
            except Exception as exc:
                if db.in_transaction:
                    db.script("ROLLBACK")
                raise MigrationError(f"migration {schema}/{name} failed: {exc}") from exc
            ran += 1
        return ran
    finally:
        if not db.closed:
            with contextlib.suppress(sqlite3.Error):  # never hide the error being raised
                db.script(f"SELECT pg_advisory_unlock({LOCK_SPACE}, {schema_key(schema)})")
