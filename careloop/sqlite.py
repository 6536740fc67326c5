"""How careloop opens its embedded SQLite files: one place for the settings that matter.

Every store (edge outbox, device registry and directory, dead letters, alert store,
provisioning, erasure receipts) is a file shared by threads and sometimes processes:
autocommit mode with explicit ``BEGIN IMMEDIATE`` transactions, WAL so readers never block
the writer, a busy timeout instead of "database is locked", and ``synchronous=FULL`` where a
power cut must not lose a commit (``NORMAL`` survives a process crash only).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Literal

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
    secrets). Raises ``sqlite3.Error`` or ``OSError``: callers translate them into their own
    package's error at their boundary.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if private and not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
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
