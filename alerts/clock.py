"""Where the alert service gets the time from: one injectable :class:`Clock`.

Deadlines are minutes to days long, so tests cannot wait for them: every decision reads
``clock.now_ms()``, and tests move a :class:`ManualClock` forward instead of sleeping. A
``careloop alerts`` subprocess (kill -9 tests, the demo's fast-forward) can be given an
:class:`OffsetFileClock` through the documented setting ``alerts.clock_offset_file``: wall
time plus the number of seconds written in that file. Production leaves it unset.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Protocol


def wall_ms() -> int:
    """The machine's time in epoch ms, for what is about live processes rather than care
    deadlines (outbox leases): a test's or demo's clock may jump, the leases must not."""
    return time.time_ns() // 1_000_000


class Clock(Protocol):
    """A source of the current time in Unix epoch milliseconds."""

    def now_ms(self) -> int: ...


class SystemClock:
    """The wall clock."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start_ms: int) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, seconds: float) -> int:
        """Move forward by ``seconds``; returns the new time."""
        self._now += round(seconds * 1000)
        return self._now

    def set(self, now_ms: int) -> None:
        self._now = now_ms


class OffsetFileClock:
    """Wall time plus an offset in seconds read from a file (missing or empty file: 0).

    The file is re-read when its modification time changes, so a test (or the demo) moves a
    running service's time forward with ``path.write_text("3600")``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._offset_ms = 0

    def offset_ms(self) -> int:
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_ino)  # a rename gives a new inode even within 1 ns
        except FileNotFoundError:
            self._stamp, self._offset_ms = None, 0
            return 0
        if stamp != self._stamp:
            text = self.path.read_text(encoding="utf-8").strip()
            try:
                self._offset_ms = round(float(text or 0) * 1000)
            except ValueError:
                self._offset_ms = 0  # half-written file: read it again next time
                return 0
            self._stamp = stamp
        return self._offset_ms

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms()


def write_offset(path: Path, seconds: float) -> None:
    """Atomically set an :class:`OffsetFileClock`'s offset (write, then rename)."""
    tmp = Path(f"{path}.tmp")
    tmp.write_text(f"{seconds}\n", encoding="utf-8")
    os.replace(tmp, path)
