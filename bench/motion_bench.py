"""``careloop bench score --motion``: CPU per motion window through the scorer, and memory
per device.

``devices`` worn tags (one per resident, registered in a real SQLite people database) each
send one synthetic 30 s window (:mod:`simulators.motion`: sitting, walking, lying down,
lying, now and then a fall) per message at ``rate_hz``. The first ``warmup`` seconds are
scored untimed (the trackers' buffers fill: a window is cheapest when the buffer is
short); then ``seconds`` more are scored through the scorer's
:class:`~models.runtime.intake.Intake` exactly as it runs in ``careloop score``: the
contract decodes the message, the registry check, the device's posture tracker and model,
the fall rule, and the posture reading scored as vitals. Messages are encoded before the
clock starts. Time is CPU time of this process (numpy held to one thread) and wall time;
``decode_us_per_window`` is the contract's decoding alone, on the same messages.
Memory is :func:`models.runtime.motion.device_nbytes` per device after the run.
"""

from __future__ import annotations

import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from careloop.wire import Topic, data_message, decode, encode
from models.runtime.engine import EngineConfig, ScoringEngine
from models.runtime.intake import Intake
from models.runtime.metrics import ScoreMetrics
from models.runtime.motion import device_nbytes
from people import Device, DeviceRegistry
from simulators.motion import Activity, motion_window

SITE = "bench"
T0 = 1_767_600_000_000
WINDOW_MS = 30_000
#: The activities of successive windows, as a care home's day might go (a fall now and then).
_PLAN: tuple[Activity, ...] = (
    "sitting",
    "sitting",
    "walking",
    "sitting",
    "lie_down",
    "lying",
    "lying",
    "walking",
)


@dataclass(frozen=True)
class MotionOptions:
    devices: int = 200
    seconds: int = 600
    warmup: int = 240
    rate_hz: float = 2.0
    seed: int = 7

    def __post_init__(self) -> None:
        if self.devices < 1 or self.seconds < WINDOW_MS // 1000 or self.warmup < 0:
            raise ValueError("need devices >= 1, seconds >= 30 and warmup >= 0")
        if not 0.1 <= self.rate_hz <= 30:
            raise ValueError("rate_hz must be 0.1..30 (1,024 samples per 30 s window)")


def _messages(o: MotionOptions, first: int, count: int) -> list[tuple[str, bytes]]:
    """Windows ``first .. first + count`` of every device, in time order."""
    rng = np.random.default_rng([o.seed, first])
    out = []
    for k in range(first, first + count):
        for d in range(o.devices):
            act: Activity = "fall" if rng.random() < 0.01 else _PLAN[(k + d) % len(_PLAN)]
            w = motion_window(
                act,
                T0 + k * WINDOW_MS,
                seconds=29.5,
                rate_hz=o.rate_hz,
                seed=o.seed + d,
            )
            msg = data_message(
                "motion", device=f"tag-{d}", resident=f"r{d}", seq=k, ts=w["ts"], readings=[w]
            )
            out.append((str(Topic(SITE, f"tag-{d}", "motion")), encode(msg)))
    return out


def run_motion_bench(o: MotionOptions) -> dict[str, Any]:
    """Run once; the report as a JSON-ready dict."""
    warm_n, timed_n = o.warmup * 1000 // WINDOW_MS, o.seconds * 1000 // WINDOW_MS
    with tempfile.TemporaryDirectory(prefix="careloop-motion-bench-") as tmp:
        registry = DeviceRegistry(Path(tmp) / "people.sqlite3")
        registry.add([Device(f"tag-{d}", SITE, f"r{d}") for d in range(o.devices)])
        engine = ScoringEngine(EngineConfig(auto_tick=False))
        counts = dict.fromkeys(("received", "rejected", "readings"), 0)
        intake = Intake(
            engine, registry, ScoreMetrics(), counts, max_batch_readings=5000,
            max_clock_skew_s=0, on_erase=lambda topic, payload: None,
        )  # fmt: skip
        needs = 0
        with threadpool_limits(1):
            for k in range(warm_n):
                needs += len(intake.score(_messages(o, k, 1)))
            timed = _messages(o, warm_n, timed_n)
            payload_bytes = sum(len(p) for _, p in timed)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for i in range(0, len(timed), o.devices):  # one batch per 30 s of the home
                needs += len(intake.score(timed[i : i + o.devices]))
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            dec0 = time.process_time()
            for topic, payload in timed:
                decode(topic, payload)
            decode_cpu = time.process_time() - dec0
        registry.close()
    n = len(timed)
    sizes = [device_nbytes(d) for d in engine.motion.devices.values()]
    samples = [len(d.tracker) for d in engine.motion.devices.values()]
    return {
        "devices": o.devices,
        "windows_timed": n,
        "window_s": WINDOW_MS / 1000,
        "rate_hz": o.rate_hz,
        "samples_per_window": round(o.rate_hz * WINDOW_MS / 1000),
        "cpu_us_per_window": round(cpu / n * 1e6, 1),
        "wall_us_per_window": round(wall / n * 1e6, 1),
        "decode_us_per_window": round(decode_cpu / n * 1e6, 1),
        "windows_per_s_per_core": round(n / cpu, 1),
        "payload_bytes_per_window": round(payload_bytes / n),
        "device_bytes_mean": round(float(np.mean(sizes))),
        "device_bytes_max": int(max(sizes)),
        "tracker_samples_max": int(max(samples)),
        "scored": engine.motion.scored,
        "rejected": counts["rejected"],
        "needs": needs,
        "posture_model": engine.motion.status,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
