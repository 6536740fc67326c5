"""A sensor daemon stand-in: appends vitals lines to a replay file at a steady rate."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

T0 = 1_764_000_000_000


def vitals_line(i: int, *, step_ms: int = 1000) -> str:
    """Reading ``i`` as a replay line: timestamp ``T0 + i * step_ms``, a plausible pulse."""
    reading = {"ts": T0 + i * step_ms, "heart_rate": 60 + i % 40}
    return json.dumps({"kind": "vitals", "reading": reading}) + "\n"


class Feed:
    """Writes reading after reading to ``path`` at ``rate_hz`` in a thread.

    Reading ``i`` has timestamp ``T0 + i * step_ms``, so every reading is its own point and
    a test knows exactly which readings must arrive. The rate is kept against the clock (a
    slow moment is caught up), so ``rate_hz * seconds`` readings are written.
    """

    def __init__(self, path: Path, rate_hz: float, *, step_ms: int = 1000) -> None:
        self.path = path
        self.rate_hz = rate_hz
        self.step_ms = step_ms
        self.written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        path.touch()

    def _run(self) -> None:
        started = time.monotonic()
        with self.path.open("a") as fh:
            while not self._stop.is_set():
                due = int((time.monotonic() - started) * self.rate_hz) + 1
                while self.written < due:
                    fh.write(vitals_line(self.written, step_ms=self.step_ms))
                    self.written += 1
                fh.flush()
                time.sleep(0.01)

    def start(self) -> Feed:
        self._thread.start()
        return self

    def stop(self) -> int:
        """Stop writing; how many readings were written."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.written

    def timestamps(self) -> list[int]:
        """The timestamps of every reading written so far, in order."""
        return [T0 + i * self.step_ms for i in range(self.written)]
