"""Which residents consented to their words being stored: the server-side text guarantee.

Edge agents drop utterance ``text`` unless the device was configured with the resident's
consent, but a misconfigured or tampered device could still send it. Ingest therefore
stores ``text`` only where the directory's ``consents`` row for (site, resident) says
``store_utterance_text = 1``; everywhere else the text is dropped before the point is built
and only counted (``careloop_ingest_utterance_text_dropped_total``), never logged.

The directory (``careloop.directory``) lives in the same SQLite file as the device registry.
This reads its ``consents`` table directly instead of importing the directory package,
which pulls the care-plan models in and would add seconds to ingest's start. The columns
read (``site``, ``resident``, ``store_utterance_text``) are the interface.

Cost on the hot path: only utterance messages ask, and each asks one ``PRAGMA
data_version`` (microseconds, no disk read unless another process committed) plus a dict
lookup; an answer is cached per resident until any process commits to the file. So a
consent withdrawn a moment ago applies to the very next utterance.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from ingest.errors import RegistryError


class ConsentCache:
    """``allows_text(site, resident)``, cached per resident; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot open consents in {self.path}: {exc}") from exc
        self._allowed: dict[tuple[str, str], bool] = {}
        self._version: int | None = None

    def allows_text(self, site: str, resident: str) -> bool:
        """Whether utterance text of ``resident`` at ``site`` may be stored.

        No consent row, no ``consents`` table yet, or an unreadable file all mean no: the
        safe direction is to keep features only.
        """
        key = (site, resident)
        with self._lock:
            try:
                version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
                if version != self._version:
                    self._allowed.clear()
                    self._version = version
                known = self._allowed.get(key)
                if known is not None:
                    return known
                row = self._db.execute(
                    "SELECT store_utterance_text FROM consents WHERE site = ? AND resident = ?",
                    key,
                ).fetchone()
            except sqlite3.Error:  # no consents table (no directory yet), or a locked file
                return False
            allowed = bool(row and row[0])
            if len(self._allowed) >= 100_000:
                self._allowed.clear()
            self._allowed[key] = allowed
            return allowed

    def close(self) -> None:
        with self._lock:
            self._db.close()
