"""Ingest over two real InfluxDB shards: each site's points land on its own shard only, and
a shard that is down holds only its own site's points (spooled, then written exactly once
when it is back) while the other site keeps flowing; the metrics name the shard."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from careloop.settings import Settings, load_settings
from careloop.wire import Topic
from devservers import InfluxDB, Mosquitto, free_port
from ingest import Ingestor
from tests.helpers.mqtt import MqttTestClient
from tests.ingest.conftest import T0, count, register, vitals, wait_count, wait_until


def sharded_settings(
    broker: Mosquitto, a: InfluxDB, b: InfluxDB, db: str, data_dir: Path, site_b: str
) -> Settings:
    """An in-process Ingestor's settings with shard ``b`` holding ``site_b``."""
    return load_settings(
        data_dir=str(data_dir),
        mqtt={"host": broker.host, "port": broker.port, "backoff_initial": 0.1, "backoff_max": 1},
        influx={"url": a.url, "database": db, "shards": {"b": b.url}, "sites": {site_b: "b"}},
        ingest={
            "client_id": f"ingest-{uuid.uuid4().hex[:8]}",
            "share_group": f"g{uuid.uuid4().hex[:8]}",
            "max_delay": 0.05,
            "stats_interval": 0,
            "session_expiry": 60,
            "metrics_port": free_port(),
        },
    )


class Two:
    """Sites A (shard ``default``) and B (shard ``b``), one device each, and a publisher."""

    def __init__(self, broker, shard_a, shard_b, db, data_dir, root):
        self.a, self.b = f"{root}a", f"{root}b"
        self.shard_a, self.shard_b, self.db = shard_a, shard_b, db
        register(data_dir, self.a, ("term-a", "ra"))
        register(data_dir, self.b, ("term-b", "rb"))
        self.settings = sharded_settings(broker, shard_a, shard_b, db, data_dir, self.b)
        self.broker = broker
        self.sent = {"a": 0, "b": 0}

    def publish(self, dev: MqttTestClient, messages: int, per: int = 5) -> None:
        """``messages`` vitals messages of ``per`` readings from each site's device."""
        for key, site, device, resident in (("a", self.a, "term-a", "ra"),
                                            ("b", self.b, "term-b", "rb")):  # fmt: skip
            topic = str(Topic(site, device, "vitals"))
            for _ in range(messages):
                n = self.sent[key]
                stamps = [T0 + (n + i) * 1000 for i in range(per)]
                dev.publish(topic, vitals(device, resident, n + 1, *stamps))
                self.sent[key] += per

    def stored(self, server: InfluxDB, site: str) -> int:
        return count(server, self.db, "vitals", "heart_rate", f"site='{site}'")


@pytest.fixture
def two(mosquitto, influxdb, influx_db, private_influxdb, tmp_path, unique_topic_root):
    private_influxdb.create_database(influx_db)
    return Two(mosquitto, influxdb, private_influxdb, influx_db, tmp_path, unique_topic_root)


@pytest.fixture
def dev(mosquitto) -> Iterator[MqttTestClient]:
    with MqttTestClient(mosquitto.host, mosquitto.port) as client:
        yield client


def shard_metric(ingest: Ingestor, name: str, shard: str) -> float:
    return ingest.metrics.value(f"careloop_ingest_shard_{name}", shard=shard)


def test_each_sites_points_land_on_its_shard_only(two: Two, dev: MqttTestClient) -> None:
    with Ingestor(two.settings) as ingest:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        two.publish(dev, 20)
        got_a = wait_count(two.shard_a, two.db, "vitals", "heart_rate", 100, 20, f"site='{two.a}'")
        got_b = wait_count(two.shard_b, two.db, "vitals", "heart_rate", 100, 20, f"site='{two.b}'")

        def written() -> tuple[float, float]:
            return tuple(
                shard_metric(ingest, "readings_written_total", s) for s in ("default", "b")
            )

        wait_until(lambda: written() == (100, 100), 20, f"not acknowledged: {written()}")
    assert (got_a, got_b) == (100, 100)
    assert two.stored(two.shard_a, two.b) == 0  # B's points never reach shard A
    assert two.stored(two.shard_b, two.a) == 0  # nor A's shard B


def test_a_shard_down_holds_only_its_sites_points_then_gets_them_once(
    two: Two, dev: MqttTestClient, tmp_path: Path
) -> None:
    with Ingestor(two.settings) as ingest:
        wait_until(lambda: ingest.connected, 10, "no connection")
        time.sleep(0.3)
        two.publish(dev, 10)
        # Acknowledged by shard b (a fresh influxd may answer a first write "500 write
        # failed" and keep it all the same: that batch is spooled and replayed, as it must).
        written = lambda: shard_metric(ingest, "readings_written_total", "b")  # noqa: E731
        wait_until(lambda: written() == 50, 20, "shard b not written")
        two.shard_b.stop()
        two.publish(dev, 30)
        # Site A keeps flowing while shard b is down...
        assert wait_count(two.shard_a, two.db, "vitals", "heart_rate", 200, 20) == 200
        # ...and site B's points wait in shard b's spool, which the metrics name.
        wait_until(lambda: shard_metric(ingest, "readings_waiting", "b") == 150, 20, "no wait")
        up_while_down = {s: shard_metric(ingest, "up", s) for s in ("default", "b")}
        waiting_a = shard_metric(ingest, "readings_waiting", "default")
        spool_b = next(tmp_path.glob("ingest/spool/*@b"))
        spooled_files = len(list(spool_b.glob("*.lp")))
        readyz = f"http://127.0.0.1:{ingest.metrics_port}/readyz"
        ready_while_down = httpx.get(readyz, trust_env=False)
        two.shard_b.start()
        wait_until(lambda: shard_metric(ingest, "readings_waiting", "b") == 0, 30, "no replay")
        stored_b = wait_count(two.shard_b, two.db, "vitals", "heart_rate", 200, 20)
        written_b = shard_metric(ingest, "readings_written_total", "b")
        up_after = shard_metric(ingest, "up", "b")
        ready_after = httpx.get(readyz, trust_env=False)
        exposed = httpx.get(f"http://127.0.0.1:{ingest.metrics_port}/metrics", trust_env=False)
        counts = ingest.counts()
    assert up_while_down == {"default": 1.0, "b": 0.0}
    assert ready_while_down.status_code == 503
    assert ready_while_down.json()["checks"] == {
        "broker": True, "influxdb": False, "influxdb:default": True, "influxdb:b": False,
    }  # fmt: skip
    assert ready_after.status_code == 200, ready_after.text
    assert 'careloop_ingest_shard_readings_written_total{shard="b"} 200.0' in exposed.text
    assert waiting_a == 0
    assert spooled_files >= 1
    assert stored_b == 200  # every point of site B, on shard b...
    assert written_b == 200  # ...each written once: 50 directly, 150 by replay
    assert two.stored(two.shard_a, two.b) == 0  # none of them detoured to shard A
    assert two.stored(two.shard_b, two.a) == 0
    assert up_after == 1.0
    assert counts["spooled_batches"] == 0 and counts["rejected"] == 0
