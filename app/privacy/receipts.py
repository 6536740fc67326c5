"""Erasure receipts: what was erased where, when, by whom, sealed with a SHA-256.

Stored in the ``erasure_receipts`` table beside the directory (the people database's
file, ``DATA_DIR/people.sqlite3``, or with ``database_url`` schema ``privacy`` on PostgreSQL:
docs/database.md) with no personal data beyond the site and resident ids (the request's
subject is a staff or service id). The hash is over the canonical JSON of the receipt's
content (sorted keys, no spaces, the ``sha256`` key itself left out), so anyone holding a
receipt can recompute it and compare it with the stored one: it proves the receipt was not
altered, not that the stores were honest (that is what the post-erasure recount,
``remaining``, is for).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

from app.privacy.errors import PrivacyError, ReceiptNotFound
from careloop.db.migrate import Migrations
from careloop.store import Store

#: PostgreSQL: schema ``privacy``, made by ``app/privacy/migrations/*.sql``.
MIGRATIONS = Migrations("privacy", "app.privacy")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS erasure_receipts (
    id TEXT PRIMARY KEY, site TEXT NOT NULL, resident TEXT NOT NULL,
    erased_at INTEGER NOT NULL, erased_by TEXT NOT NULL, body TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
"""


def canonical(content: dict[str, Any]) -> bytes:
    """The bytes the hash covers: compact, key-sorted JSON without the ``sha256`` key."""
    body = {k: v for k, v in content.items() if k != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def seal(content: dict[str, Any]) -> dict[str, Any]:
    """``content`` with its ``sha256``."""
    return {**content, "sha256": hashlib.sha256(canonical(content)).hexdigest()}


def verify(receipt: dict[str, Any]) -> bool:
    """Whether a receipt's ``sha256`` matches its content."""
    return receipt.get("sha256") == hashlib.sha256(canonical(receipt)).hexdigest()


class ReceiptStore(Store):
    """The ``erasure_receipts`` table. Thread-safe.

    SQLite (``url`` empty): beside the directory in its file (``path``, whose durability
    setting it leaves alone). PostgreSQL: schema ``privacy``, made by
    ``app/privacy/migrations``.
    """

    error = PrivacyError
    label: ClassVar[str] = "erasure receipts"
    pg_schema = "privacy"
    migrations = MIGRATIONS

    def __init__(self, path: Path, *, url: str = "") -> None:
        super().__init__(path, _SCHEMA, url=url, synchronous=None)

    def add(self, receipt: dict[str, Any]) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO erasure_receipts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    receipt["id"], receipt["site"], receipt["resident"],
                    receipt["erased_at_ms"], receipt["requested_by"]["subject"],
                    json.dumps(receipt, sort_keys=True), receipt["sha256"],
                ),
            )  # fmt: skip

    def get(self, receipt_id: str) -> dict[str, Any]:
        row = self.one("SELECT body FROM erasure_receipts WHERE id = ?", (receipt_id,))
        if row is None:
            raise ReceiptNotFound(receipt_id)
        receipt: dict[str, Any] = json.loads(row[0])
        return receipt
