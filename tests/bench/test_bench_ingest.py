"""``careloop bench ingest``: a small real run (its own servers) with every figure verified.

Only the shape and the correctness of the report are checked here; the speed targets belong
in the benchmark's output, not in unit tests on a shared machine.
"""

from __future__ import annotations

import json
import subprocess
import sys

KEYS = (
    "influx_ceiling_rps",
    "influx_ceiling_2conn_rps",
    "broker_ceiling_mps",
    "naive_bridge_mps",
    "ingest_single_mps",
    "ingest_batched_rps",
    "batched_vs_ceiling",
    "single_vs_naive",
    "lost",
    "duplicated",
)
PHASES = (
    "influx_ceiling",
    "influx_ceiling_2conn",
    "broker_ceiling",
    "naive_bridge",
    "ingest_single",
    "ingest_batched",
)


def test_small_run_prints_one_verified_json_object(tmp_path) -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "app", "bench", "ingest", "--json",
            "--messages", "1500", "--devices", "30", "--work-dir", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)  # stdout is exactly one JSON object
    for key in KEYS:
        assert key in report, key
    for key in KEYS[:6]:
        assert report[key] > 0, key
    assert report["lost"] == 0 and report["duplicated"] == 0 and report["complete"]
    assert set(report["n"]) == set(PHASES)
    assert report["n"]["ingest_batched"] == 150 and report["readings"]["ingest_batched"] == 1500
    for phase in PHASES:
        result = report["phases"][phase]
        assert result["complete"], phase
        assert result["stored"] == result["expected"], phase
        assert result["checksum_ok"] is not False, phase
        assert report["seconds"][phase] > 0
    assert set(report["targets"]) == {"batched_vs_ceiling", "single_vs_naive", "no_loss"}
    assert report["targets"]["no_loss"]["met"]
    assert report["cpu"]["ingest_single"]["influxd_cpu_s"] is not None
    assert report["cpu"]["ingest_single"]["consumer_threads_cpu_s"]
    counts = report["phases"]["ingest_single"]["extra"]["ingest_counts"]
    assert counts["written"] == counts["acked"] == 1500 and counts["rejected"] == 0
    assert report["cpu_count"] >= 1
    assert {"influxd", "mosquitto", "python"} <= set(report["versions"])
    assert "bench: ingest_single" in done.stderr  # progress goes to stderr


def test_help_explains_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "bench", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    for key in KEYS:
        assert key in done.stdout, key
