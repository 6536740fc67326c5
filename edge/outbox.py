"""The durable outbox: a reading is on disk before it is published, and leaves only on PUBACK.

One SQLite file per device. Readings are rows with an AUTOINCREMENT id, so ids never repeat
even after deletes: publishing in id order keeps the device's order, and the last id of a
batch serves as the message's increasing ``seq``. The adapter's resume cursor is written in
the same transaction as the readings it produced, so a kill -9 can neither lose a reading nor
store it twice.

Bound: at most ``max_rows`` readings. When full, the oldest *vitals* readings are dropped
first (a fresher reading supersedes an old one for care), events and utterances (an SOS
press) only when nothing else is left; every drop is counted in ``dropped`` and logged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from careloop.logs import fields
from careloop.store import open_database
from edge.errors import OutboxError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Row:
    """One stored reading: its id, kind, and the reading as compact JSON."""

    id: int
    kind: str
    body: str


class Outbox:
    """A bounded, durable FIFO of readings, safe to call from worker threads.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 1_000_000,
        synchronous: Literal["full", "normal"] = "full",
    ) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self._lock = threading.Lock()
        try:
            self._db = open_database(self.path, _SCHEMA, synchronous=synchronous, private=True)
            self._count = int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc
        self._closed = False

    # -- writing -------------------------------------------------------------------------
    def put(self, items: Iterable[tuple[str, str]], cursor: str | None = None) -> int:
        """Append ``(kind, reading_json)`` items and, atomically, the adapter's cursor.

        Returns how many readings were dropped to respect the bound.
        """
        batch = list(items)
        with self._lock, self._tx() as db:
            db.executemany("INSERT INTO outbox (kind, body) VALUES (?, ?)", batch)
            if cursor is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('cursor', ?)", (cursor,))
            self._count += len(batch)
            dropped = self._enforce_bound(db)
            self._count -= dropped
        return dropped

    def _enforce_bound(self, db: sqlite3.Connection) -> int:
        excess = self._count - self.max_rows
        if excess <= 0:
            return 0
        dropped = db.execute(
            "DELETE FROM outbox WHERE id IN "
            "(SELECT id FROM outbox WHERE kind = 'vitals' ORDER BY id LIMIT ?)",
            (excess,),
        ).rowcount
        if dropped < excess:
            dropped += db.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)",
                (excess - dropped,),
            ).rowcount
        total = int(self._meta(db, "dropped") or 0) + dropped
        db.execute("INSERT OR REPLACE INTO meta VALUES ('dropped', ?)", (str(total),))
        log.warning(
            "outbox full, dropped oldest readings",
            extra=fields(path=str(self.path.name), dropped=dropped, total_dropped=total),
        )
        return dropped

    # -- reading and acknowledging ------------------------------------------------------
    def peek(self, limit: int, max_bytes: int = 60_000) -> list[Row]:
        """The oldest readings of one kind, in order: a run that can travel as one message.

        The run stops at the first reading of another kind (so order across kinds is kept),
        at ``limit`` readings, or before ``max_bytes`` of reading JSON.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, body FROM outbox ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        out: list[Row] = []
        size = 0
        for rid, kind, body in rows:
            if out and (kind != out[0].kind or size + len(body) > max_bytes):
                break
            out.append(Row(rid, kind, body))
            size += len(body) + 1
        return out

    def ack(self, rows: Sequence[Row]) -> None:
        """Forget ``rows`` after the broker acknowledged the message that carried them."""
        if not rows:
            return
        with self._lock, self._tx() as db:
            n = db.execute(
                "DELETE FROM outbox WHERE id BETWEEN ? AND ?", (rows[0].id, rows[-1].id)
            ).rowcount
            self._count -= n

    # -- metadata -----------------------------------------------------------------------
    @property
    def cursor(self) -> str | None:
        """The adapter's resume position stored with the last :meth:`put`."""
        with self._lock:
            return self._meta(self._db, "cursor")

    @property
    def dropped(self) -> int:
        """Readings dropped, ever, because the outbox was full."""
        with self._lock:
            return int(self._meta(self._db, "dropped") or 0)

    def __len__(self) -> int:
        return self._count

    def next_session(self) -> int:
        """Count one more connection session (the status messages' ``seq``)."""
        with self._lock, self._tx() as db:
            value = int(self._meta(db, "session") or 0) + 1
            db.execute("INSERT OR REPLACE INTO meta VALUES ('session', ?)", (str(value),))
        return value

    # -- plumbing -----------------------------------------------------------------------
    @staticmethod
    def _meta(db: sqlite3.Connection, key: str) -> str | None:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _tx(self) -> _Transaction:
        if self._closed:
            raise OutboxError("outbox is closed")
        return _Transaction(self._db)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, translating sqlite errors into OutboxError."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                raise OutboxError(f"commit failed: {err}") from err
        else:
            self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise OutboxError(str(exc)) from exc
