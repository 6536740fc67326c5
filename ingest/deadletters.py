"""Dead letters: every message ingest rejected, kept with its reason for people to inspect.

A rejected message will never become valid, so it is stored here and then acknowledged
(otherwise the broker would redeliver it forever). Each row keeps when, the topic (first 256
characters), the reason label (a :attr:`careloop.wire.WireError.reason` such as
``less_than_equal:heart_rate``, or ``unknown_device``, ``spoofed``, ``influx_rejected``),
the error text and the first 4 KiB of the raw payload. The table is bounded: only the newest
``max_rows`` are kept.

Raw payloads may hold personal data (a resident's words), so the file is created private
(mode 0600) and its contents never go to logs. With the ``database_url`` setting naming
PostgreSQL the table lives in schema ``ingest`` there instead (docs/database.md); ingest
then writes through :class:`ingest.held.HeldDeadLetters`, which keeps letters in a local
file while the server is away.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from careloop.db.migrate import Migrations
from careloop.store import Store
from careloop.wire.topics import PREFIX
from ingest.errors import DeadLetterError

MAX_TOPIC = 256
MAX_DETAIL = 1000
MAX_PAYLOAD = 4096
#: PostgreSQL: schema ``ingest``, made by ``ingest/migrations/*.sql`` (docs/database.md).
MIGRATIONS = Migrations("ingest", "ingest")

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


class DeadLetterSink(Protocol):
    """Where ingest's writers put dead letters: the store, or :class:`ingest.held.HeldDeadLetters`
    in front of a PostgreSQL one. ``add`` raises DeadLetterError if they are not durable."""

    def add(self, letters: Sequence[DeadLetter]) -> None: ...


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


class DeadLetterStore(Store):
    """The dead-letter table; thread-safe. Use as a context manager or call :meth:`close`.

    SQLite (``url`` empty, the default): the file ``path``. PostgreSQL (``url``
    ``postgresql://...``, the ``database_url`` setting): schema ``ingest``, made by
    ``ingest/migrations``. ``durable=False`` leaves the file's ``synchronous`` setting alone
    (a reader such as the API).
    """

    error = DeadLetterError
    label: ClassVar[str] = "dead letters"
    pg_schema = "ingest"
    migrations = MIGRATIONS

    def __init__(
        self, path: Path, *, url: str = "", max_rows: int = 100_000, durable: bool = True
    ) -> None:
        super().__init__(
            path, _SCHEMA, url=url, synchronous="full" if durable else None, busy_timeout_ms=10_000
        )
        self.max_rows = max_rows

    def add(self, letters: Sequence[DeadLetter]) -> None:
        """Store ``letters`` durably in one transaction, then trim to ``max_rows``."""
        if not letters:
            return
        text = (lambda t: t) if self.dialect == "sqlite" else _no_nul
        rows = [
            (d.received_at, text(d.topic), text(d.reason), text(d.detail), d.payload, d.size)
            for d in letters
        ]
        with self.tx() as db:
            db.executemany(
                "INSERT INTO deadletters (received_at, topic, reason, detail, payload, size) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            db.execute(
                "DELETE FROM deadletters WHERE id <= (SELECT max(id) FROM deadletters) - ?",
                (self.max_rows,),
            )

    def latest(self, *, reason: str | None = None, limit: int = 20) -> list[DeadLetter]:
        """The newest dead letters first, optionally of one reason."""
        query = "SELECT received_at, topic, reason, detail, payload, size, id FROM deadletters"
        params: tuple[object, ...] = ()
        if reason is not None:
            query += " WHERE reason = ?"
            params = (reason,)
        rows = self.rows(query + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [DeadLetter(r[0], r[1], r[2], r[3], bytes(r[4]), r[5], r[6]) for r in rows]

    def oldest(self, limit: int) -> list[DeadLetter]:
        """The oldest ``limit`` letters, oldest first (held letters on their way out)."""
        rows = self.rows(
            "SELECT received_at, topic, reason, detail, payload, size, id FROM deadletters "
            "ORDER BY id LIMIT ?",
            (limit,),
        )
        return [DeadLetter(r[0], r[1], r[2], r[3], bytes(r[4]), r[5], r[6]) for r in rows]

    def remove(self, ids: Sequence[int]) -> int:
        """Delete the letters with these ids (moved elsewhere); how many were deleted."""
        removed = 0
        with self.tx() as db:
            for i in range(0, len(ids), 500):
                part = list(ids[i : i + 500])
                marks = ",".join("?" * len(part))
                removed += db.execute(
                    f"DELETE FROM deadletters WHERE id IN ({marks})", part
                ).rowcount
        return removed

    def page(
        self,
        *,
        sites: Iterable[str] | None = None,
        reason: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[list[DeadLetter], int]:
        """One page of letters, newest first, and how many match: those on the topics of
        ``sites`` (None = every letter, also those on no site's topic), of ``reason``."""
        where, args = ["1 = 1"], []
        if sites is not None:
            prefixes = [f"{PREFIX}/{s}/" for s in sorted(sites)]
            where.append(
                "(" + " OR ".join("substr(topic, 1, ?) = ?" for _ in prefixes) + ")"
                if prefixes
                else "1 = 0"
            )
            for p in prefixes:
                args += [len(p), p]
        if reason is not None:
            where.append("reason = ?")
            args.append(reason)
        clause = " AND ".join(where)
        with self.reading() as db:
            total = int(
                db.execute(f"SELECT count(*) FROM deadletters WHERE {clause}", args).fetchone()[0]
            )
            rows = db.execute(
                "SELECT received_at, topic, reason, detail, payload, size, id "
                f"FROM deadletters WHERE {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                [*args, max(0, limit), max(0, offset)],
            ).fetchall()
        letters = [DeadLetter(r[0], r[1], r[2], r[3], bytes(r[4]), r[5], r[6]) for r in rows]
        return letters, total

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
        # Whether a needle is in the payload (bytes) or the detail (text): SQLite's instr,
        # PostgreSQL's position (defined for both bytea and text).
        if self.dialect == "sqlite":
            found = "(instr(payload, ?) > 0 OR instr(detail, ?) > 0)"
        else:
            found = "(position(? IN payload) > 0 OR position(? IN detail) > 0)"

        def contains(needle: str) -> tuple[str, list[str | bytes]]:
            return found, [needle.encode(), needle]

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
        with self.tx() as db:
            cur = db.execute(f"DELETE FROM deadletters WHERE {' OR '.join(clauses)}", args)
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
        with self.tx() as db:
            for site, cutoff in cutoffs.items():
                prefix = f"{PREFIX}/{site}/"
                removed += db.execute(
                    "DELETE FROM deadletters WHERE substr(topic, 1, ?) = ? AND received_at < ?",
                    (len(prefix), prefix, cutoff),
                ).rowcount
            if others is not None:
                old = db.execute(
                    "SELECT id, topic FROM deadletters WHERE received_at < ?", (others,)
                ).fetchall()
                removed += self.remove([n for n, topic in old if _site_of(topic) not in known])
        return removed

    def counts(self) -> dict[str, int]:
        """How many dead letters are kept, by reason (most common first)."""
        rows = self.rows(
            "SELECT reason, count(*) AS n FROM deadletters GROUP BY reason ORDER BY n DESC, reason"
        )
        return {reason: int(n) for reason, n in rows}


def _site_of(topic: str) -> str | None:
    """The site a data topic names (``careloop/v1/<site>/...``), else None."""
    head = f"{PREFIX}/"
    if not topic.startswith(head):
        return None
    return topic[len(head) :].split("/", 1)[0] or None


def _no_nul(text: str) -> str:
    """``text`` as PostgreSQL can keep it (no NUL there: one would refuse the batch)."""
    return text.replace("\x00", "\ufffd")
