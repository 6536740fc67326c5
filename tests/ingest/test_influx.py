"""The /write client and the sink against a real InfluxDB: what counts as down, what counts
as refused, and that a refused message is dead-lettered while the rest of its batch lands."""

from __future__ import annotations

import pytest

from careloop.servers import free_port
from ingest import DeadLetterStore, InfluxRejected, InfluxUnavailable, InfluxWriter, Spool
from ingest.batch import Batch
from ingest.metrics import IngestMetrics
from ingest.sink import Sink
from tests.ingest.conftest import count


def test_writer_sorts_answers_into_down_and_refused(influxdb, influx_db):
    writer = InfluxWriter(influxdb.url, influx_db)
    writer.write(b"m,t=a f=1.0 1000")
    with pytest.raises(InfluxRejected, match="field type conflict") as refused:
        writer.write(b"m,t=a f=2i 2000")
    assert refused.value.status == 400
    with pytest.raises(InfluxUnavailable, match="database not found"):
        InfluxWriter(influxdb.url, "no_such_db").write(b"m f=1.0 1")
    with pytest.raises(InfluxUnavailable, match="Connection refused"):
        InfluxWriter(f"http://127.0.0.1:{free_port()}", influx_db).write(b"m f=1.0 1")
    writer.write(b"m,t=a f=3.0 3000")  # the connection survived the 400
    writer.close()


def make_sink(influx, db, tmp_path) -> Sink:
    return Sink(
        lambda: InfluxWriter(influx.url, db, timeout=5),
        Spool(tmp_path / "spool", max_bytes=1 << 20),
        DeadLetterStore(tmp_path / "dead.sqlite3"),
        IngestMetrics(),
    )


def batch_of(lines_per_message: list[list[str]]) -> Batch:
    batch = Batch(1, 0)
    for n, lines in enumerate(lines_per_message):
        batch.add(n + 1, 1, f"careloop/v1/s/d{n}/vitals", f"payload {n}".encode(), lines, 0)
    return batch


def test_refused_messages_are_found_and_dead_lettered(influxdb, influx_db, tmp_path):
    influxdb.write(influx_db, "vitals,device=d f=1.0 1")  # f is a float from now on
    sink = make_sink(influxdb, influx_db, tmp_path)
    messages = [[f"vitals,device=d{n} f={n}.0 {1000 + n}"] for n in range(20)]
    messages[7] = ["vitals,device=d7 f=7i 1007"]  # type conflict
    messages[13] = ["vitals,device=d13 f=13.0 1013", "vitals,device=d13 f=1i 1014"]
    sink.store(batch_of(messages))
    assert count(influxdb, influx_db, "vitals", "f") == 1 + 18 + 1  # d13's good line too
    letters = sink.deadletters.latest()
    assert sorted(d.payload for d in letters) == [b"payload 13", b"payload 7"]
    assert {d.reason for d in letters} == {"influx_rejected"}
    assert "field type conflict" in letters[0].detail
    assert len(sink.spool) == 0


def test_down_means_spool_then_replay_in_order(influxdb, influx_db, tmp_path):
    sink = make_sink(influxdb, influx_db, tmp_path)
    good = sink._connect
    sink._connect = lambda: InfluxWriter(f"http://127.0.0.1:{free_port()}", influx_db)
    sink.store(batch_of([["m v=1.0 1"], ["m v=2.0 2"]]))
    sink._local.writer = None
    sink._connect = good
    sink.store(batch_of([["m v=3.0 3"]]))  # InfluxDB is back, but the spool goes first
    assert len(sink.spool) == 2 and count(influxdb, influx_db, "m", "v") == 0
    assert sink.replay_once() and sink.replay_once()
    assert len(sink.spool) == 0 and count(influxdb, influx_db, "m", "v") == 3
    assert sink.metrics.value("careloop_ingest_readings_written_total") == 3
