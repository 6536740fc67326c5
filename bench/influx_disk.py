"""How much disk InfluxDB needs for a resident's readings: bytes per reading once compacted.

The storage plan in docs/scale.md needs the bytes a reading costs on an InfluxDB server's
disk, not in line protocol (:mod:`bench.spool_size` measures that: ~150 bytes). This writes
``seconds`` of ``residents`` at 1 Hz (:meth:`bench.workload.Workload.lines`, the lines ingest
writes: five fields a reading) into a private ``influxd`` told to snapshot its cache and
fully compact a shard after a few idle seconds (instead of the defaults' 10 minutes and 4
hours), waits until the write-ahead log is empty and the files stop changing, and divides
the TSM files' bytes by the readings. ``python -m bench.influx_disk [residents] [seconds]``
prints one JSON object::

    readings              points written
    write_s               seconds the writes took (one connection, 5,000 lines a request)
    tsm_bytes             compacted data files (the shard's *.tsm)
    bytes_per_reading     tsm_bytes / readings
    gb_per_day_per_1000   the same for 1,000 residents at 1 Hz for a day, in GB
    index_bytes           the shard's series index as stored (inmem index: none on disk)
    tsm_files             data files left (1 once fully compacted)

One shard group; the values are the bench's simulated vitals (heart rate, SpO2 and
breathing as decimals, steps, a posture string), so real terminals' values, which repeat
more, compress at least as well.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.workload import Workload
from careloop.influx import InfluxClient
from devservers import InfluxDB

_DB = "diskbench"
#: Snapshot the cache and fully compact a shard this soon after its last write.
_COLD = '  cache-snapshot-write-cold-duration = "2s"\n  compact-full-write-cold-duration = "4s"\n'


class _CompactingInfluxDB(InfluxDB):
    """A private influxd that compacts within seconds of the last write."""

    def render_config(self) -> str:
        return super().render_config().replace("[data]\n", "[data]\n" + _COLD, 1)


def _size(folder: Path, pattern: str) -> int:
    return sum(f.stat().st_size for f in folder.rglob(pattern) if f.is_file())


def measure(residents: int = 1000, seconds: int = 600, settle_s: float = 60.0) -> dict[str, Any]:
    """Write, wait for compaction, and count the bytes (see the module docstring)."""
    work = Workload(residents, seed=1, site="rose-court")
    bodies = work.bodies(residents * seconds, 5000)
    with (
        tempfile.TemporaryDirectory(prefix="influx-disk-") as tmp,
        _CompactingInfluxDB(Path(tmp)) as server,
    ):
        client = InfluxClient(server.url, _DB)
        client.query(f'CREATE DATABASE "{_DB}"', db=False)
        started = time.monotonic()
        for body in bodies:
            client.write(body)
        write_s = time.monotonic() - started
        data, wal = Path(tmp) / "data" / _DB, Path(tmp) / "wal" / _DB
        deadline, last, steady = time.monotonic() + settle_s, -1, 0
        while time.monotonic() < deadline and steady < 4:  # the WAL empty, files settled 8 s
            time.sleep(2.0)
            now = _size(data, "*.tsm")
            steady = steady + 1 if _size(wal, "*.wal") == 0 and now == last else 0
            last = now
        files = len(list(data.rglob("*.tsm")))
        tsm = _size(data, "*.tsm")
        index = _size(data, "index*") + _size(data, "*.tsi")
    readings = residents * seconds
    per = tsm / readings
    return {
        "residents": residents,
        "seconds": seconds,
        "readings": readings,
        "write_s": round(write_s, 1),
        "tsm_bytes": tsm,
        "bytes_per_reading": round(per, 2),
        "gb_per_day_per_1000": round(per * 1000 * 86_400 / 1e9, 2),
        "index_bytes": index,
        "tsm_files": files,
    }


def main(argv: list[str]) -> int:
    residents = int(argv[0]) if argv else 1000
    seconds = int(argv[1]) if len(argv) > 1 else 600
    print(json.dumps(measure(residents, seconds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
