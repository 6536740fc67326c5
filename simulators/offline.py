"""Offline runs: a home's emissions and labels written to JSON-lines files, no broker needed.

This is what ``careloop simulate --offline`` calls. ``readings.jsonl`` has one object per
emission (``device``, ``resident``, ``kind``, ``reading``) in step order; ``labels.jsonl``
has the labels that overlap the simulated span, so models can be trained and scored from
files alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from simulators.home import CareHome
from simulators.labels import write_labels


@dataclass(frozen=True, slots=True)
class OfflineRun:
    """What :func:`generate` wrote."""

    readings_path: Path
    labels_path: Path
    readings: int
    labels: int
    steps: int


def generate(
    home: CareHome, steps: int, out_dir: str | Path, progress: bool = True, *, start_step: int = 0
) -> OfflineRun:
    """Write ``steps`` steps of ``home`` (from ``start_step``) to ``out_dir``.

    The progress bar only appears for long runs (more than a few batches), so short runs
    and tests stay quiet.
    """
    if steps < 0:
        raise ValueError("steps must be >= 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    readings_path, labels_path = out / "readings.jsonl", out / "labels.jsonl"
    stop = start_step + steps
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    count = 0
    bar = Progress(
        TextColumn("simulating {task.fields[site]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not progress or steps < 2_000,
        transient=True,
    )
    with readings_path.open("w", encoding="utf-8") as sink, bar:
        task = bar.add_task("steps", total=steps, site=home.site)
        lines: list[str] = []
        for step, emissions in home.iter_emissions(start_step, stop):
            for e in emissions:
                lines.append(
                    f'{{"device":"{e.device}","resident":"{e.resident}","kind":"{e.kind}",'
                    f'"reading":{dumps(e.reading)}}}\n'
                )
            if len(lines) >= 10_000 or step == stop - 1:
                sink.writelines(lines)
                count += len(lines)
                lines.clear()
                bar.update(task, completed=step - start_step + 1)
    lo, hi = home.time_ms(start_step), home.time_ms(stop)
    labels = [lb for lb in home.labels if lb.start < hi and lb.end > lo]
    n_labels = write_labels(labels_path, labels)
    return OfflineRun(readings_path, labels_path, count, n_labels, steps)
