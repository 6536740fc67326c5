"""Dead letters on PostgreSQL while the server is away (ingest.held): held in a local
file without blocking the batch, moved to the server in order once it is back, kept
across a restart of ingest; and ingest's good readings keep flowing meanwhile."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from careloop.wire import Topic
from devservers import PostgreSQL
from ingest import DeadLetter, DeadLetterStore, Ingestor
from ingest.held import HeldDeadLetters
from tests.helpers.mqtt import MqttTestClient
from tests.ingest.conftest import T0, ingest_settings, register, vitals, wait_count, wait_until


def _letters(*names: str) -> list[DeadLetter]:
    return [DeadLetter.make(f"t/{n}", "bad_json", n, b"{") for n in names]


def test_letters_are_held_while_the_server_is_away_and_moved_in_order(
    private_postgres: PostgreSQL, tmp_path: Path
) -> None:
    url = private_postgres.create_database("care")
    held_path = tmp_path / "held.sqlite3"
    counted: list[int] = []
    with DeadLetterStore(tmp_path / "unused.sqlite3", url=url) as store:
        held = HeldDeadLetters(store, held_path, on_held=counted.append)
        held.add(_letters("a"))  # the server is up: straight there
        assert held.held == 0 and not held_path.exists()
        private_postgres.stop()
        started = time.monotonic()
        held.add(_letters("b", "c"))  # fails on the server, kept locally
        held.add(_letters("d"))  # while anything is held: locally, server not tried
        assert time.monotonic() - started < 5
        assert held.held == 3 and counted[-1] == 3
        assert oct(held_path.stat().st_mode & 0o777) == "0o600"
        held.close()

        again = HeldDeadLetters(store, held_path)  # ingest restarted: still held
        assert again.held == 3 and again.wake.is_set()
        assert not again.flush()  # the server is still away: nothing lost
        assert again.held == 3 and again.retry_in > 0
        private_postgres.start()
        stop = threading.Event()
        mover = threading.Thread(target=again.run, args=(stop,), daemon=True)
        mover.start()
        try:
            wait_until(lambda: again.held == 0, 60, "held letters not moved")
        finally:
            stop.set()
            mover.join(10)
        assert [d.detail for d in reversed(store.latest(limit=10))] == ["a", "b", "c", "d"]
        again.add(_letters("e"))  # nothing held: straight to the server again
        assert again.held == 0 and store.latest(limit=1)[0].detail == "e"
        again.close()
    with DeadLetterStore(held_path) as local:
        assert local.counts() == {}


def test_ingest_keeps_storing_readings_while_the_dead_letters_database_is_away(
    private_postgres: PostgreSQL, mosquitto, influxdb, influx_db, tmp_path, unique_topic_root
) -> None:
    url = private_postgres.create_database("care")
    site = unique_topic_root
    register(tmp_path, site, ("term-a", "ra"), url=url)
    settings = ingest_settings(mosquitto, influxdb, influx_db, tmp_path, database_url=url)
    topic = str(Topic(site, "term-a", "vitals"))
    with Ingestor(settings) as ingest, MqttTestClient(mosquitto.host, mosquitto.port) as dev:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        private_postgres.stop()
        for n in range(5):
            dev.publish(topic, vitals("term-a", "ra", 1, T0 + 1000 * n))
            dev.publish(topic, b"{not json %d" % n)
        assert wait_count(influxdb, influx_db, "vitals", "heart_rate", 5, 20) == 5
        wait_until(lambda: ingest.counts()["acked"] == 10, 10, "not all acknowledged")
        gauge = "careloop_ingest_deadletters_held"
        assert ingest.metrics.value(gauge) == 5
        private_postgres.start()
        wait_until(lambda: ingest.metrics.value(gauge) == 0, 60, "held letters not moved")
    with DeadLetterStore(settings.paths.deadletters, url=url) as store:
        letters = list(reversed(store.latest(limit=10)))
    assert [d.payload for d in letters] == [b"{not json %d" % n for n in range(5)]
    assert not settings.paths.deadletters.exists()  # no SQLite file of dead letters
