"""Edge fixtures: settings pointing at a test broker, and a JSON-lines sensor feed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from careloop.settings import Settings, load_settings

T0 = 1_764_000_000_000


def edge_settings(broker, site: str, data_dir: Path, **edge) -> Settings:
    return load_settings(
        site=site,
        data_dir=str(data_dir),
        mqtt={
            "host": broker.host,
            "port": broker.port,
            "backoff_initial": 0.1,
            "backoff_max": 1.0,
            "publish_timeout": 5.0,
        },
        edge={"synchronous": "normal", **edge},
    )


def vitals_line(i: int) -> str:
    return (
        json.dumps({"kind": "vitals", "reading": {"ts": T0 + i * 1000, "heart_rate": 60 + i % 40}})
        + "\n"
    )


class Feed:
    """A sensor daemon writing one reading per line to a file, at a steady rate, in a thread."""

    def __init__(self, path: Path, rate_hz: float) -> None:
        self.path = path
        self.rate_hz = rate_hz
        self.written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        path.touch()

    def _run(self) -> None:
        with self.path.open("a") as fh:
            while not self._stop.is_set():
                fh.write(vitals_line(self.written))
                fh.flush()
                self.written += 1
                time.sleep(1 / self.rate_hz)

    def start(self) -> Feed:
        self._thread.start()
        return self

    def stop(self) -> list[int]:
        """Stop writing; the timestamps of every reading written."""
        self._stop.set()
        self._thread.join()
        return [T0 + i * 1000 for i in range(self.written)]


@pytest.fixture
def feed(tmp_path: Path) -> Iterator[Feed]:
    f = Feed(tmp_path / "sensor.jsonl", rate_hz=50)
    yield f
    f._stop.set()
