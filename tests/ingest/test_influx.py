"""The /write client and the sink against a real InfluxDB: what counts as down, what counts
as refused, and that a refused message is dead-lettered while the rest of its batch lands."""

from __future__ import annotations

import pytest

from careloop.influx import InfluxClient, InfluxRejected, InfluxUnavailable
from devservers import free_port
from ingest import DeadLetterStore, Spool
from ingest.batch import Batch
from ingest.metrics import IngestMetrics
from ingest.sink import Sink
from tests.ingest.conftest import count


def test_writer_sorts_answers_into_down_and_refused(influxdb, influx_db):
    writer = InfluxClient(influxdb.url, influx_db)
    writer.write(b"m,t=a f=1.0 1000")
    with pytest.raises(InfluxRejected, match="field type conflict") as refused:
        writer.write(b"m,t=a f=2i 2000")
    assert refused.value.status == 400
    with pytest.raises(InfluxUnavailable, match="database not found"):
        InfluxClient(influxdb.url, "no_such_db").write(b"m f=1.0 1")
    with pytest.raises(InfluxUnavailable, match="Connection refused"):
        InfluxClient(f"http://127.0.0.1:{free_port()}", influx_db).write(b"m f=1.0 1")
    writer.write(b"m,t=a f=3.0 3000")  # the connection survived the 400
    writer.close()


def make_sink(influx, db, tmp_path) -> Sink:
    return Sink(
        lambda: InfluxClient(influx.url, db, timeout=5),
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
    sink._connect = lambda: InfluxClient(f"http://127.0.0.1:{free_port()}", influx_db)
    sink.store(batch_of([["m v=1.0 1"], ["m v=2.0 2"]]))
    sink._local.writer = None
    sink._connect = good
    sink.store(batch_of([["m v=3.0 3"]]))  # InfluxDB is back, but the spool goes first
    assert len(sink.spool) == 2 and count(influxdb, influx_db, "m", "v") == 0
    assert sink.replay_once() and sink.replay_once()
    assert len(sink.spool) == 0 and count(influxdb, influx_db, "m", "v") == 3
    assert sink.metrics.value("careloop_ingest_readings_written_total") == 3


class CountingWriter(InfluxClient):
    """An InfluxClient that remembers every body it POSTs."""

    def __init__(self, *args, bodies: list[bytes], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bodies = bodies

    def write(self, body: bytes) -> None:
        self.bodies.append(body)
        super().write(body)


class UnitsForbidden(Batch):
    def units(self):
        raise AssertionError("a batch InfluxDB took was cut into units")


def test_a_batch_is_posted_once_and_cut_only_when_refused(influxdb, influx_db, tmp_path):
    sink = make_sink(influxdb, influx_db, tmp_path)
    bodies: list[bytes] = []
    sink._connect = lambda: CountingWriter(influxdb.url, influx_db, timeout=5, bodies=bodies)
    batch = UnitsForbidden(1, 0)
    for n in range(50):
        batch.add(n + 1, 1, f"t/{n}", b"p", [f"vitals,device=d{n} f={n}.0 {1000 + n}"], 0)
    sink.store(batch)
    assert bodies == [batch.body()]
    assert count(influxdb, influx_db, "vitals", "f") == 50

    bodies.clear()
    influxdb.write(influx_db, "vitals,device=d1 f=1.0 1")
    refused = batch_of([[f"vitals,device=d{n} f={n}.0 {2000 + n}"] for n in range(7)])
    refused.lines[3] = "vitals,device=d3 f=3i 2003"  # type conflict: one message refused
    sink.store(refused)
    # the whole body, then halves down to the refused message: 1 + 2 + 2 + 2 writes
    assert bodies[0] == refused.body()
    assert len(bodies) == 7
    assert [d.payload for d in sink.deadletters.latest()] == [b"payload 3"]
    assert count(influxdb, influx_db, "vitals", "f") == 50 + 1 + 6


def test_a_spooled_batch_with_a_refused_line_dead_letters_that_line(influxdb, influx_db, tmp_path):
    sink = make_sink(influxdb, influx_db, tmp_path)
    good = sink._connect
    sink._connect = lambda: InfluxClient(f"http://127.0.0.1:{free_port()}", influx_db)
    sink.store(batch_of([["m v=1.0 1", "m v=2i 2"], ["m v=3.0 3"]]))  # down: spooled
    assert len(sink.spool) == 1
    sink._local.writer = None
    sink._connect = good
    influxdb.write(influx_db, "m v=0.0 0")  # v is a float field from now on
    assert sink.replay_once()
    assert len(sink.spool) == 0
    assert count(influxdb, influx_db, "m", "v") == 3
    [letter] = sink.deadletters.latest()
    assert (letter.topic, letter.reason, letter.payload) == (
        "(spool)",
        "influx_rejected",
        b"m v=2i 2",
    )
    assert sink.metrics.value("careloop_ingest_readings_written_total") == 2
