"""What ingest holds in flight: the broker's window (MQTT v5 Receive Maximum) and, while the
writers are behind, holding back from the socket at a bound counted in readings."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from careloop.settings import load_settings
from careloop.wire import Topic
from ingest import Ingestor
from ingest.batch import Batch
from ingest.config import hold_limit, receive_maximum
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


def test_window_and_hold_limit_follow_the_settings():
    def cfg(**ingest):
        return load_settings(ingest=ingest).ingest

    assert receive_maximum(cfg()) == 4 * cfg().max_batch_messages  # 2 writers + 2
    assert receive_maximum(cfg(writers=1, max_batch_messages=1000)) == 3000
    assert receive_maximum(cfg(writers=8, max_batch_messages=32_000)) == 65535  # MQTT's max
    assert hold_limit(cfg(writers=3, max_batch_readings=700)) == 3500


@contextmanager
def writers_blocked(ingest: Ingestor) -> Iterator[threading.Event]:
    """Every batch waits at the sink until the event is set (set on exit in any case)."""
    gate = threading.Event()
    sink = ingest._sink
    assert sink is not None
    store = sink.store

    def blocked(batch: Batch) -> None:
        gate.wait(60)
        store(batch)

    sink.store = blocked  # type: ignore[method-assign]  # test double for the writers
    try:
        yield gate
    finally:
        gate.set()


def test_the_window_is_ingests_receive_maximum_not_the_brokers_inflight_limit(
    mosquitto, influxdb, influx_db, tmp_path, unique_topic_root
):
    """Mosquitto 2.0 (max_inflight_messages 1000 here) sends a v5 client as many
    unacknowledged messages as its Receive Maximum allows: (1 writer + 2) x 1000."""
    site = unique_topic_root
    register(tmp_path, site, ("term-a", "ra"))
    settings = ingest_settings(
        mosquitto, influxdb, influx_db, tmp_path,
        writers=1, max_batch_messages=1000, max_batch_readings=100_000,
    )  # fmt: skip
    assert mosquitto.max_inflight_messages == 1000
    topic = str(Topic(site, "term-a", "vitals"))
    sent = 3500
    with Ingestor(settings) as ingest, MqttTestClient(mosquitto.host, mosquitto.port) as dev:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        with writers_blocked(ingest) as gate:
            for i in range(sent):
                dev.client.publish(topic, vitals("term-a", "ra", i, T0 + i), qos=1)
            wait_until(lambda: ingest._received >= 3000, 20, "the window was not filled")
            time.sleep(0.5)
            assert ingest._received == 3000  # nothing more until batches are acknowledged
            gate.set()
            assert wait_count(influxdb, influx_db, "vitals", "heart_rate", sent, 30) == sent
        wait_until(lambda: ingest.counts()["acked"] == sent, 10, "not all acknowledged")


def test_ingest_stops_reading_while_its_writers_are_behind(
    mosquitto, influxdb, influx_db, tmp_path, unique_topic_root
):
    """Ten readings a message, batches of 10 readings, one writer: at (1 + 2) x 10 held
    readings the MQTT thread leaves the socket alone, far below the 3000-message window."""
    site = unique_topic_root
    register(tmp_path, site, ("term-a", "ra"))
    settings = ingest_settings(
        mosquitto, influxdb, influx_db, tmp_path,
        writers=1, max_batch_messages=1000, max_batch_readings=10,
    )  # fmt: skip
    topic = str(Topic(site, "term-a", "vitals"))
    sent = 12
    with Ingestor(settings) as ingest, MqttTestClient(mosquitto.host, mosquitto.port) as dev:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        with writers_blocked(ingest) as gate:
            for i in range(sent):
                stamps = [T0 + 10 * i + j for j in range(10)]
                dev.publish(topic, vitals("term-a", "ra", i, *stamps))
                if i == 2:  # 30 readings in 3 sealed batches: from here on it holds
                    wait_until(lambda: ingest._received == 3, 10, "first messages not read")
            time.sleep(1.0)
            assert ingest._received == 3
            assert ingest.connected
            assert count(influxdb, influx_db, "vitals", "heart_rate") == 0
            gate.set()
            assert wait_count(influxdb, influx_db, "vitals", "heart_rate", 10 * sent, 30) == 120
        wait_until(lambda: ingest.counts()["acked"] == sent, 10, "not all acknowledged")
        assert ingest.counts()["rejected"] == 0


def test_messages_keep_their_order_and_payloads_through_a_hold(
    mosquitto, influxdb, influx_db, tmp_path, unique_topic_root
):
    """Holding back loses nothing and duplicates nothing: every reading's value arrives."""
    site = unique_topic_root
    register(tmp_path, site, ("term-a", "ra"))
    settings = ingest_settings(
        mosquitto, influxdb, influx_db, tmp_path,
        writers=1, max_batch_messages=5, max_batch_readings=5,
    )  # fmt: skip
    topic = str(Topic(site, "term-a", "vitals"))
    sent = 200
    with Ingestor(settings) as ingest, MqttTestClient(mosquitto.host, mosquitto.port) as dev:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        with writers_blocked(ingest) as gate:
            for i in range(sent):
                dev.client.publish(topic, vitals("term-a", "ra", i, T0 + i, steps=i), qos=1)
            time.sleep(1.0)
            assert ingest._received < sent
            gate.set()
            assert wait_count(influxdb, influx_db, "vitals", "steps", sent, 30) == sent
        wait_until(lambda: ingest.counts()["acked"] == sent, 10, "not all acknowledged")
    answer = influxdb.query('SELECT sum("steps") FROM "vitals"', influx_db)
    assert answer["results"][0]["series"][0]["values"][0][1] == sum(range(sent))


@pytest.mark.slow
def test_a_hold_longer_than_the_keepalive_keeps_the_connection(
    mosquitto, influxdb, influx_db, tmp_path, unique_topic_root
):
    """While holding, PUBACKs and PINGREQs still go out, and a PINGRESP is read when one is
    awaited: 12 s of blocked writers with a 5 s keepalive cost no reconnect."""
    site = unique_topic_root
    register(tmp_path, site, ("term-a", "ra"))
    settings = ingest_settings(
        mosquitto, influxdb, influx_db, tmp_path,
        writers=1, max_batch_messages=1000, max_batch_readings=10,
    )  # fmt: skip
    settings = settings.model_copy(
        update={"mqtt": settings.mqtt.model_copy(update={"keepalive": 5})}
    )
    topic = str(Topic(site, "term-a", "vitals"))
    sent = 6
    with Ingestor(settings) as ingest, MqttTestClient(mosquitto.host, mosquitto.port) as dev:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        generation = ingest._generation
        with writers_blocked(ingest) as gate:
            for i in range(sent):
                dev.publish(topic, vitals("term-a", "ra", i, *[T0 + 10 * i + j for j in range(10)]))
                if i == 2:
                    wait_until(lambda: ingest._received == 3, 10, "first messages not read")
            time.sleep(12)
            assert ingest.connected and ingest._generation == generation
            gate.set()
            assert wait_count(influxdb, influx_db, "vitals", "heart_rate", 10 * sent, 30) == 60
        # acknowledged on the connection they came on: there was no other
        wait_until(lambda: ingest.counts()["acked"] == sent, 10, "not all acknowledged")
        assert ingest._generation == generation
