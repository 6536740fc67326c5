"""Offline runs write every emission and the overlapping labels as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

from simulators import Assignment, CareHome, generate, read_labels


def test_generate_writes_readings_and_labels(tmp_path: Path) -> None:
    home = CareHome(
        3,
        seed=9,
        interval_s=60.0,
        scenarios=[Assignment("r001", "hypoxia", day=0), Assignment("r002", "fever_onset", day=5)],
    )
    steps = 1_440
    result = generate(home, steps, tmp_path / "out", progress=False)
    lines = result.readings_path.read_text(encoding="utf-8").splitlines()
    expected = [e for _, batch in home.iter_emissions(0, steps) for e in batch]
    assert result.readings == len(lines) == len(expected)
    assert result.steps == steps
    for line, emission in zip(lines[::97], expected[::97], strict=True):
        row = json.loads(line)
        assert row == {
            "device": emission.device,
            "resident": emission.resident,
            "kind": emission.kind,
            "reading": emission.reading,
        }
    # Only the label overlapping the first day is written.
    assert [lb.scenario for lb in read_labels(result.labels_path)] == ["hypoxia"]
    assert result.labels == 1


def test_generate_keeps_chinese_text_readable(tmp_path: Path) -> None:
    home = CareHome(6, seed=2, interval_s=120.0, scenarios="none")
    result = generate(home, 720, tmp_path, progress=True, start_step=360)
    text = result.readings_path.read_text(encoding="utf-8")
    first = json.loads(text.splitlines()[0])
    assert first["reading"]["ts"] == home.time_ms(360)
    if any(p.language == "zh" and p.text_consent for p in home.profiles):
        assert "\\u" not in text
