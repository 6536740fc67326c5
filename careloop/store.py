"""The one way careloop keeps embedded state: SQLite files opened alike, behind one base class.

Every store (edge outbox, people and devices, dead letters, alert store, provisioning,
erasure receipts) is a file shared by threads and sometimes processes: autocommit mode with
explicit ``BEGIN IMMEDIATE`` transactions, WAL so readers never block the writer, a busy
timeout instead of "database is locked", and ``synchronous=FULL`` where a power cut must not
lose a commit (``NORMAL`` survives a process crash only).

:class:`SqliteStore` holds what each store used to write for itself: one connection behind a
lock, write transactions that nest (an inner ``tx()`` joins the outer one), reads under the
same lock, a change counter other processes' commits move too (:meth:`SqliteStore.version`),
and the translation of ``sqlite3``/``OSError`` into the owning package's error class at this
one boundary. Subclasses name that class in :attr:`SqliteStore.error` and add their queries.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from careloop.errors import CareloopError
from careloop.files import open_private

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
    secrets). Raises ``sqlite3.Error`` or ``OSError``: :class:`SqliteStore` translates them.
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


class SqliteStore:
    """Base of every embedded store: one file, one connection, one lock; thread-safe.

    ``synchronous``: "full" (survives power loss), "normal" (a process crash), None (leave
    the file's setting: a second reader of another store's file). ``private``: the file is
    created 0600 (personal data, secrets). Use as a context manager or call :meth:`close`.
    """

    #: The owning package's error (a CareloopError taking one message) raised on failures.
    error: ClassVar[type[CareloopError]] = CareloopError
    #: What the store is called in error messages ("alert store", "directory", ...).
    label: ClassVar[str] = "store"

    def __init__(
        self,
        path: Path,
        schema: str = "",
        *,
        synchronous: Synchronous | None = "full",
        busy_timeout_ms: int = 5000,
        private: bool = True,
    ) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._depth = 0
        self._writes = 0
        self._closed = False
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

    # -- transactions and reads ---------------------------------------------------------------
    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``); nesting joins it.

        The lock is held throughout, so no other thread's statement lands inside it; any
        exception rolls it back, and sqlite errors become :attr:`error`.
        """
        with self._lock:
            if self._closed:
                raise self.error(f"{self.label} {self.path} is closed")
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self.error(f"cannot write {self.label} {self.path}: {exc}") from exc
            self._depth = 1
            try:
                yield self._db
            except BaseException as exc:
                self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self.error(f"cannot write {self.label} {self.path}: {exc}") from exc
                raise
            else:
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._db.execute("ROLLBACK")
                    raise self.error(f"commit to {self.label} failed: {exc}") from exc
                self._writes += 1
            finally:
                self._depth = 0

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Several reads under the lock (no write of another thread lands between them)."""
        try:
            with self._lock:
                if self._closed:
                    raise self.error(f"{self.label} {self.path} is closed")
                yield self._db
        except sqlite3.Error as exc:
            raise self.error(f"cannot read {self.label} {self.path}: {exc}") from exc

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of one read statement."""
        with self.reading() as db:
            return db.execute(sql, args).fetchall()

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of one read statement, or None."""
        found = self.rows(sql, args)
        return found[0] if found else None

    def version(self) -> int:
        """Grows whenever any process commits to the file (``data_version``) or we do.

        Readers that cache what they read (the alert service's roster, the scorer's care
        profiles, ingest's device table) compare it to notice changes made anywhere.
        """
        row = self.one("PRAGMA data_version")
        assert row is not None
        return int(row[0]) + self._writes

    def ping(self) -> None:
        """Raise :attr:`error` unless the file answers a query."""
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
