"""``careloop bench deadletters``: what ingest's hot path pays to make dead letters durable.

A writer thread stores a batch's rejected messages in one transaction before it acknowledges
the batch (docs/ingest.md). Method: for each backend, a :class:`~ingest.DeadLetterStore` as
ingest opens it (SQLite ``synchronous=FULL`` in a temporary folder; PostgreSQL 15 started
here by :class:`devservers.PostgreSQL` on loopback, default durability), then ``rounds``
calls of ``add`` with ``batch`` letters of a typical size (a 300-byte payload), timed one by
one after ``warmup`` untimed calls. A third case, ``postgresql_away``, times ``add`` through
:class:`~ingest.held.HeldDeadLetters` with the server stopped: what a writer pays while the
letters are held locally. Each case reports the median and p99 milliseconds per call and the
microseconds per letter (median). Figures depend on the disk's fsync and the machine's load.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devservers import PostgreSQL
from ingest import DeadLetter, DeadLetterStore
from ingest.held import HeldDeadLetters

PAYLOAD = b'{"v":1,"device":"term-1","resident":"r1","seq":1,"readings":[' + b"0" * 240 + b"]}"


@dataclass(frozen=True, slots=True)
class DeadLetterBenchOptions:
    """``batch`` letters per call, ``rounds`` timed calls after ``warmup`` untimed ones."""

    batch: int = 10
    rounds: int = 200
    warmup: int = 20
    work_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.batch < 1 or self.rounds < 1 or self.warmup < 0:
            raise ValueError("need --letters >= 1, --rounds >= 1")


def _letters(n: int) -> list[DeadLetter]:
    topic = "careloop/v1/bench/term-1/vitals"
    return [
        DeadLetter.make(topic, "less_than_equal:heart_rate", "bench", PAYLOAD) for _ in range(n)
    ]


def _time(add: Callable[[list[DeadLetter]], None], o: DeadLetterBenchOptions) -> dict[str, Any]:
    for _ in range(o.warmup):
        add(_letters(o.batch))
    took = []
    for _ in range(o.rounds):
        letters = _letters(o.batch)
        started = time.perf_counter()
        add(letters)
        took.append(time.perf_counter() - started)
    took.sort()
    median = statistics.median(took)
    return {
        "median_ms": round(median * 1000, 3),
        "p99_ms": round(took[min(len(took) - 1, int(len(took) * 0.99))] * 1000, 3),
        "us_per_letter": round(median * 1e6 / o.batch, 1),
    }


def run_deadletter_bench(
    options: DeadLetterBenchOptions, progress: Callable[[str], None]
) -> dict[str, Any]:
    """The report: one entry per case (see the module doc)."""
    with tempfile.TemporaryDirectory(dir=options.work_dir) as tmp:
        root = Path(tmp)
        report: dict[str, Any] = {
            "benchmark": "deadletters",
            "batch": options.batch,
            "rounds": options.rounds,
        }
        progress("sqlite: the default file, synchronous=FULL")
        with DeadLetterStore(root / "deadletters.sqlite3") as store:
            report["sqlite"] = _time(store.add, options)
        progress("postgresql: starting a server on loopback")
        with PostgreSQL(root / "pg") as server:
            url = server.create_database("bench")
            with DeadLetterStore(root / "unused.sqlite3", url=url) as store:
                progress("postgresql: up")
                report["postgresql"] = _time(store.add, options)
                held = HeldDeadLetters(store, root / "held.sqlite3")
                server.stop()
                progress("postgresql: stopped; letters held locally")
                report["postgresql_away"] = _time(held.add, options)
                report["postgresql_away"]["held"] = held.held
                held.close()
        return report
