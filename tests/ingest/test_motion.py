"""Motion windows through ingest on the real servers: one summary point per good window,
never the raw samples; a bad window dead-letters its message with the reason, a tag
speaking for another resident is refused, and nothing else is lost."""

from __future__ import annotations

import json
import time

from careloop.wire import Topic
from ingest import DeadLetterStore, Ingestor
from simulators.motion import motion_window
from tests.helpers.mqtt import MqttTestClient
from tests.ingest.conftest import (
    T0,
    count,
    ingest_settings,
    register,
    vitals,
    wait_count,
    wait_until,
)


def motion(resident: str, *windows: dict) -> bytes:
    body = {"v": 1, "device": "tag-a", "resident": resident, "seq": 1, "ts": T0 + 600_000}
    return json.dumps({**body, "readings": list(windows)}).encode()


def test_motion_summaries_are_stored_and_bad_windows_dead_lettered(
    mosquitto, influxdb, influx_db, tmp_path, unique_topic_root
):
    site = unique_topic_root
    register(tmp_path, site, ("tag-a", "ra"), ("term-a", "ra"), ("tag-b", "rb"))
    settings = ingest_settings(mosquitto, influxdb, influx_db, tmp_path)
    topic = str(Topic(site, "tag-a", "motion"))
    w1, w2, w3 = (motion_window("walking", T0 + k * 30_000) for k in range(3))
    shifted = {**w3, "ts": w3["ts"] + 5}
    bad = [
        (motion("ra", shifted), "value_error:t_ms"),
        # one good window and one of 1,025 samples: the whole message is refused
        (motion("ra", w3, {**w3, "t_ms": [0] * 1025}), "too_long:t_ms"),
        (motion("ra", {**w3, "peak_mg": w3["peak_mg"][:-1]}), "value_error:peak_mg"),
        (motion("rb", w3), "spoofed"),  # tag-a is ann's, not ben's
    ]
    with Ingestor(settings) as ingest, MqttTestClient(mosquitto.host, mosquitto.port) as dev:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        dev.publish(topic, motion("ra", w1, w2))
        for i, (payload, _) in enumerate(bad):
            dev.publish(topic, payload)
            dev.publish(str(Topic(site, "term-a", "vitals")), vitals("term-a", "ra", i, T0 + i))
        assert wait_count(influxdb, influx_db, "vitals", "heart_rate", len(bad), 20) == len(bad)
        assert wait_count(influxdb, influx_db, "motion", "samples", 2, 20) == 2
        wait_until(lambda: ingest.counts()["rejected"] == len(bad), 10, "dead letters missing")
    with DeadLetterStore(tmp_path / "ingest" / "deadletters.sqlite3") as store:
        letters = list(reversed(store.latest(limit=10)))
    assert [d.reason for d in letters] == [reason for _, reason in bad]
    assert "the last value must be ts - start" in letters[0].detail
    rows = influxdb.query('SELECT * FROM "motion" ORDER BY time', influx_db)["results"][0]
    [series] = rows["series"]
    got = [dict(zip(series["columns"], v, strict=True)) for v in series["values"]]
    assert [r["samples"] for r in got] == [len(w1["t_ms"]), len(w2["t_ms"])]
    assert [r["start"] for r in got] == [w1["start"], w2["start"]]
    assert got[0]["span_ms"] == w1["t_ms"][-1] and got[0]["peak_mg"] == max(w1["peak_mg"])
    # a summary, not the samples: no per-sample field exists
    assert set(series["columns"]) == {
        "time", "device", "peak_mg", "resident", "samples", "site", "span_ms", "start",
    }  # fmt: skip
    assert count(influxdb, influx_db, "motion", "samples", "resident = 'rb'") == 0
