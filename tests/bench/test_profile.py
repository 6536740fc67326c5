"""py-spy raw profiles are summarized per thread and per function, line numbers folded."""

from __future__ import annotations

from pathlib import Path

from bench.profile import summarize

FIXTURE = Path(__file__).parent / "fixtures" / "pyspy_raw.txt"


def test_summary_splits_threads_and_folds_lines() -> None:
    summary = summarize(FIXTURE, rate=100)
    assert summary["samples"] == 10
    assert summary["sampled_s"] == 0.1
    assert summary["threads_pct"] == {"ingest-mqtt": 90.0, "ingest-write-1": 10.0}
    # Lines 145 and 151 of _fast are one function: 7 of 10 samples ran there.
    assert summary["top_self_pct"]["ingest-mqtt: Decoder._fast (ingest/decoder.py)"] == 70.0
    assert summary["top_self_pct"]["ingest-mqtt: _lines (ingest/decoder.py)"] == 20.0
    # Inclusive: _fast is on 9 stacks, the MQTT loop on 9, the thread bootstrap on all 10.
    inclusive = summary["top_inclusive_pct"]
    assert inclusive["Decoder._fast (ingest/decoder.py)"] == 90.0
    assert inclusive["Thread._bootstrap (threading.py)"] == 100.0
    assert next(iter(summary["top_lines_pct"])) == "Decoder._fast (ingest/decoder.py:145)"
