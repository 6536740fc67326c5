"""``careloop bench deadletters`` on a tiny run: every case timed, and with the server
stopped every letter held locally (none lost, none refused)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.deadletter_bench import DeadLetterBenchOptions, run_deadletter_bench


def test_a_tiny_run_times_each_backend_and_holds_every_letter_while_away(tmp_path: Path) -> None:
    options = DeadLetterBenchOptions(batch=3, rounds=4, warmup=1, work_dir=tmp_path)
    report = run_deadletter_bench(options, lambda text: None)
    for case in ("sqlite", "postgresql", "postgresql_away"):
        figures = report[case]
        assert 0 < figures["median_ms"] <= figures["p99_ms"]
    assert report["postgresql_away"]["held"] == (1 + 4) * 3


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="--letters"):
        DeadLetterBenchOptions(batch=0)
