"""Dead letters: every message ingest rejected, kept with its reason for people to inspect.

A rejected message will never become valid, so it is stored here and then acknowledged
(otherwise the broker would redeliver it forever). Each row keeps when, the topic (first 256
characters), the reason label (a :attr:`careloop.wire.WireError.reason` such as
``less_than_equal:heart_rate``, or ``unknown_device``, ``spoofed``, ``influx_rejected``),
the error text and the first 4 KiB of the raw payload. The table is bounded: only the newest
``max_rows`` are kept.

Raw payloads may hold personal data (a resident's words), so the file is created private
(mode 0600) and its contents never go to logs.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from careloop.store import open_database
from careloop.wire.topics import PREFIX
from ingest.errors import DeadLetterError

MAX_TOPIC = 256
MAX_DETAIL = 1000
MAX_PAYLOAD = 4096

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deadletters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    topic       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    payload     BLOB NOT NULL,
    size        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deadletters_reason ON deadletters (reason, id);
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One rejected message (``size`` is the payload's full size before truncation)."""

    received_at: int
    topic: str
    reason: str
    detail: str
    payload: bytes
    size: int = 0
    id: int = 0

    @classmethod
    def make(
        cls, topic: str, reason: str, detail: str, payload: bytes, received_at: int | None = None
    ) -> DeadLetter:
        """A dead letter with every field cut to its bound."""
        return cls(
            received_at if received_at is not None else int(time.time() * 1000),
            topic[:MAX_TOPIC],
            reason[:MAX_TOPIC],
            detail[:MAX_DETAIL],
            bytes(payload[:MAX_PAYLOAD]),
            len(payload),
        )


class DeadLetterStore:
    """The dead-letter table; thread-safe. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path, *, max_rows: int = 100_000) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self._lock = threading.Lock()
        try:
            self._db = open_database(self.path, _SCHEMA, busy_timeout_ms=10_000, private=True)
        except (sqlite3.Error, OSError) as exc:
            raise DeadLetterError(f"cannot open dead letters {self.path}: {exc}") from exc

    def add(self, letters: Sequence[DeadLetter]) -> None:
        """Store ``letters`` durably in one transaction, then trim to ``max_rows``."""
        if not letters:
            return
        rows = [(d.received_at, d.topic, d.reason, d.detail, d.payload, d.size) for d in letters]
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(
                        "INSERT INTO deadletters (received_at, topic, reason, detail, payload, "
                        "size) VALUES (?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                    last = self._db.execute("SELECT max(id) FROM deadletters").fetchone()[0]
                    self._db.execute(
                        "DELETE FROM deadletters WHERE id <= ?", (int(last) - self.max_rows,)
                    )
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise DeadLetterError(f"cannot store dead letters in {self.path}: {exc}") from exc

    def latest(self, *, reason: str | None = None, limit: int = 20) -> list[DeadLetter]:
        """The newest dead letters first, optionally of one reason."""
        query = "SELECT received_at, topic, reason, detail, payload, size, id FROM deadletters"
        params: tuple[object, ...] = ()
        if reason is not None:
            query += " WHERE reason = ?"
            params = (reason,)
        query += " ORDER BY id DESC LIMIT ?"
        try:
            with self._lock:
                rows = self._db.execute(query, (*params, limit)).fetchall()
        except sqlite3.Error as exc:
            raise DeadLetterError(f"cannot read dead letters {self.path}: {exc}") from exc
        return [DeadLetter(r[0], r[1], r[2], r[3], bytes(r[4]), r[5], r[6]) for r in rows]

    def erase(
        self,
        *,
        topics: Sequence[str] = (),
        needles: Sequence[str] = (),
        topic_prefix: str = "",
        anywhere: Sequence[str] = (),
    ) -> int:
        """Delete letters about one person (erasure); how many were deleted.

        A letter goes if its topic is one of ``topics`` (the person's devices), or its topic
        starts with ``topic_prefix`` (their site: ids are per site) and its payload or detail
        contains one of ``needles`` (e.g. ``"resident":"r1"``), or its payload or detail
        contains one of ``anywhere`` (needles that name the site themselves). Rejected
        messages are kept whole, so a resident can be named in a letter from any device.
        """

        def contains(needle: str) -> tuple[str, list[str | bytes]]:
            return "(instr(payload, ?) > 0 OR instr(detail, ?) > 0)", [needle.encode(), needle]

        clauses: list[str] = []
        args: list[str | bytes | int] = []
        if topics:
            clauses.append(f"topic IN ({','.join('?' * len(topics))})")
            args.extend(topics)
        for needle in needles:
            sql, more = contains(needle)
            clauses.append(f"(substr(topic, 1, ?) = ? AND {sql})")
            args.extend([len(topic_prefix), topic_prefix, *more])
        for needle in anywhere:
            sql, more = contains(needle)
            clauses.append(sql)
            args.extend(more)
        if not clauses:
            return 0
        try:
            with self._lock:
                cur = self._db.execute(
                    f"DELETE FROM deadletters WHERE {' OR '.join(clauses)}", args
                )
        except sqlite3.Error as exc:
            raise DeadLetterError(f"cannot erase from dead letters {self.path}: {exc}") from exc
        return int(cur.rowcount)

    def purge(
        self, cutoffs: Mapping[str, int], *, sites: Iterable[str] = (), others: int | None = None
    ) -> int:
        """Apply retention; how many letters were deleted.

        A letter on a site's topic goes once older than that site's cutoff. A letter on no
        site of ``sites`` (an unknown site, a malformed topic) goes once older than
        ``others``, if given: it belongs to nobody who chose to keep it.
        """
        known = set(sites)
        removed = 0
        try:
            with self._lock:
                for site, cutoff in cutoffs.items():
                    prefix = f"{PREFIX}/{site}/"
                    removed += self._db.execute(
                        "DELETE FROM deadletters WHERE substr(topic, 1, ?) = ? AND received_at < ?",
                        (len(prefix), prefix, cutoff),
                    ).rowcount
                if others is not None:
                    old = self._db.execute(
                        "SELECT id, topic FROM deadletters WHERE received_at < ?", (others,)
                    ).fetchall()
                    stray = [(i,) for i, topic in old if _site_of(topic) not in known]
                    removed += self._db.executemany(
                        "DELETE FROM deadletters WHERE id = ?", stray
                    ).rowcount
        except sqlite3.Error as exc:
            raise DeadLetterError(f"cannot purge dead letters {self.path}: {exc}") from exc
        return removed

    def counts(self) -> dict[str, int]:
        """How many dead letters are kept, by reason (most common first)."""
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT reason, count(*) AS n FROM deadletters GROUP BY reason "
                    "ORDER BY n DESC, reason"
                ).fetchall()
        except sqlite3.Error as exc:
            raise DeadLetterError(f"cannot read dead letters {self.path}: {exc}") from exc
        return {reason: int(n) for reason, n in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> DeadLetterStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _site_of(topic: str) -> str | None:
    """The site a data topic names (``careloop/v1/<site>/...``), else None."""
    head = f"{PREFIX}/"
    if not topic.startswith(head):
        return None
    return topic[len(head) :].split("/", 1)[0] or None
