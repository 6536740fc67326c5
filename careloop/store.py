"""The one way careloop keeps relational state: SQLite files (the default) or PostgreSQL.

Every store (edge outbox, people and devices, dead letters, alert store, provisioning,
erasure receipts) is a file shared by threads and sometimes processes: autocommit mode with
explicit ``BEGIN IMMEDIATE`` transactions, WAL so readers never block the writer, a busy
timeout instead of "database is locked", and ``synchronous=FULL`` where a power cut must not
lose a commit (``NORMAL`` survives a process crash only).

:class:`Store` holds what each store used to write for itself: one connection behind a
lock, write transactions that nest (an inner ``tx()`` joins the outer one), reads under the
same lock, a change counter other processes' commits move too (:meth:`Store.version`), and
the translation of ``sqlite3``/``OSError`` into the owning package's error class at this one
boundary. Subclasses name that class in :attr:`Store.error` and add their queries.

Given a ``postgresql://`` URL (the ``database_url`` setting) the same store keeps its tables
in a PostgreSQL schema instead (:mod:`careloop.db`): the queries are the same, the schema
comes from versioned migrations applied here, and a write transaction takes the schema's
advisory lock, so writers queue as they do on a SQLite file (docs/database.md).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from careloop.db import Connection, Cursor, is_postgres, redact
from careloop.errors import CareloopError
from careloop.files import open_private

if TYPE_CHECKING:
    from careloop.db.migrate import Migrations
    from careloop.db.postgres import PgConnection

Synchronous = Literal["full", "normal"]


def open_database(
    path: Path,
    schema: str = "",
    *,
    synchronous: Synchronous | None = "full",
    busy_timeout_ms: int = 5000,
    private: bool = False,
) -> sqlite3.Connection:
    """Open (creating folders and file) ``path`` and apply ``schema``.

    ``synchronous=None`` leaves the file's setting alone (a reader of another store's file);
    ``private`` creates the file readable by its owner only (it holds personal data or
    secrets). Raises ``sqlite3.Error`` or ``OSError``: :class:`Store` translates them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        open_private(path).close()
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        db.execute("PRAGMA journal_mode=WAL")
        if synchronous is not None:
            db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        if schema:
            db.executescript(schema)
    except BaseException:
        db.close()
        raise
    return db


class Store:
    """Base of every relational store: one connection, one lock; thread-safe.

    SQLite (``url`` empty): the file ``path``, with ``schema`` applied. ``synchronous``:
    "full" (survives power loss), "normal" (a process crash), None (leave the file's setting:
    a second reader of another store's file). ``private``: the file is created 0600.

    PostgreSQL (``url`` ``postgresql://...``): the tables live in schema :attr:`pg_schema`,
    brought to the newest version of :attr:`migrations` before the store is used; ``path``,
    ``schema`` and ``synchronous`` are not used (the server owns durability).

    Use as a context manager or call :meth:`close`.
    """

    #: The owning package's error (a CareloopError taking one message) raised on failures.
    error: ClassVar[type[CareloopError]] = CareloopError
    #: What the store is called in error messages ("alert store", "directory", ...).
    label: ClassVar[str] = "store"
    #: PostgreSQL: the schema holding the tables, and the migrations that make them.
    pg_schema: ClassVar[str] = ""
    migrations: ClassVar[Migrations | None] = None
    #: PostgreSQL: other components of the same schema whose tables this store's queries
    #: read too (provisioning reads the volunteers'), brought up to date first.
    requires: ClassVar[tuple[Migrations, ...]] = ()

    def __init__(
        self,
        path: Path,
        schema: str = "",
        *,
        url: str = "",
        synchronous: Synchronous | None = "full",
        busy_timeout_ms: int = 5000,
        private: bool = True,
    ) -> None:
        self.path = Path(path)
        self.url = url
        self._lock = threading.RLock()
        self._depth = 0
        self._writes = 0
        self._closed = False
        self._pg: PgConnection | None = None
        self._db: Connection
        #: The connection for single statements outside :meth:`tx` and :meth:`reading`
        #: (the alert store's short queries): backend errors become :attr:`error` there too.
        self.connection: Connection = _Translating(self)
        if is_postgres(url):
            self._db = self._pg = self._open_postgres(url)
            return
        try:
            self._db = open_database(
                self.path,
                schema,
                synchronous=synchronous,
                busy_timeout_ms=busy_timeout_ms,
                private=private,
            )
        except (sqlite3.Error, OSError) as exc:
            raise self.error(f"cannot open {self.label} {self.path}: {exc}") from exc

    def _open_postgres(self, url: str) -> PgConnection:
        from careloop.db.migrate import MigrationError, migrate
        from careloop.db.postgres import PgConnection

        if not self.pg_schema or self.migrations is None:
            raise self.error(f"the {self.label} cannot live on PostgreSQL yet")
        try:
            db = PgConnection(url, self.pg_schema)
        except sqlite3.Error as exc:
            raise self.error(f"cannot open {self.label} at {redact(url)}: {exc}") from exc
        try:
            for migrations in (*self.requires, self.migrations):
                migrate(db, migrations)
        except (MigrationError, sqlite3.Error) as exc:
            db.close()
            raise self.error(f"cannot open {self.label} at {redact(url)}: {exc}") from exc
        return db

    @property
    def dialect(self) -> Literal["sqlite", "postgresql"]:
        """Which backend holds the tables, for the few statements that differ."""
        return "sqlite" if self._pg is None else "postgresql"

    @property
    def where(self) -> str:
        """The file, or the server and schema (no password), for messages."""
        return str(self.path) if self._pg is None else f"{redact(self.url)} {self.pg_schema}"

    # -- transactions and reads ---------------------------------------------------------------
    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One write transaction; nesting joins it.

        SQLite: ``BEGIN IMMEDIATE``. PostgreSQL: ``BEGIN`` and the schema's advisory
        transaction lock, so writers of every process queue as on a file, and the change
        counter is bumped with the commit. The lock is held throughout, so no other thread's
        statement lands inside it; any exception rolls it back, and database errors become
        :attr:`error`.
        """
        with self._lock:
            if self._closed:
                raise self.error(f"{self.label} {self.where} is closed")
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            try:
                self._begin()
            except sqlite3.Error as exc:
                raise self.error(f"cannot write {self.label} {self.where}: {exc}") from exc
            self._depth = 1
            try:
                yield self._db
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise self.error(f"cannot write {self.label} {self.where}: {exc}") from exc
                raise
            else:
                try:
                    self._commit()
                except sqlite3.Error as exc:
                    self._rollback()
                    raise self.error(f"commit to {self.label} failed: {exc}") from exc
                self._writes += 1
            finally:
                self._depth = 0

    def _begin(self) -> None:
        if self._pg is None:
            self._db.execute("BEGIN IMMEDIATE")
            return
        from careloop.db.migrate import LOCK_SPACE, schema_key

        key = schema_key(self.pg_schema) ^ 1  # not the migration lock of the schema
        self._pg.script(f"BEGIN; SELECT pg_advisory_xact_lock({LOCK_SPACE}, {key})")

    def _commit(self) -> None:
        if self._pg is None:
            self._db.execute("COMMIT")
        else:
            self._pg.script("UPDATE careloop_changes SET n = n + 1 WHERE id = 1; COMMIT")

    def _rollback(self) -> None:
        if self._pg is None:
            self._db.execute("ROLLBACK")
        elif self._pg.in_transaction:
            with suppress(sqlite3.Error):  # a dropped connection has nothing to roll back
                self._pg.script("ROLLBACK")

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """Several reads under the lock (no write of another thread lands between them)."""
        try:
            with self._lock:
                if self._closed:
                    raise self.error(f"{self.label} {self.where} is closed")
                yield self._db
        except sqlite3.Error as exc:
            raise self.error(f"cannot read {self.label} {self.where}: {exc}") from exc

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of one read statement."""
        with self.reading() as db:
            return db.execute(sql, args).fetchall()

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of one read statement, or None."""
        found = self.rows(sql, args)
        return found[0] if found else None

    def version(self) -> int:
        """Grows whenever any process commits (or we do).

        Readers that cache what they read (the alert service's roster, the scorer's care
        profiles, ingest's device table) compare it to notice changes made anywhere.
        """
        with self.reading() as db:
            return self.data_version(db)

    def data_version(self, db: Connection) -> int:
        """:meth:`version` read on ``db`` (the caller holds :meth:`reading`).

        SQLite: ``PRAGMA data_version`` (other connections' commits; microseconds, no disk
        read) plus our own commits. PostgreSQL: the schema's change counter, bumped by every
        write transaction of every process.
        """
        if self._pg is None:
            return int(db.execute("PRAGMA data_version").fetchone()[0]) + self._writes
        return int(db.execute("SELECT n FROM careloop_changes WHERE id = 1").fetchone()[0])

    def ping(self) -> None:
        """Raise :attr:`error` unless the database answers a query. Tried twice: the first
        use of a connection the server dropped while idle fails (and marks it for reopening),
        and a server that is back must read as back (readiness probes)."""
        try:
            self.rows("SELECT 1")
        except self.error:
            self.rows("SELECT 1")

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Translating:
    """A store's connection whose ``sqlite3`` errors (both backends raise them) become the
    store's own error, so a caller outside :meth:`Store.tx` never sees a backend's class
    (a dropped PostgreSQL connection is the store being unavailable, not a crash)."""

    __slots__ = ("_store",)

    def __init__(self, store: Store) -> None:
        self._store = store

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        try:
            return self._store._db.execute(sql, parameters)
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        try:
            return self._store._db.executemany(sql, parameters)
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc

    @property
    def total_changes(self) -> int:
        return self._store._db.total_changes

    def close(self) -> None:
        self._store.close()

    def _failed(self, exc: sqlite3.Error) -> CareloopError:
        store = self._store
        return store.error(f"cannot use {store.label} {store.where}: {exc}")
