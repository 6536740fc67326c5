"""Following the people database: read something once, read it again when it changes.

The alert service pages from the roster and the scorer judges care plans from the care
profiles; both must see a change made through the API (or ``careloop people import``, or
any other process) within seconds, and neither may keep a second copy that drifts. A
:class:`Follower` holds the value it last read and asks the database's change counter
(``PRAGMA data_version``: microseconds, no disk read unless a commit happened) at most every
``every`` seconds; only a change re-reads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from careloop.logs import fields
from people.errors import PeopleError
from people.store import Directory

log = logging.getLogger(__name__)

T = TypeVar("T")


class Follower(Generic[T]):
    """``read(directory)`` now, and again whenever the database changed (see module doc)."""

    def __init__(
        self,
        directory: Directory,
        read: Callable[[Directory], T],
        *,
        every: float = 1.0,
        name: str = "people",
    ) -> None:
        self.directory = directory
        self._read = read
        self.every = every
        self.name = name
        self._version = directory.version()
        self._value = read(directory)
        self._checked = time.monotonic()
        #: How many times the value was read again after a change.
        self.reloads = 0

    @property
    def value(self) -> T:
        """The value as last read (no I/O)."""
        return self._value

    def poll(self, *, force: bool = False) -> bool:
        """Re-read if the database changed (checked at most every ``every`` s); True if so.

        A failed read keeps the previous value (logged once per failure): paging from the
        roster of a second ago beats paging nobody.
        """
        now = time.monotonic()
        if not force and now - self._checked < self.every:
            return False
        self._checked = now
        try:
            version = self.directory.version()
            if version == self._version and not force:
                return False
            value = self._read(self.directory)
        except PeopleError as exc:
            log.warning(
                "people read failed; keeping the last",
                extra=fields(what=self.name, error=str(exc)[:200]),
            )
            return False
        self._version = version
        self._value = value
        self.reloads += 1
        log.info("people changed; reloaded", extra=fields(what=self.name))
        return True
