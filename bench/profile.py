"""Summaries of ``py-spy record --format raw --threads`` output: where a consumer's CPU went.

A raw file has one line per distinct stack, ``thread (TID): NAME;outer (file:line);...;inner
(file:line) COUNT``. The benchmark records with ``--gil``: a sample is taken of whichever
thread holds the GIL, so ``samples / rate`` is the time the GIL was held (wall time: on a
contended machine a thread can hold the GIL while descheduled, so this can exceed the CPU
time ``/proc`` reports; use the shares, and ``/proc`` for seconds). We report, per thread,
the share of all samples, and for the whole process the functions with the most *self*
samples (the frame that was running) and the most *inclusive* samples (anywhere on the
stack), line numbers dropped so a function's lines add up, and the busiest single lines.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

_THREAD = re.compile(r"^thread \((?:0x)?[0-9A-Fa-f]+\):? ?(?P<name>[^;]*)")
_LINENO = re.compile(r":\d+\)$")


def _function(frame: str) -> str:
    """``func (pkg/file.py:123)`` -> ``func (pkg/file.py)``."""
    return _LINENO.sub(")", frame.strip())


def summarize(path: Path, *, rate: int, top: int = 15) -> dict[str, Any]:
    """Per-thread CPU and the top functions (self and inclusive) of one raw profile."""
    threads: Counter[str] = Counter()
    self_samples: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        match = _THREAD.match(frames[0])
        if match:
            thread = match.group("name").strip() or "unnamed"
            frames = frames[1:]
        else:
            thread = "unknown"
        total += count
        threads[thread] += count
        if frames:
            self_samples[f"{thread}: {_function(frames[-1])}"] += count
            lines[frames[-1].strip()] += count
        for function in {_function(f) for f in frames}:
            inclusive[function] += count

    def pct(n: int) -> float:
        return round(100 * n / total, 1) if total else 0.0

    return {
        "samples": total,
        "rate_hz": rate,
        "sampled_s": round(total / rate, 2),
        "threads_pct": {name: pct(n) for name, n in threads.most_common()},
        "top_self_pct": {name: pct(n) for name, n in self_samples.most_common(top)},
        "top_inclusive_pct": {name: pct(n) for name, n in inclusive.most_common(top)},
        # A frame's own line holds the time of the C functions it calls (JSON parsing, say).
        "top_lines_pct": {name: pct(n) for name, n in lines.most_common(top)},
    }
