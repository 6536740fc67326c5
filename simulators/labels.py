"""Ground-truth labels: which resident had which scenario when, and how severe it should be.

Labels are JSON lines so they sit beside ``readings.jsonl`` and can be streamed, diffed and
read by any evaluation script without importing careloop.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from simulators.scenarios import TIERS, Tier


@dataclass(frozen=True, slots=True)
class Label:
    """One episode: ``[start, end)`` in Unix epoch milliseconds."""

    resident: str
    scenario: str
    start: int
    end: int
    severity: Tier

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"label {self.scenario} on {self.resident}: end must follow start")
        if self.severity not in TIERS:
            raise ValueError(f"severity must be one of {TIERS}")

    def covers(self, ts: int) -> bool:
        """Whether ``ts`` (ms) falls inside the label's half-open interval."""
        return self.start <= ts < self.end


def write_labels(path: str | Path, labels: Iterable[Label]) -> int:
    """Write ``labels`` as JSON lines (creating the folder); returns how many were written."""
    count = 0
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", encoding="utf-8") as out:
        for label in labels:
            out.write(json.dumps(asdict(label), ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
    return count


def read_labels(path: str | Path) -> list[Label]:
    """Read labels written by :func:`write_labels` (blank lines are skipped)."""
    labels = []
    with Path(path).open(encoding="utf-8") as src:
        for line in src:
            if line.strip():
                labels.append(Label(**json.loads(line)))
    return labels
