"""A tiny run of ``careloop bench handover --json`` on a real broker with the real scorer and
alert service: every agitated utterance reaches a volunteer as a page with the 30 s deadline."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_handover_json_smoke(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "app", "bench", "handover", "--json", "--n", "3",
         "--baseline", "5", "--gap", "0.2", "--volunteers", "5", "--work-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"n", "p50_ms", "p99_ms", "max_ms", "missed"} <= set(report)
    assert report["n"] == 3 and report["missed"] == 0
    assert 0 < report["p50_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert 25_000 < report["page_deadline_in_ms_max"] <= 30_000
