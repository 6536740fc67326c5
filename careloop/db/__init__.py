"""The relational backends behind :class:`careloop.store.Store`: SQLite files or PostgreSQL.

Every store speaks one SQL dialect, written to run on both: ``?`` parameters, ``INSERT ...
ON CONFLICT``, ``RETURNING id``, ``1 = 1`` rather than a bare ``1``. SQLite (the default,
embedded, no server) runs it as is; on PostgreSQL :class:`~careloop.db.postgres.PgConnection`
turns ``?`` into ``%s``, booleans into the integers the schema stores, and PostgreSQL's
errors into the DB-API classes of :mod:`sqlite3` the stores already catch, so a store is
written once. Schemas: SQLite keeps ``CREATE TABLE IF NOT EXISTS`` scripts; PostgreSQL gets
versioned SQL files applied at start-up (:mod:`careloop.db.migrate`). docs/database.md.

::

    Connection, Cursor   the part of a DB-API connection the stores use (both backends)
    is_postgres, redact  which backend a URL names; the URL without its password
    check_url            the ``database_url`` setting's rules (TLS off the machine)
    upsert               SQLite's INSERT OR REPLACE, written for both backends
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from careloop.tls import is_loopback

#: The URL schemes that select PostgreSQL (libpq's spellings).
SCHEMES = ("postgresql", "postgres")


class Cursor(Protocol):
    """What a store reads back from one statement (``sqlite3.Cursor`` or ours)."""

    @property
    def rowcount(self) -> int: ...

    @property
    def lastrowid(self) -> int | None: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of a DB-API connection the stores use: ``sqlite3.Connection`` has it, and so
    has :class:`~careloop.db.postgres.PgConnection`."""

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    @property
    def total_changes(self) -> int: ...

    def close(self) -> None: ...


def is_postgres(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL server ("" = SQLite files, the default)."""
    return url.split(":", 1)[0].lower() in SCHEMES


def redact(url: str) -> str:
    """``url`` without its password, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def upsert(table: str, columns: str, key: str) -> str:
    """``INSERT INTO table (columns) VALUES (?, ...)`` that replaces the row whose ``key``
    (its primary key columns, comma-separated) is taken: SQLite's ``INSERT OR REPLACE``
    written so PostgreSQL runs it too. ``columns`` must name every column."""
    names = [c.strip() for c in columns.split(",")]
    keys = {k.strip() for k in key.split(",")}
    marks = ", ".join("?" for _ in names)
    sets = ", ".join(f"{c} = excluded.{c}" for c in names if c not in keys)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {sets}"
    )


def check_url(url: str) -> str:
    """``url`` if it may be used: "" (SQLite) or ``postgresql://`` whose traffic stays on
    this machine (loopback or a unix socket) or is encrypted and verified
    (``sslmode=verify-full``); raises ValueError saying what to change."""
    if not url:
        return url
    if not is_postgres(url):
        raise ValueError("must be empty (SQLite files) or a postgresql:// URL")
    parts = urlsplit(url)
    host = parts.hostname or ""
    query = dict(p.partition("=")[::2] for p in parts.query.split("&") if p)
    host = host or query.get("host", "")
    local = not host or host.startswith("/") or is_loopback(host)
    if not local and query.get("sslmode") != "verify-full":
        raise ValueError(
            "plaintext or unverified PostgreSQL is allowed only to a loopback host: "
            "add ?sslmode=verify-full (and sslrootcert=...) (docs/database.md)"
        )
    return url
