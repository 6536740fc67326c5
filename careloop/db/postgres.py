"""PostgreSQL under the stores' SQL: one psycopg 3 connection that looks like ``sqlite3``'s.

The stores were written against ``sqlite3.Connection`` (``execute`` returning a cursor with
``fetchone``/``fetchall``/``rowcount``, ``executemany``, ``total_changes``) and catch the DB-API
exceptions of :mod:`sqlite3`. :class:`PgConnection` offers the same surface on a PostgreSQL
connection so each query is written once (docs/database.md):

* ``?`` parameters become ``%s`` (and a literal ``%`` becomes ``%%``), cached per statement;
* ``True``/``False`` become 1/0: the schema keeps SQLite's integer flags;
* every psycopg error becomes the :mod:`sqlite3` class of the same DB-API name, with the
  URL's password removed from its message;
* a connection the server dropped (a restart, a network cut) fails the call in progress and
  is opened again by the next one.

The connection is in autocommit mode; :class:`careloop.store.Store` brackets its write
transactions with ``BEGIN``/``COMMIT`` and bumps the schema's change counter in each.
psycopg is imported here only, so the SQLite default never loads it.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from careloop.db import redact

if TYPE_CHECKING:
    import psycopg

#: Seconds to wait for the server when (re)connecting.
CONNECT_TIMEOUT = 5
#: libpq TCP settings unless the URL sets its own: a server host that vanishes without
#: closing the connection (power cut, network partition) is noticed within about 10-20 s
#: (keepalive probes on an idle wait; unacknowledged sends given up after 10 s) instead of
#: the kernel's two hours, so a store call fails and is retried like a stopped server.
TCP_DEFAULTS: dict[str, str] = {
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "3",
    "tcp_user_timeout": "10000",
}


def conninfo(url: str) -> dict[str, Any]:
    """The connection parameters of ``url`` with :data:`TCP_DEFAULTS` for those it leaves
    unset, and the connect timeout."""
    from psycopg.conninfo import conninfo_to_dict

    params: dict[str, Any] = {**TCP_DEFAULTS, "connect_timeout": str(CONNECT_TIMEOUT)}
    params.update(conninfo_to_dict(url))
    return params


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``sql`` with ``?`` placeholders as ``%s``; quoted text and identifiers kept as they are
    (a ``?`` inside quotes is data), and ``%`` doubled everywhere so psycopg reads it as is."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append("%%" if ch == "%" else ch)
    return "".join(out)


def _param(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _params(values: Any) -> Sequence[Any]:
    return [_param(v) for v in values]


class PgCursor:
    """The rows of one statement, read at once (every store reads its results whole)."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount

    @property
    def lastrowid(self) -> int | None:
        """Not kept by PostgreSQL: statements that need the new id say ``RETURNING id``."""
        raise sqlite3.NotSupportedError("lastrowid on PostgreSQL: use INSERT ... RETURNING id")

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._next = self._rows[self._next :], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


class PgConnection:
    """A psycopg connection with ``sqlite3.Connection``'s surface (see module doc).

    ``schema`` is the store's schema (``alerts``, ``people``, ``ingest``): the connection's
    ``search_path``, so statements name tables without it. Not thread-safe by itself: the
    store's lock serialises its use, as it does for SQLite.
    """

    def __init__(self, url: str, schema: str) -> None:
        self._url = url
        self.schema = schema
        self.total_changes = 0
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._connect()

    # -- the sqlite3.Connection surface -------------------------------------------------------
    def execute(self, sql: str, parameters: Any = (), /) -> PgCursor:
        """Run one statement (``?`` parameters); its rows are read at once."""
        conn = self._live()
        try:
            with conn.cursor() as cur:
                cur.execute(translate(sql), _params(parameters))
                rows = cur.fetchall() if cur.description is not None else []
                count = cur.rowcount
        except Exception as exc:
            raise self._translated(exc) from exc
        if count > 0 and cur.description is None:
            self.total_changes += count
        return PgCursor(rows, count)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> PgCursor:
        """Run one statement once per parameter row (pipelined: one round trip)."""
        conn = self._live()
        try:
            with conn.cursor() as cur:
                cur.executemany(translate(sql), [_params(p) for p in parameters])
                count = cur.rowcount
        except Exception as exc:
            raise self._translated(exc) from exc
        self.total_changes += max(0, count)
        return PgCursor([], count)

    def script(self, sql: str) -> None:
        """Run several statements without parameters (BEGIN plus a lock, a migration file)."""
        conn = self._live()
        try:
            conn.execute(sql.encode())
        except Exception as exc:
            raise self._translated(exc) from exc

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (or failed and not yet rolled back)."""
        from psycopg.pq import TransactionStatus

        conn = self._conn
        return conn is not None and conn.info.transaction_status in (
            TransactionStatus.INTRANS,
            TransactionStatus.INERROR,
        )

    @property
    def closed(self) -> bool:
        """Whether there is no usable connection right now (the next call opens one)."""
        return self._conn is None or self._conn.closed

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- connection ---------------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg
        from psycopg import sql

        try:
            conn = psycopg.connect(autocommit=True, **conninfo(self._url))
        except Exception as exc:
            raise self._translated(exc) from exc
        try:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        except Exception as exc:
            conn.close()
            raise self._translated(exc) from exc
        self._conn = conn
        return conn

    def _live(self) -> psycopg.Connection[tuple[Any, ...]]:
        """The connection, opened again if the server dropped it since the last call."""
        conn = self._conn
        if conn is None or conn.closed:
            return self._connect()
        return conn

    def _translated(self, exc: Exception) -> Exception:
        """``exc`` as the :mod:`sqlite3` class of its DB-API name; messages lose the password."""
        import psycopg

        if not isinstance(exc, psycopg.Error):
            return exc
        message = redact_message(str(exc).strip(), self._url)
        for name in ("IntegrityError", "OperationalError", "ProgrammingError", "DataError"):
            if isinstance(exc, getattr(psycopg, name)):
                error: Exception = getattr(sqlite3, name)(message)
                break
        else:
            error = sqlite3.DatabaseError(message)
        error.sqlstate = exc.sqlstate  # type: ignore[attr-defined]
        return error


def redact_message(message: str, url: str) -> str:
    """``message`` without the password ``url`` carries, wherever libpq repeated it."""
    from urllib.parse import unquote, urlsplit

    password = urlsplit(url).password
    if password:
        message = message.replace(password, "***").replace(unquote(password), "***")
    return message.replace(url, redact(url))
