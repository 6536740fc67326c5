"""``careloop bench ingest``: ingest's throughput against references measured in the same run.

One run starts its own Mosquitto and InfluxDB (:mod:`devservers`) and measures, in
order: the naive bridge, careloop ingest with one reading per message, the InfluxDB ceiling,
ingest with ten readings per message, the InfluxDB ceiling over two connections (for
information) and the broker ceiling. The machine is small and
noisy, so only ratios between figures of the *same* run mean much; docs/performance.md says
how to read them.

Each phase is sized to last about ``seconds``: a short calibration run (about one second of
work at a nominal rate, itself fully verified) measures the phase's rate, and the real run
uses ``rate x seconds`` units. ``messages`` fixes the size instead (tests).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.phases import Bench, PhaseResult, broker_ceiling, consumer, influx_ceiling
from careloop import __version__
from devservers import InfluxDB, Mosquitto

PHASES = ("naive_bridge", "ingest_single", "influx_ceiling", "ingest_batched", "broker_ceiling")
#: Rates (units per second) used only to size the ~1 s calibration runs.
NOMINAL_RATE = {
    "influx_ceiling": 150_000,  # points
    "broker_ceiling": 150_000,  # messages
    "naive_bridge": 15_000,  # messages
    "ingest_single": 50_000,  # messages
    "ingest_batched": 12_000,  # messages of 10 readings
}
CALIBRATION_S = 1.0
BATCHED_READINGS = 10
#: Pre-loaded phases stay under this share of the broker's max_queued_messages.
QUEUE_HEADROOM = 0.9
MAX_CEILING_POINTS = 3_000_000

TARGET_BATCHED_VS_CEILING = 0.8
TARGET_SINGLE_VS_NAIVE = 2.0
AIM_SINGLE_VS_NAIVE = 3.0


@dataclass(frozen=True)
class Options:
    """What one ``careloop bench ingest`` run does."""

    seconds: float = 10.0
    messages: int | None = None
    devices: int = 1000
    seed: int = 7
    work_dir: Path | None = None
    profile_dir: Path | None = None
    ingest_args: tuple[str, ...] = ()
    two_connections: bool = True
    keep_data: bool = False
    #: Mosquitto's max_inflight_messages; None keeps devservers' default (1000).
    broker_inflight: int | None = None
    #: Run only these phases (names as in the report); empty = all.
    only: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError("seconds must be positive")
        if self.messages is not None and self.messages < 1:
            raise ValueError("messages must be at least 1")
        if self.devices < 1:
            raise ValueError("devices must be at least 1")
        unknown = set(self.only) - set(PHASES)
        if unknown:
            raise ValueError(f"unknown phases {sorted(unknown)}; choose from {', '.join(PHASES)}")


def run_ingest_bench(options: Options, progress: Callable[[str], None]) -> dict[str, Any]:
    """Run every phase and return the report (see ``careloop bench ingest --help``)."""
    began = time.perf_counter()
    run_id = uuid.uuid4().hex[:6]
    own_dir = options.work_dir is None
    work = Path(tempfile.mkdtemp(prefix="careloop-bench-")) if own_dir else options.work_dir
    assert work is not None
    try:
        # The broker rewrites its whole persistence file at every autosave; with a backlog
        # of ~1M messages that is seconds of CPU a second, which no live broker pays.
        broker = Mosquitto(work / "mosquitto", extra_conf="autosave_interval 3600")
        if options.broker_inflight is not None:
            broker.max_inflight_messages = options.broker_inflight
        with broker, InfluxDB(work / "influxdb") as influx:
            bench = Bench(
                mosquitto=broker, influxdb=influx, work_dir=work, run_id=run_id,
                devices=options.devices, seed=options.seed, progress=progress,
                profile_dir=options.profile_dir, ingest_args=options.ingest_args,
                keep_data=options.keep_data,
            )  # fmt: skip
            progress(f"bench {run_id}: mosquitto {broker.url}, influxd {influx.url}, in {work}")
            report = _run_phases(bench, options, progress)
            report.update(_machine(broker, influx))
    finally:
        if own_dir and not options.keep_data:
            shutil.rmtree(work, ignore_errors=True)
    report["settings"] = {
        "seconds": options.seconds,
        "messages": options.messages,
        "devices": options.devices,
        "seed": options.seed,
        "ingest_args": list(options.ingest_args),
        "broker_inflight": options.broker_inflight,
        "only": list(options.only),
        "profiled": options.profile_dir is not None,
    }
    report["total_s"] = round(time.perf_counter() - began, 1)
    return report


def _run_phases(bench: Bench, options: Options, progress: Callable[[str], None]) -> dict:
    max_queued = int(bench.mosquitto.max_queued_messages * QUEUE_HEADROOM)
    # Each ratio's two phases run back to back, so drift in what else the machine runs
    # moves both: the naive bridge then ingest (single), the InfluxDB ceiling then ingest
    # (batched).
    phases: dict[str, Callable[[int], PhaseResult]] = {
        "naive_bridge": lambda n: consumer(bench, "naive_bridge", "naive", 1, n),
        "ingest_single": lambda n: consumer(bench, "ingest_single", "ingest", 1, n),
        "influx_ceiling": lambda n: influx_ceiling(bench, n),
        "ingest_batched": lambda n: consumer(
            bench, "ingest_batched", "ingest", BATCHED_READINGS, n
        ),
        "broker_ceiling": lambda n: broker_ceiling(bench, n),
    }
    limits = {"influx_ceiling": MAX_CEILING_POINTS}
    results: dict[str, PhaseResult] = {}
    calibration: dict[str, dict[str, Any]] = {}
    for name, measure in phases.items():
        if options.only and name not in options.only:
            continue
        limit = limits.get(name, max_queued)
        if options.messages is not None:
            per = BATCHED_READINGS if name == "ingest_batched" else 1
            n = max(1, options.messages // per)
        else:
            progress(f"{name}: calibrating")
            n_cal = _round(NOMINAL_RATE[name] * CALIBRATION_S, bench.devices, limit)
            cal = measure(n_cal)
            units_per_s = n_cal / cal.seconds
            n = _round(units_per_s * options.seconds, bench.devices, limit)
            calibration[name] = {
                "n": n_cal,
                "seconds": cal.seconds,
                "rate": cal.rate,
                "lost": cal.lost,
                "duplicated": cal.duplicated,
            }
        if n >= limit:
            progress(f"{name}: capped at {n} (broker queue or memory bound); shorter phase")
        results[name] = measure(n)
        if name == "ingest_batched" and options.two_connections:
            # For information: the same points as the ceiling, over two connections.
            ceiling = results.get("influx_ceiling")
            size = ceiling.messages if ceiling is not None else n * BATCHED_READINGS
            results["influx_ceiling_2conn"] = influx_ceiling(bench, size, connections=2)
    return _report(results, calibration)


def _round(n: float, devices: int, limit: int) -> int:
    """A whole number of rounds (one message per device each), within ``limit``."""
    rounds = max(1, round(n / devices))
    return int(max(1, min(rounds * devices, limit)))


def _report(results: dict[str, PhaseResult], calibration: dict[str, dict[str, Any]]) -> dict:
    def rate(name: str) -> float | None:
        r = results.get(name)
        return r.rate if r is not None else None

    ceiling, naive = rate("influx_ceiling"), rate("naive_bridge")
    single, batched = rate("ingest_single"), rate("ingest_batched")
    batched_vs_ceiling = round(batched / ceiling, 3) if batched and ceiling else None
    single_vs_naive = round(single / naive, 3) if single and naive else None
    lost = sum(r.lost for r in results.values()) + sum(c["lost"] for c in calibration.values())
    duplicated = sum(r.duplicated for r in results.values()) + sum(
        c["duplicated"] for c in calibration.values()
    )
    complete = all(r.complete for r in results.values())
    return {
        "influx_ceiling_rps": ceiling,
        "influx_ceiling_2conn_rps": rate("influx_ceiling_2conn"),
        "broker_ceiling_mps": rate("broker_ceiling"),
        "naive_bridge_mps": naive,
        "ingest_single_mps": single,
        "ingest_batched_rps": batched,
        "batched_vs_ceiling": batched_vs_ceiling,
        "single_vs_naive": single_vs_naive,
        "lost": lost,
        "duplicated": duplicated,
        "complete": complete,
        "targets": {
            "batched_vs_ceiling": {
                "target": TARGET_BATCHED_VS_CEILING,
                "met": batched_vs_ceiling is not None
                and batched_vs_ceiling >= TARGET_BATCHED_VS_CEILING,
            },
            "single_vs_naive": {
                "target": TARGET_SINGLE_VS_NAIVE,
                "aim": AIM_SINGLE_VS_NAIVE,
                "met": single_vs_naive is not None and single_vs_naive >= TARGET_SINGLE_VS_NAIVE,
                "aim_met": single_vs_naive is not None and single_vs_naive >= AIM_SINGLE_VS_NAIVE,
            },
            "no_loss": {"met": lost == 0 and duplicated == 0 and complete},
        },
        "n": {name: r.messages for name, r in results.items()},
        "readings": {name: r.expected for name, r in results.items()},
        "seconds": {name: r.seconds for name, r in results.items()},
        "lost_by_phase": {name: r.lost for name, r in results.items()},
        "duplicated_by_phase": {name: r.duplicated for name, r in results.items()},
        "cpu": {name: r.cpu for name, r in results.items()},
        "calibration": calibration,
        "phases": {name: r.as_dict() for name, r in results.items()},
    }


def _machine(broker: Mosquitto, influx: InfluxDB) -> dict[str, Any]:
    def first_line(argv: list[str]) -> str | None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            lines = (done.stdout + done.stderr).strip().splitlines()
            return lines[0].strip() if lines else None
        return None

    def dist(name: str) -> str | None:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(name)
        return None

    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "versions": {
            "influxd": first_line([influx.binary, "version"]),
            "mosquitto": first_line([broker.binary, "-h"]),
            "python": sys.version.split()[0],
            "paho-mqtt": dist("paho-mqtt"),
            "httpx": dist("httpx"),
            "careloop": __version__,
        },
    }
