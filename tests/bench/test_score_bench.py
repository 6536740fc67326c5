"""``careloop bench score``: a tiny real run, checking the report's shape and counts.

No speed or memory assertions: the targets are figures of the benchmark's output, and this
machine is shared.
"""

from __future__ import annotations

import json
import subprocess
import sys

KEYS = (
    "residents",
    "seconds",
    "warmup_s",
    "readings",
    "events",
    "utterances",
    "needs",
    "cpu_s",
    "wall_s",
    "readings_per_s_per_core",
    "readings_per_s_wall",
    "state_bytes_per_resident",
    "table_row_bytes",
    "snapshot_write_s",
    "snapshot_restore_s",
    "naive",
    "naive_readings_per_s_per_core",
    "speedup_vs_naive",
    "targets",
    "meets_speed",
    "meets_memory",
    "peak_rss_mib",
)


def test_small_run_prints_one_json_object() -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "app", "bench", "score", "--json",
            "--residents", "300", "--seconds", "5", "--warmup", "30",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)  # stdout is exactly one JSON object
    for key in KEYS:
        assert key in report, key
    assert report["residents"] == 300 and report["seconds"] == 5 and report["warmup_s"] == 30
    assert report["readings"] == 300 * 5
    assert report["warmup_readings"] == 300 * 30
    assert report["state_bytes_per_resident"] > 0
    assert report["table_row_bytes"] > 0
    # the snapshot really was written and restored (its size is the state's; no speed claim)
    assert round(report["state_bytes"] / 300, 1) == report["state_bytes_per_resident"]
    assert report["snapshot_write_s"] >= 0 and report["snapshot_restore_s"] >= 0
    assert report["readings_per_s_per_core"] > 0 and report["readings_per_s_wall"] > 0
    assert report["naive"]["residents"] == 200
    assert report["naive"]["readings"] == 200 * 5
    assert report["speedup_vs_naive"] > 0
    assert report["targets"] == {
        "readings_per_s_per_core": 200_000,
        "state_bytes_per_resident": 4096,
    }
    assert isinstance(report["meets_speed"], bool) and isinstance(report["meets_memory"], bool)


def test_help_explains_the_score_figures() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "bench", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    for key in ("readings_per_s_per_core", "state_bytes_per_resident", "speedup_vs_naive"):
        assert key in done.stdout, key
