"""Retention per site: a site's policy exists with its duration and its points land in it.

Real InfluxDB, real broker, real ingest. Site A has ``retention_days`` 30 (policy
``site_<A>``, 720h), site B has none (default policy). A policy created while ingest runs is
picked up by its periodic refresh, and a spooled batch is split by site on replay too.
"""

from __future__ import annotations

import json
import time

from app.privacy import apply_retention, policies, sources
from careloop.influx import InfluxClient
from careloop.wire import Topic
from ingest import DeadLetter, DeadLetterStore, Ingestor
from ingest.retention import REFRESH_S, rp_name
from people import Directory, Site
from people.retention import DAY_MS
from tests.helpers.mqtt import MqttTestClient
from tests.ingest.conftest import ingest_settings, register, wait_until


def vitals(device: str, resident: str, seq: int, ts: int) -> bytes:
    body = {"v": 1, "device": device, "resident": resident, "seq": seq, "ts": ts}
    return json.dumps({**body, "readings": [{"ts": ts, "heart_rate": 70.0}]}).encode()


def points(influxdb, db: str, rp: str, site: str) -> int:
    q = f'SELECT count(heart_rate) FROM "{db}"."{rp}"."vitals" WHERE site = \'{site}\''
    series = influxdb.query(q, db)["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def test_site_policy_and_points_in_it(mosquitto, influxdb, influx_db, tmp_path, unique_topic_root):
    a, b, c = f"{unique_topic_root}-a", f"{unique_topic_root}-b", f"{unique_topic_root}-c"
    register(tmp_path, a, ("dev-a", "r1"))
    register(tmp_path, b, ("dev-b", "r2"))
    register(tmp_path, c, ("dev-c", "r3"))
    writer = InfluxClient(influxdb.url, influx_db)
    try:
        made = apply_retention(writer, a, 30)
        assert made is not None and made.name == rp_name(a)
        assert {p.name: p.duration for p in policies(writer)}[rp_name(a)] == "720h0m0s"
        assert apply_retention(writer, b, 0) is None  # "keep" creates nothing

        now = int(time.time() * 1000)
        with (
            Ingestor(ingest_settings(mosquitto, influxdb, influx_db, tmp_path)) as ingest,
            MqttTestClient(mosquitto.host, mosquitto.port).connect() as pub,
        ):
            wait_until(lambda: ingest.connected, 10, "ingest did not connect")
            time.sleep(0.2)
            for i in range(3):
                pub.publish(str(Topic(a, "dev-a", "vitals")), vitals("dev-a", "r1", i, now + i))
                pub.publish(str(Topic(b, "dev-b", "vitals")), vitals("dev-b", "r2", i, now + i))
            wait_until(lambda: points(influxdb, influx_db, "autogen", b) == 3, 20, "site b")
            wait_until(lambda: points(influxdb, influx_db, rp_name(a), a) == 3, 20, "site a")
            assert points(influxdb, influx_db, "autogen", a) == 0  # none in the default
            assert points(influxdb, influx_db, rp_name(a), b) == 0

            # A policy made while ingest runs is used after its next refresh.
            apply_retention(writer, c, 7)
            time.sleep(REFRESH_S + 1.5)
            pub.publish(str(Topic(c, "dev-c", "vitals")), vitals("dev-c", "r3", 1, now))
            wait_until(lambda: points(influxdb, influx_db, rp_name(c), c) == 1, 20, "site c")
            assert points(influxdb, influx_db, "autogen", c) == 0

        # Readers name both places a site's points may be in.
        src = sources(influx_db, a, "vitals", policies(writer))
        assert src == f'"{influx_db}"."{rp_name(a)}"."vitals", "{influx_db}"."autogen"."vitals"'
        answer = influxdb.query(
            f"SELECT count(heart_rate) FROM {src} WHERE site = '{a}'", influx_db
        )
        assert sum(s["values"][0][1] for s in answer["results"][0]["series"]) == 3

        # Back to "keep": the policy stays (dropping it would drop its points), duration INF.
        kept = apply_retention(writer, a, 0)
        assert kept is not None and kept.duration == "0s"
        assert points(influxdb, influx_db, rp_name(a), a) == 3
    finally:
        writer.close()


def test_spool_replay_splits_by_site(influxdb, influx_db, tmp_path, unique_topic_root):
    from ingest import DeadLetterStore, IngestMetrics, Spool
    from ingest.lineproto import head
    from ingest.sink import Sink

    a, b = f"{unique_topic_root}-a", f"{unique_topic_root}-b"
    writer = InfluxClient(influxdb.url, influx_db)
    apply_retention(writer, a, 2)
    now = int(time.time() * 1000)
    lines = [
        f"{head('vitals', site, 'r1', 'd1')} heart_rate=70.0 {now + i}"
        for i, site in enumerate([a, b, a, b, a])
    ]
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20)
    spool.append("\n".join(lines).encode())
    dead = DeadLetterStore(tmp_path / "dead.sqlite3")
    sink = Sink(lambda: InfluxClient(influxdb.url, influx_db), spool, dead, IngestMetrics())
    try:
        sink.refresh_policies()
        assert dict(sink.policies.current) == {a: rp_name(a)}
        assert sink.replay_once() and len(spool) == 0
        assert points(influxdb, influx_db, rp_name(a), a) == 3
        assert points(influxdb, influx_db, "autogen", b) == 2
        assert points(influxdb, influx_db, "autogen", a) == 0
        assert dead.counts() == {}
    finally:
        sink.close()
        spool.close()
        dead.close()
        writer.close()


def test_dead_letters_are_kept_no_longer_than_their_site_keeps_data(
    mosquitto, influxdb, influx_db, tmp_path, unique_topic_root, database_url
):
    """Site A keeps 30 days, site B forever; a letter naming no site of the people database
    is kept as long as the strictest site keeps anything."""
    a, b = f"{unique_topic_root}-a", f"{unique_topic_root}-b"
    now = int(time.time() * 1000)
    old, recent = now - 40 * DAY_MS, now - 2 * DAY_MS
    url = database_url
    with Directory(tmp_path / "people.sqlite3", url=url) as people:
        people.add_site(Site(a, a, retention_days=30))
        people.add_site(Site(b, b))
    letters = {
        "a-old": (Topic(a, "dev-a", "vitals"), old),
        "a-recent": (Topic(a, "dev-a", "vitals"), recent),
        "b-old": (Topic(b, "dev-b", "vitals"), old),
        "ghost-old": (Topic(f"{unique_topic_root}-ghost", "dev-x", "vitals"), old),
        "ghost-recent": (Topic(f"{unique_topic_root}-ghost", "dev-x", "vitals"), recent),
        "garbage-old": ("careloop/v1/nonsense", old),
    }
    path = tmp_path / "ingest" / "deadletters.sqlite3"
    with DeadLetterStore(path, url=url) as dead:
        dead.add([DeadLetter.make(str(t), "bad_json", name, b"{", ts)
                  for name, (t, ts) in letters.items()])  # fmt: skip
    settings = ingest_settings(
        mosquitto,
        influxdb,
        influx_db,
        tmp_path,
        people={"retention_every": 0.2},
        database_url=url,
    )
    with Ingestor(settings):

        def kept() -> list[str]:
            with DeadLetterStore(path, url=url) as dead:
                return sorted(d.detail for d in dead.latest(limit=100))

        wait_until(lambda: len(kept()) == 3, 20, f"dead letters not swept: {kept()}")
    assert kept() == ["a-recent", "b-old", "ghost-recent"]
