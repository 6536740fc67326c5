"""Which residents consented to their words being stored: the server-side text guarantee.

Edge agents drop utterance ``text`` unless the device was configured with the resident's
consent, but a misconfigured or tampered device could still send it. Ingest therefore
stores ``text`` only where the people database's ``consents`` row for (site, resident) says
``store_utterance_text = 1``; everywhere else the text is dropped before the point is built
and only counted (``careloop_ingest_utterance_text_dropped_total``), never logged.

Cost on the hot path: only utterance messages ask, and each asks one ``PRAGMA
data_version`` (microseconds, no disk read unless another process committed) plus a dict
lookup; an answer is cached per resident until any process commits to the file. So a
consent withdrawn a moment ago applies to the very next utterance.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from careloop.store import SqliteStore
from people.errors import PeopleError
from people.store.base import SCHEMA


class ConsentCache(SqliteStore):
    """``allows_text(site, resident)``, cached per resident; thread-safe."""

    error = PeopleError
    label: ClassVar[str] = "consents"

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA, synchronous=None)
        self._allowed: dict[tuple[str, str], bool] = {}
        self._version: int | None = None

    def allows_text(self, site: str, resident: str) -> bool:
        """Whether utterance text of ``resident`` at ``site`` may be stored.

        No consent row or an unreadable file both mean no: the safe direction is to keep
        features only.
        """
        key = (site, resident)
        try:
            with self.reading() as db:
                version = int(db.execute("PRAGMA data_version").fetchone()[0])
                if version != self._version:
                    self._allowed.clear()
                    self._version = version
                known = self._allowed.get(key)
                if known is not None:
                    return known
                row = db.execute(
                    "SELECT store_utterance_text FROM consents WHERE site = ? AND resident = ?",
                    key,
                ).fetchone()
                allowed = bool(row and row[0])
                if len(self._allowed) >= 100_000:
                    self._allowed.clear()
                self._allowed[key] = allowed
                return allowed
        except PeopleError:  # a locked or unreadable file
            return False
