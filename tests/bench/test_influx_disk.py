"""The disk-per-reading benchmark on a real influxd: the data ends up compacted in TSM files,
and a reading costs far less on disk than in line protocol (what the storage plan relies on)."""

from __future__ import annotations

from bench.influx_disk import measure
from bench.spool_size import measure as spool_measure


def test_a_reading_costs_less_on_disk_than_in_line_protocol() -> None:
    got = measure(residents=50, seconds=120, settle_s=40.0)
    assert got["readings"] == 6000 and got["tsm_files"] >= 1, got
    line_protocol = spool_measure(residents=50, seconds=120)["bytes_per_reading"]
    assert 0 < got["bytes_per_reading"] < line_protocol / 2, (got, line_protocol)
    assert abs(got["gb_per_day_per_1000"] - got["bytes_per_reading"] * 0.0864) < 0.01, got
