"""``careloop bench score --motion``: a tiny real run, checking the report's shape and counts
(no speed assertions: the figure is the benchmark's output, and this machine is shared)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_small_motion_run_prints_one_json_object() -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "app", "bench", "score", "--motion", "--json",
            "--residents", "5", "--seconds", "60",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)  # stdout is exactly one JSON object
    assert report["devices"] == 5 and report["windows_timed"] == 5 * 2
    assert report["rejected"] == 0
    # every window, warm-up (240 s = 8 a device) and timed, went through a tracker
    assert report["scored"] == 5 * (8 + 2)
    assert report["cpu_us_per_window"] > 0 and report["decode_us_per_window"] > 0
    assert 0 < report["device_bytes_max"] < 48_000
    assert report["tracker_samples_max"] <= 1024
    assert report["posture_model"].startswith("on:")
