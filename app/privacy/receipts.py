"""Erasure receipts: what was erased where, when, by whom, sealed with a SHA-256.

Stored in the ``erasure_receipts`` table of the relational file (``DATA_DIR/registry.sqlite3``)
with no personal data beyond the site and resident ids (the request's subject is a staff or
service id). The hash is over the canonical JSON of the receipt's content (sorted keys, no
spaces, the ``sha256`` key itself left out), so anyone holding a receipt can recompute it
and compare it with the stored one: it proves the receipt was not altered, not that the
stores were honest (that is what the post-erasure recount, ``remaining``, is for).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from app.privacy.errors import PrivacyError, ReceiptNotFound
from careloop.store import open_database

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


class ReceiptStore:
    """The ``erasure_receipts`` table. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = open_database(self.path, _SCHEMA, synchronous=None, private=True)
        except (sqlite3.Error, OSError) as exc:
            raise PrivacyError(f"cannot open receipts in {self.path}: {exc}") from exc

    def add(self, receipt: dict[str, Any]) -> None:
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO erasure_receipts VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        receipt["id"], receipt["site"], receipt["resident"],
                        receipt["erased_at_ms"], receipt["requested_by"]["subject"],
                        json.dumps(receipt, sort_keys=True), receipt["sha256"],
                    ),
                )  # fmt: skip
        except sqlite3.Error as exc:
            raise PrivacyError(f"cannot store the erasure receipt: {exc}") from exc

    def get(self, receipt_id: str) -> dict[str, Any]:
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT body FROM erasure_receipts WHERE id = ?", (receipt_id,)
                ).fetchone()
        except sqlite3.Error as exc:
            raise PrivacyError(f"cannot read erasure receipts: {exc}") from exc
        if row is None:
            raise ReceiptNotFound(receipt_id)
        receipt: dict[str, Any] = json.loads(row[0])
        return receipt

    def close(self) -> None:
        with self._lock:
            self._db.close()
