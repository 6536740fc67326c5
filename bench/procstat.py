"""CPU time of the processes in a phase, from ``/proc``: who used the two cores, and how much.

A rate alone cannot say whether ingest, the broker or InfluxDB was the limit; the CPU seconds
each spent in the same window can (a process near 1.0 CPU-second per second is saturated on
one core; the machine near 100 % busy means the cores were the limit). Linux only: where
``/proc`` is missing, every figure is reported as ``None``.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int, tid: int | None = None) -> float | None:
    """User + system CPU seconds of a process (or one of its threads) so far."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; utime and stime are fields 14 and 15.
    rest = text.rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / _TICK


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per thread id of ``pid``.

    From ``schedstat`` (the scheduler's run time in nanoseconds) where the kernel keeps it:
    ``stat`` counts in clock ticks, 10 ms apart, too coarse for a thread's share of a
    short phase. Falls back to ``stat``.
    """
    out: dict[int, float] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir(f"/proc/{pid}/task"):
            tid = int(entry)
            value = _run_time(pid, tid)
            if value is None:
                value = cpu_seconds(pid, tid)
            if value is not None:
                out[tid] = value
    return out


def _run_time(pid: int, tid: int) -> float | None:
    """Seconds thread ``tid`` has run on a CPU, from ``schedstat`` (None if unavailable)."""
    try:
        return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MiB."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def _machine() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores since boot."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class _Snapshot:
    at: float
    procs: dict[str, float | None]
    threads: dict[int, float]
    machine: tuple[int, int] | None


class CpuMeter:
    """CPU used by named processes between :meth:`start` and :meth:`stop`.

    ``threads_of`` names the process whose threads are broken down (the consumer), so the
    report shows whether one thread (say paho's network loop) is pinned at 100 %.
    """

    def __init__(self, pids: dict[str, int], *, threads_of: str | None = None) -> None:
        self.pids = pids
        self.threads_of = threads_of
        self._start: _Snapshot | None = None

    def _snap(self) -> _Snapshot:
        threads = thread_cpu(self.pids[self.threads_of]) if self.threads_of else {}
        return _Snapshot(
            time.perf_counter(),
            {name: cpu_seconds(pid) for name, pid in self.pids.items()},
            threads,
            _machine(),
        )

    def start(self) -> None:
        self._start = self._snap()

    def stop(self) -> dict[str, object]:
        """CPU seconds per process, per consumer thread, and the whole machine's busy %."""
        if self._start is None:
            raise RuntimeError("CpuMeter.stop() before start()")
        end, begin = self._snap(), self._start
        wall = end.at - begin.at
        out: dict[str, object] = {}
        known = 0.0
        for name in self.pids:
            a, b = begin.procs.get(name), end.procs.get(name)
            used = None if a is None or b is None else round(b - a, 2)
            out[f"{name}_cpu_s"] = used
            known += used or 0.0
        if self.threads_of:
            per_thread = sorted(
                (end.threads[t] - begin.threads.get(t, 0.0) for t in end.threads), reverse=True
            )
            out[f"{self.threads_of}_threads_cpu_s"] = [
                round(u, 3) for u in per_thread if u >= 0.001
            ]
        if begin.machine and end.machine and end.machine[1] > begin.machine[1]:
            busy = end.machine[0] - begin.machine[0]
            out["machine_busy_pct"] = round(100 * busy / (end.machine[1] - begin.machine[1]), 1)
            # Busy time no listed process accounts for: other processes, and kernel work
            # (loopback TCP in softirq) not charged to any of them.
            out["other_cpu_s"] = round(busy / _TICK - known, 2)
        out["cores"] = os.cpu_count()
        out["wall_s"] = round(wall, 3)
        return out
