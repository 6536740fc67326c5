"""What one detector costs to keep and to feed: state size and time per observation, measured.

    python -m models.stream_anomaly.footprint

runs the compact ``SLOW_SIGNALS`` configurations on a synthetic hourly activity count (120
days) and daily bathroom-visit count (a year), and the NAB default on 40 days of five-minute
readings, and prints, per configuration:
the snapshot size in bytes (what the runtime stores per resident and signal), the memory the
live detector holds (traced allocations) and the processor time of one ``score_one`` plus
``learn_one``. The figures are quoted in docs/evaluation/nab.md.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from models.base import Observation, StreamingDetector
from models.stream_anomaly.designs import slow_signal_detector
from models.stream_anomaly.detector import MultiScaleNovelty

_HOUR_MS = 3_600_000
_START_MS = 1_764_000_000_000


@dataclass(frozen=True)
class Footprint:
    """Sizes in bytes after the whole stream; time in microseconds per observation."""

    observations: int
    snapshot_bytes: int
    memory_bytes: int
    us_per_observation: float


def hourly_activity(seed: int, days: int, change_day: int | None = None) -> list[Observation]:
    """Hourly movement counts: busy 7:00-22:00, quiet nights (Poisson noise).

    From ``change_day`` on, nights are restless (about 8 movements an hour instead of 1):
    a sustained change of the kind a slow-signal detector must report.
    """
    rng = np.random.default_rng(seed)
    hour = np.arange(days * 24) % 24
    day = (hour >= 7) & (hour < 22)
    rate = np.where(day, 20 + 8 * np.sin(np.pi * (hour - 7) / 15), 1.0)
    if change_day is not None:
        changed = np.arange(days * 24) >= change_day * 24
        rate = np.where(changed & ~day, 8.0, rate)
    counts = rng.poisson(rate)
    return [{"value": float(c), "ts": _START_MS + i * _HOUR_MS} for i, c in enumerate(counts)]


def daily_visits(seed: int, days: int, change_day: int | None = None) -> list[Observation]:
    """Night-time bathroom visits, one count a day (Poisson, 1.5 a night; 4 from
    ``change_day`` on, a sustained change)."""
    rng = np.random.default_rng(seed)
    rate = np.full(days, 1.5)
    if change_day is not None:
        rate[change_day:] = 4.0
    counts = rng.poisson(rate)
    return [{"value": float(c), "ts": _START_MS + i * 24 * _HOUR_MS} for i, c in enumerate(counts)]


def measure(make: Callable[[], StreamingDetector], stream: Sequence[Observation]) -> Footprint:
    """Feed ``stream`` to fresh detectors: a first one to fill numpy's and Python's one-off
    caches, a second traced for the memory it keeps, a third timed."""
    first = make()
    for x in stream:
        first.score_one(x)
        first.learn_one(x)
    tracemalloc.start()
    traced = make()
    for x in stream:
        traced.score_one(x)
        traced.learn_one(x)
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    timed = make()
    started = time.process_time()
    for x in stream:
        timed.score_one(x)
        timed.learn_one(x)
    seconds = time.process_time() - started
    return Footprint(
        observations=len(stream),
        snapshot_bytes=len(timed.snapshot()),
        memory_bytes=memory,
        us_per_observation=round(1e6 * seconds / len(stream), 1),
    )


def main() -> None:
    hourly = hourly_activity(0, days=120)
    five_min = [
        {"value": float(x["value"]), "ts": _START_MS + i * 300_000}
        for i, x in enumerate(hourly_activity(1, days=40 * 12))
    ]
    daily = daily_visits(0, days=365)
    result = {
        "slow_signals_hourly_120_days": asdict(measure(slow_signal_detector, hourly)),
        "slow_signals_daily_365_days": asdict(
            measure(lambda: slow_signal_detector(cadence="daily"), daily)
        ),
        "nab_default_5min_40_days": asdict(measure(MultiScaleNovelty, five_min[: 40 * 288])),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
