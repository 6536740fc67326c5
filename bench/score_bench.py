"""``careloop bench score``: the scoring engine's speed and memory on a simulated care home.

One run simulates :class:`~simulators.CareHome` with ``residents`` residents at 1 Hz (one
vitals reading per resident per second, plus the simulator's events and utterances), starting
``start_s`` simulated seconds in (by default day 3 at 08:00, so the day's routine and the
default scenario schedule are under way). The ``warmup`` seconds before the timed window are
scored untimed, so baselines and the intent classifier are warm; then the ``seconds`` of the
timed window, generated *before* the clock starts (generation is not scoring), are scored in
time order exactly as ``careloop eval scenarios`` feeds them: one
:class:`~models.runtime.VitalsBatch` of every resident per simulated second, that second's
events and utterances after it.

Time is measured as CPU time of this process (:func:`time.process_time`, with numpy/BLAS held
to one thread by ``threadpoolctl``, so "per core" is honest) and as wall time. The reference,
measured in the same run right after the engine on the same readings as dicts, is a naive
per-reading scorer: :func:`models.news2.news2` and one :class:`models.baseline.ResidentBaseline`
per resident (``score_one`` then ``learn_one``) for the first ``naive_residents`` residents.
Memory is the bytes of a snapshot of all state per resident after the run (what
:meth:`ScoringEngine.state_nbytes` counts), and the table's in-memory bytes per row; the
snapshot is written to a temporary file and restored into a fresh engine, both timed.
"""

from __future__ import annotations

import platform
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.progress import Progress
from threadpoolctl import threadpool_limits

from careloop.wire import ACVPU, POSTURES
from careloop.wire.needs import NeedMessage
from models.baseline import ResidentBaseline
from models.evaluation.scenarios import care_profile
from models.news2 import news2
from models.runtime import FIELDS, ScoringEngine, VitalsBatch
from simulators import CareHome

TARGET_READINGS_PER_S_PER_CORE = 200_000
TARGET_STATE_BYTES_PER_RESIDENT = 4096
#: Day 3 at 08:00 (simulator time, UTC): routine under way, scenarios may be running.
DEFAULT_START_S = 3 * 86_400 + 8 * 3_600
#: Simulated seconds generated per call of ``CareHome.arrays`` (bounds float64 scratch).
_BLOCK_S = 30
_COL = {name: i for i, name in enumerate(FIELDS)}
_EVENT, _UTTERANCE = 0, 1

#: One event or utterance: (kind, resident column, reading dict).
Extra = tuple[int, int, dict[str, Any]]


@dataclass(frozen=True)
class ScoreOptions:
    """What one ``careloop bench score`` run does."""

    residents: int = 10_000
    seconds: int = 120
    warmup: int = 300
    naive_residents: int = 200
    seed: int = 7
    start_s: int = DEFAULT_START_S
    progress: bool = True

    def __post_init__(self) -> None:
        if self.residents < 1:
            raise ValueError("residents must be at least 1")
        if self.seconds < 1:
            raise ValueError("seconds must be at least 1")
        if self.warmup < 0 or self.warmup > self.start_s:
            raise ValueError(f"warmup must be between 0 and start_s ({self.start_s})")
        if self.naive_residents < 0:
            raise ValueError("naive_residents must be >= 0")


@dataclass
class Inputs:
    """Pre-generated simulated seconds: one batch of every resident and the extras per second."""

    ts: NDArray[np.int64]
    x: NDArray[np.float32]  # (seconds, residents, len(FIELDS)), NaN = not sent
    extras: list[list[Extra]]

    @property
    def events(self) -> int:
        return sum(1 for step in self.extras for kind, _, _ in step if kind == _EVENT)

    @property
    def utterances(self) -> int:
        return sum(1 for step in self.extras for kind, _, _ in step if kind == _UTTERANCE)


def _block(home: CareHome, lo: int, hi: int) -> Inputs:
    """One call of ``CareHome.arrays``: float32 matrices and each second's extras, sorted."""
    arrays = home.arrays(lo, hi)
    x = np.full((hi - lo, len(home.profiles), len(FIELDS)), np.nan, dtype=np.float32)
    for name, values in arrays.fields.items():
        x[:, :, _COL[name]] = values
    extras: list[list[Extra]] = [[] for _ in range(hi - lo)]
    for k, r, reading in arrays.events:
        extras[k].append((_EVENT, r, reading))
    for k, r, reading in arrays.utterances:
        extras[k].append((_UTTERANCE, r, reading))
    for step in extras:
        step.sort(key=lambda hit: hit[2]["ts"])
    return Inputs(arrays.ts.astype(np.int64), x, extras)


def generate(home: CareHome, start: int, stop: int, bar: Progress, what: str) -> Inputs:
    """Simulated steps ``start <= step < stop``, all held in memory (the timed window)."""
    x = np.empty((stop - start, len(home.profiles), len(FIELDS)), dtype=np.float32)
    ts = np.empty(stop - start, dtype=np.int64)
    extras: list[list[Extra]] = []
    task = bar.add_task(what, total=stop - start)
    for lo in range(start, stop, _BLOCK_S):
        hi = min(lo + _BLOCK_S, stop)
        block = _block(home, lo, hi)
        x[lo - start : hi - start] = block.x
        ts[lo - start : hi - start] = block.ts
        extras += block.extras
        bar.update(task, completed=hi - start)
    return Inputs(ts, x, extras)


def _batches(inputs: Inputs, slots: NDArray[np.int64]) -> list[VitalsBatch]:
    return [
        VitalsBatch(slots, np.full(len(slots), inputs.ts[k], dtype=np.int64), inputs.x[k])
        for k in range(len(inputs.ts))
    ]


def _score(
    engine: ScoringEngine,
    batches: list[VitalsBatch],
    extras: list[list[Extra]],
    slots: NDArray[np.int64],
) -> list[NeedMessage]:
    """Every second's vitals batch, then its events and utterances, in time order."""
    needs: list[NeedMessage] = []
    for batch, hits in zip(batches, extras, strict=True):
        needs += engine.score_vitals(batch)
        for kind, r, reading in hits:
            if kind == _EVENT:
                needs += engine.score_event(int(slots[r]), reading)
            else:
                needs += engine.score_utterance(int(slots[r]), reading)
    return needs


def wire_readings(inputs: Inputs, residents: int) -> list[list[tuple[int, dict[str, Any]]]]:
    """The first ``residents`` residents' vitals as wire dicts (what a naive scorer gets)."""
    out: list[list[tuple[int, dict[str, Any]]]] = []
    for k in range(len(inputs.ts)):
        ts = int(inputs.ts[k])
        rows = inputs.x[k, :residents].tolist()
        step: list[tuple[int, dict[str, Any]]] = []
        for r, row in enumerate(rows):
            reading: dict[str, Any] = {"ts": ts}
            for name, value in zip(FIELDS, row, strict=True):
                if value != value:  # NaN: not sent
                    continue
                if name == "posture":
                    reading[name] = POSTURES[int(value)]
                elif name == "consciousness":
                    reading[name] = ACVPU[int(value)]
                elif name in ("supplemental_oxygen", "bed_occupied", "room_motion"):
                    reading[name] = bool(value)
                elif name == "steps":
                    reading[name] = int(value)
                else:
                    reading[name] = value
            step.append((r, reading))
        out.append(step)
    return out


def _naive(
    baselines: list[ResidentBaseline], steps: list[list[tuple[int, dict[str, Any]]]]
) -> tuple[int, float]:
    """The reference scorer: NEWS2 and a scalar baseline, one reading dict at a time."""
    raised = 0
    worst = 0.0
    for step in steps:
        for r, reading in step:
            result = news2(reading)
            baseline = baselines[r]
            z = baseline.score_one(reading)
            baseline.learn_one(reading)
            raised += result.aggregate >= 5 or z >= 3.5
            worst = max(worst, z)
    return raised, worst


@contextmanager
def _clock() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    yield out
    out["wall_s"] = time.perf_counter() - wall
    out["cpu_s"] = time.process_time() - cpu


def _maxrss_mib() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _snapshot_round_trip(engine: ScoringEngine) -> dict[str, Any]:
    """Write the engine's snapshot to a temporary file and restore it into a fresh engine
    with the same profiles, as a restarting scorer does: its bytes and both wall times."""
    with tempfile.TemporaryDirectory(prefix="careloop-bench-") as folder:
        path = Path(folder) / "bench.snapshot"
        t = time.perf_counter()
        size = engine.snapshot(path)
        written = time.perf_counter()
        ScoringEngine(profiles=engine.directory.profiles).restore(path)
        restored = time.perf_counter()
    return {
        "bytes": size,
        "write_s": round(written - t, 3),
        "restore_s": round(restored - written, 3),
    }


def run_score_bench(options: ScoreOptions) -> dict[str, Any]:
    """Generate, warm up, time the engine and the naive reference; the report as a dict."""
    began = time.perf_counter()
    with threadpool_limits(limits=1):
        return _run(options, began)


def _run(o: ScoreOptions, began: float) -> dict[str, Any]:
    rss_start = _maxrss_mib()
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not o.progress) as bar:
        t = time.perf_counter()
        home = CareHome(o.residents, seed=o.seed, interval_s=1.0, scenarios="default")
        timed = generate(home, o.start_s, o.start_s + o.seconds, bar, "simulating timed window")
        generation_s = time.perf_counter() - t

        engine = ScoringEngine(profiles={(home.site, p.id): care_profile(p) for p in home.profiles})
        slots = np.array([engine.slot(home.site, p.id) for p in home.profiles], dtype=np.int64)
        m = min(o.naive_residents, o.residents)
        offsets = [engine.directory.residents[s].profile.utc_offset_min for s in slots[:m]]
        baselines = [ResidentBaseline(utc_offset_min=off) for off in offsets]
        naive_timed = wire_readings(timed, m)
        timed_batches = _batches(timed, slots)

        # the warm-up is simulated and scored a block at a time, untimed
        warm_needs: list[NeedMessage] = []
        start = o.start_s - o.warmup
        task = bar.add_task("simulating and scoring the warm-up (not timed)", total=o.warmup)
        for lo in range(start, o.start_s, _BLOCK_S):
            hi = min(lo + _BLOCK_S, o.start_s)
            block = _block(home, lo, hi)
            warm_needs += _score(engine, _batches(block, slots), block.extras, slots)
            _naive(baselines, wire_readings(block, m))
            bar.update(task, completed=hi - start)

    rss_before = _maxrss_mib()
    with _clock() as engine_time:
        needs = _score(engine, timed_batches, timed.extras, slots)
    rss_after = _maxrss_mib()
    with _clock() as naive_time:
        _naive(baselines, naive_timed)

    readings = o.residents * o.seconds
    naive_readings = m * o.seconds
    per_core = readings / engine_time["cpu_s"]
    naive_per_core = naive_readings / naive_time["cpu_s"] if m and naive_time["cpu_s"] > 0 else None
    snap = _snapshot_round_trip(engine)
    state_bytes = snap["bytes"]
    per_resident = state_bytes / o.residents
    return {
        "residents": o.residents,
        "seconds": o.seconds,
        "warmup_s": o.warmup,
        "readings": readings,
        "warmup_readings": o.residents * o.warmup,
        "events": timed.events,
        "utterances": timed.utterances,
        "needs": len(needs),
        "needs_open": sum(1 for n in needs if n.state == "open"),
        "warmup_needs": len(warm_needs),
        "cpu_s": round(engine_time["cpu_s"], 3),
        "wall_s": round(engine_time["wall_s"], 3),
        "readings_per_s_per_core": round(per_core),
        "readings_per_s_wall": round(readings / engine_time["wall_s"]),
        "cpu_us_per_reading": round(1e6 / per_core, 3),
        "state_bytes_per_resident": round(per_resident, 1),
        "state_bytes": state_bytes,
        "table_row_bytes": engine.table.row_nbytes(),
        "snapshot_write_s": snap["write_s"],
        "snapshot_restore_s": snap["restore_s"],
        "naive": {
            "residents": m,
            "readings": naive_readings,
            "cpu_s": round(naive_time["cpu_s"], 3),
            "wall_s": round(naive_time["wall_s"], 3),
            "readings_per_s_per_core": round(naive_per_core) if naive_per_core else None,
            "readings_per_s_wall": round(naive_readings / naive_time["wall_s"]) if m else None,
        },
        "naive_readings_per_s_per_core": round(naive_per_core) if naive_per_core else None,
        "speedup_vs_naive": round(per_core / naive_per_core, 1) if naive_per_core else None,
        "targets": {
            "readings_per_s_per_core": TARGET_READINGS_PER_S_PER_CORE,
            "state_bytes_per_resident": TARGET_STATE_BYTES_PER_RESIDENT,
        },
        "meets_speed": per_core >= TARGET_READINGS_PER_S_PER_CORE,
        "meets_memory": per_resident <= TARGET_STATE_BYTES_PER_RESIDENT,
        "peak_rss_mib": round(rss_after, 1),
        "rss_growth_mib": {
            "setup": round(rss_before - rss_start, 1),
            "timed_scoring": round(rss_after - rss_before, 1),
        },
        "generation_s": round(generation_s, 2),
        "settings": {
            "seed": o.seed,
            "start_s": o.start_s,
            "interval_s": 1.0,
            "batch": "every resident's reading of one simulated second",
            "care_plans": True,
            "blas_threads": 1,
        },
        "versions": {"python": platform.python_version(), "numpy": np.__version__},
        "total_s": round(time.perf_counter() - began, 1),
    }
