"""The spool-size figures come from a real spool holding exactly the workload's lines."""

from __future__ import annotations

import pytest

from bench.spool_size import measure
from bench.workload import Workload


def test_spool_size_counts_every_reading_and_byte() -> None:
    got = measure(residents=50, seconds=4, max_delay=0.2)
    lines = list(Workload(50, seed=1, site="rose-court").lines(200))
    batches = 200 // 10  # 0.2 s of 50 residents at 1 Hz: 10 readings a batch
    body_bytes = sum(len(line) for line in lines) + len(lines) - batches  # newlines between
    assert got["readings"] == 200
    assert got["bytes_per_reading"] == pytest.approx(body_bytes / 200, abs=0.05)
    assert got["spool_mb_per_hour"] == pytest.approx(body_bytes * 900 / 1e6, abs=0.05)
    assert got["segments_per_hour"] == batches * 900
    assert got["on_disk_mb_per_hour"] >= got["spool_mb_per_hour"]  # whole blocks per file
