"""How much disk an InfluxDB outage costs ingest: its spool per hour, per 1,000 residents.

While a shard (or the one server) is down, ingest appends every sealed batch of its points
to that shard's disk spool (:mod:`ingest.spool`), until ``max_spool_bytes``. This fills a
real :class:`~ingest.spool.Spool` in a temporary folder with the line protocol ingest writes
(:meth:`bench.workload.Workload.lines`: five vitals per reading) for ``residents`` at 1 Hz
over ``seconds``, in batches of ``max_delay`` seconds of readings (ingest seals a batch
that old), and scales to an hour. ``python -m bench.spool_size [residents] [seconds]``
prints the figures as one JSON object (docs/scale-influx.md)::

    bytes_per_reading       line protocol per reading (what the bound counts)
    spool_mb_per_hour       the spool's bytes per hour of outage (max_spool_bytes counts these)
    on_disk_mb_per_hour     the same as the file system stores it (a file per batch)
    segments_per_hour       files per hour
    hours_per_gib           hours of outage one GiB of max_spool_bytes holds
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.workload import Workload
from ingest.spool import Spool


def measure(
    residents: int = 1000, seconds: int = 60, max_delay: float = 0.2, site: str = "rose-court"
) -> dict[str, Any]:
    """Fill a spool with ``seconds`` of ``residents`` at 1 Hz; the figures per hour."""
    work = Workload(residents, seed=1, site=site)
    per_batch = max(1, round(residents * max_delay))
    lines = list(work.lines(residents * seconds))
    with tempfile.TemporaryDirectory(prefix="spool-size-") as tmp:
        folder = Path(tmp) / "spool"
        with Spool(folder, max_bytes=1 << 40) as spool:
            for start in range(0, len(lines), per_batch):
                spool.append("\n".join(lines[start : start + per_batch]).encode())
            files = list(folder.glob("*.lp"))
            on_disk = sum(os.stat(f).st_blocks * 512 for f in files)
            readings, nbytes, batches = spool.readings, spool.nbytes, len(spool)
    hour = 3600 / seconds
    return {
        "residents": residents,
        "hz": 1,
        "seconds": seconds,
        "max_delay_s": max_delay,
        "readings": readings,
        "bytes_per_reading": round(nbytes / readings, 1),
        "spool_mb_per_hour": round(nbytes * hour / 1e6, 1),
        "on_disk_mb_per_hour": round(on_disk * hour / 1e6, 1),
        "segments_per_hour": round(batches * hour),
        "hours_per_gib": round((1 << 30) / (nbytes * hour), 2),
    }


def main(argv: list[str]) -> int:
    residents = int(argv[0]) if argv else 1000
    seconds = int(argv[1]) if len(argv) > 1 else 60
    print(json.dumps(measure(residents, seconds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
