"""A tiny run of ``careloop bench alerts --json``: it prints its object, and nothing is missed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def test_bench_alerts_json_smoke(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "app", "bench", "alerts", "--json", "--residents", "200",
         "--seconds", "2", "--need-rate", "5", "--volunteers", "10", "--work-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"residents", "needs", "p50_ms", "p99_ms", "missed"} <= set(report)
    assert report["residents"] == 200 and report["needs"] > 0 and report["missed"] == 0
    assert 0 < report["p50_ms"] <= report["p99_ms"]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_bench_alerts_two_replicas_one_killed(tmp_path, database):
    """Two replicas on one store (a SQLite file, or the PostgreSQL the bench starts), one
    killed with SIGKILL half-way: the bench's own verdict (nothing missed, nothing paged
    twice) and the fields the issue asks for."""
    out = subprocess.run(
        [sys.executable, "-m", "app", "bench", "alerts", "--json", "--residents", "300",
         "--seconds", "4", "--need-rate", "5", "--volunteers", "12", "--replicas", "2",
         "--lease", "1", "--batch", "5", "--database", database,
         "--work-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    keys = {"residents", "replicas", "needs", "p50_ms", "p99_ms", "missed", "doubled"}
    assert keys | {"failover_ms", "p99_outside_burst_ms"} <= set(report)
    assert (report["replicas"], report["missed"], report["doubled"]) == (2, 0, 0)
    assert report["failover_ms"] is not None and report["failover_ms"] >= 0
    assert report["in_flight_at_kill"] >= 0 and report["readings_per_message"] == 5
    assert report["database"] == database
    if database == "postgresql":  # what a need costs the database, from pg_stat_database
        assert report["pg_write_transactions_per_need"] >= 1, report
        assert report["pg_transactions_per_need"] >= report["pg_write_transactions_per_need"]
        assert report["pg_rows_written_per_need"] > 0 and report["pg_idle_transactions_per_s"] >= 0
    else:
        assert "pg_write_transactions_per_need" not in report
