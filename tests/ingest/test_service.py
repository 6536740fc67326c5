"""The Ingestor in-process against the real servers: every bad input becomes a dead letter
with its exact reason, and every good message around them is stored exactly once."""

from __future__ import annotations

import json
import time

import httpx

from careloop.wire import CommandMessage, Topic, encode
from ingest import DeadLetterStore, Ingestor
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


def reading_msg(kind: str, device: str, resident: str, readings: list[dict]) -> bytes:
    body = {"v": 1, "device": device, "resident": resident, "seq": 1, "ts": T0}
    return json.dumps({**body, "readings": readings}).encode()


def test_bad_inputs_are_dead_lettered_with_their_reason_and_good_ones_all_stored(
    mosquitto, influxdb, influx_db, tmp_path, unique_topic_root, database_url
):
    site, url = unique_topic_root, database_url
    register(tmp_path, site, ("term-a", "ra"), ("term-b", "rb"), url=url)
    settings = ingest_settings(mosquitto, influxdb, influx_db, tmp_path, database_url=url)
    t = {kind: str(Topic(site, "term-a", kind)) for kind in ("vitals", "event", "status", "cmd")}

    def a(ts, resident="ra", **fields):
        return vitals("term-a", resident, 1, ts, **fields)

    big = a(T0, posture="lying") + b" " * (64 * 1024)
    bad = [
        (t["vitals"], b"{not json", "json_invalid:payload"),
        (t["vitals"], b"[]", "model_type:payload"),
        (t["vitals"], a(T0 + 1, heart_rate="72"), "float_type:heart_rate"),
        (t["vitals"], a(T0 + 2, steps=1.5), "int_type:steps"),
        (t["vitals"], a(T0 + 3, heart_rate=900), "less_than_equal:heart_rate"),
        (t["vitals"], a(T0 + 4, selfie=1), "extra_forbidden:other"),
        (t["vitals"], big, "too_large:payload"),
        (f"careloop/v1/{site}/term-a/selfie", a(T0 + 5), "bad_topic:kind"),
        (f"careloop/v1/{site}/term a/vitals", vitals("term a", "ra", 1, T0 + 6), "bad_id:device"),
        (str(Topic(site, "term-x", "vitals")), vitals("term-x", "rx", 1, T0 + 7), "unknown_device"),
        # the payload claims another device than the topic it came on
        (t["vitals"], vitals("term-b", "rb", 1, T0 + 8), "spoofed:device"),
        # a registered device claiming another resident, or speaking from another site
        (t["vitals"], a(T0 + 9, resident="rb"), "spoofed"),
        (str(Topic(f"{site}x", "term-a", "vitals")), a(T0 + 10), "spoofed"),
        (t["status"], b'{"v":1,"device":"term-a","resident":"ra","seq":1,"ts":1,"state":"on"}',
         "greater_than_equal:ts"),
    ]  # fmt: skip
    good = 0
    with Ingestor(settings) as ingest, MqttTestClient(mosquitto.host, mosquitto.port) as dev:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        for i, (topic, payload, _) in enumerate(bad):
            dev.publish(t["vitals"], vitals("term-a", "ra", 1, T0 + 1000 * (i + 1)))
            good += 1
            dev.publish(topic, payload)
        event = [{"ts": T0, "type": "door"}, {"ts": T0, "type": "sos_button", "confidence": 1}]
        dev.publish(t["event"], reading_msg("event", "term-a", "ra", event))
        status = b'{"v":1,"device":"term-a","resident":"ra","seq":3,"ts":%d,"state":"online"}' % T0
        dev.publish(t["status"], status)
        dev.publish(t["cmd"], encode(CommandMessage(id="c1", ts=T0, action="ping")))
        assert wait_count(influxdb, influx_db, "vitals", "heart_rate", good, 20) == good
        assert count(influxdb, influx_db, "event", "n") == 2  # same ms, different types
        assert count(influxdb, influx_db, "device_status", "state") == 1
        wait_until(lambda: ingest.counts()["rejected"] == len(bad), 10, "dead letters missing")
        counts = ingest.counts()
        metrics = ingest.metrics
    with DeadLetterStore(tmp_path / "ingest" / "deadletters.sqlite3", url=url) as store:
        letters = list(reversed(store.latest(limit=100)))
    assert not (settings.paths.deadletters_held.exists() and url)  # nothing was held
    assert [d.reason for d in letters] == [reason for _, _, reason in bad]
    assert [d.topic for d in letters] == [topic for topic, _, _ in bad]
    assert letters[0].payload == b"{not json"
    too_large = letters[6]
    assert too_large.size == len(big) and len(too_large.payload) == 4096
    assert counts["received"] == len(bad) * 2 + 3
    assert counts["acked"] == counts["received"]
    assert metrics.value("careloop_ingest_rejected_total", reason="spoofed") == 2
    assert metrics.value("careloop_ingest_ignored_total") == 1


def test_a_device_registered_while_running_is_accepted_without_restart(
    ingestor, mosquitto, influxdb, influx_db, tmp_path, unique_topic_root
):
    site = unique_topic_root
    topic = str(Topic(site, "voice-1", "vitals"))
    with MqttTestClient(mosquitto.host, mosquitto.port) as dev:
        dev.publish(topic, vitals("voice-1", "r1", 1, T0))
        wait_until(lambda: ingestor.counts()["rejected"] == 1, 10, "not rejected")
        register(tmp_path, site, ("voice-1", "r1"))  # another process writes the registry
        dev.publish(topic, vitals("voice-1", "r1", 2, T0 + 1))
        assert wait_count(influxdb, influx_db, "vitals", "heart_rate", 1, 10) == 1
    assert ingestor.metrics.value("careloop_ingest_rejected_total", reason="unknown_device") == 1


def test_auto_register_takes_unknown_devices_on_first_sight(
    mosquitto, influxdb, influx_db, tmp_path, unique_topic_root
):
    site = unique_topic_root
    settings = ingest_settings(
        mosquitto, influxdb, influx_db, tmp_path, auto_register=True, metrics_port=0
    )
    with Ingestor(settings) as ingest, MqttTestClient(mosquitto.host, mosquitto.port) as dev:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        for n in range(5):
            dev.publish(str(Topic(site, f"d{n}", "vitals")), vitals(f"d{n}", f"r{n}", 1, T0))
        # once registered, the binding holds: d0 may not speak for r1
        dev.publish(str(Topic(site, "d0", "vitals")), vitals("d0", "r1", 2, T0 + 1))
        assert wait_count(influxdb, influx_db, "vitals", "heart_rate", 5, 10) == 5
        wait_until(lambda: ingest.counts()["rejected"] == 1, 10, "spoof not rejected")
    with ingest_registry(tmp_path) as registry:
        assert {(d.device, d.resident, d.site) for d in registry.devices()} == {
            (f"d{n}", f"r{n}", site) for n in range(5)
        }


def ingest_registry(tmp_path):
    from people import DeviceRegistry

    return DeviceRegistry(tmp_path / "people.sqlite3")


def test_metrics_are_served_on_their_own_registry(
    mosquitto, influxdb, influx_db, tmp_path, unique_topic_root
):
    from devservers import free_port

    port = free_port()
    site = unique_topic_root
    register(tmp_path, site, ("t1", "r1"))
    settings = ingest_settings(mosquitto, influxdb, influx_db, tmp_path, metrics_port=port)
    with Ingestor(settings) as ingest, MqttTestClient(mosquitto.host, mosquitto.port) as dev:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        dev.publish(str(Topic(site, "t1", "vitals")), vitals("t1", "r1", 1, T0, T0 + 1))
        wait_count(influxdb, influx_db, "vitals", "heart_rate", 2, 10)
        wait_until(lambda: ingest.counts()["acked"] == 1, 5, "not acked")
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", trust_env=False).text
    for name in (
        "careloop_ingest_received_total 1.0",
        "careloop_ingest_readings_written_total 2.0",
        "careloop_ingest_spool_bytes 0.0",
        "careloop_ingest_write_seconds_count",
        "careloop_ingest_lag_seconds_count 1.0",
    ):
        assert name in text
    assert "python_gc" not in text  # not the global default registry
