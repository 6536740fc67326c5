"""The API over two real InfluxDB shards: each resident read from their site's shard, the
home page merged from both, erasure and retention on the right server, and /readyz and
the metrics naming the shard that is down.

Site A is on the session's shared InfluxDB (the ``default`` shard), site B on a second
influxd of this module's own (shard ``b``), which the last test stops and starts again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.api import create_app
from careloop.settings import load_settings
from devservers import InfluxDB, Mosquitto
from people import Consent, Directory, Resident, Site
from tests.helpers.api_server import serve_in_thread


@dataclass
class Sharded:
    base: str
    a: str
    b: str
    db: str
    token: str
    shard_a: InfluxDB
    shard_b: InfluxDB
    data_dir: Path

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.base, headers=headers, trust_env=False, timeout=20)


def lines(site: str, resident: str, t: int, heart_rate: float, n: int = 3) -> list[str]:
    tags = f"device=term-{resident},resident={resident},site={site}"
    return [f"vitals,{tags} heart_rate={heart_rate + i} {t + i * 1000}" for i in range(n)]


def points(server: InfluxDB, db: str, site: str, resident: str) -> int:
    q = f"SELECT count(heart_rate) FROM vitals WHERE site='{site}' AND resident='{resident}'"
    series = server.query(q, db)["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


@pytest.fixture(scope="module")
def shard_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    with InfluxDB(tmp_path_factory.mktemp("influx-b")) as server:
        yield server


@pytest.fixture(scope="module")
def sharded(
    mosquitto: Mosquitto,
    influxdb: InfluxDB,
    shard_b: InfluxDB,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sharded]:
    root = f"t{uuid.uuid4().hex[:8]}"
    a, b = f"{root}a", f"{root}b"
    db = f"shards_{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path_factory.mktemp("api-shards")
    for server in (influxdb, shard_b):
        server.create_database(db)
    settings = load_settings(
        site=a,
        data_dir=str(data_dir),
        mqtt={"host": mosquitto.host, "port": mosquitto.port},
        influx={
            "url": influxdb.url,
            "database": db,
            "shards": {"b": shard_b.url},
            "sites": {b: "b"},
        },
        api={"cookie_secure": False},
    )
    directory = Directory(data_dir / "people.sqlite3")
    for site in (a, b):
        directory.add_site(Site(site, f"Home {site}", "UTC", 0))
        for rid in ("r1", "r2"):
            directory.add_resident(Resident(site, rid, f"{rid} of {site}", "en"))
            directory.set_consent(Consent(site, rid, False, True, True, 0, "test"))
    token = directory.create_token("admin", "root", None)[0]
    now = int(time.time() * 1000) - 60_000
    # Each site's points on its shard; a decoy copy of A's r1 with other values on shard b,
    # which a read routed by site must never see.
    influxdb.write(db, lines(a, "r1", now, 60.0) + lines(a, "r2", now, 80.0))
    shard_b.write(db, lines(b, "r1", now, 90.0) + lines(b, "r2", now, 100.0))
    shard_b.write(db, lines(a, "r1", now, 150.0, n=5))
    app = create_app(settings, alert_service=False, directory=directory)
    server, thread, port = serve_in_thread(app)
    try:
        yield Sharded(f"http://127.0.0.1:{port}", a, b, db, token, influxdb, shard_b, data_dir)
    finally:
        server.should_exit = True
        thread.join(20)
        directory.close()
        influxdb.drop_database(db)


def heart_rates(world: Sharded, site: str, resident: str) -> list[float]:
    start = int(time.time() * 1000) - 3_600_000
    with world.client() as c:
        got = c.get(
            f"/api/v1/residents/{site}/{resident}/vitals",
            params={"fields": "heart_rate", "start": start},
        )
    assert got.status_code == 200, got.text
    return [v for _, v in got.json()["series"]["heart_rate"]]


def test_each_resident_is_read_from_their_sites_shard(sharded: Sharded) -> None:
    assert heart_rates(sharded, sharded.a, "r1") == [60.0, 61.0, 62.0]  # not the decoy
    assert heart_rates(sharded, sharded.b, "r1") == [90.0, 91.0, 92.0]
    assert heart_rates(sharded, sharded.b, "r2") == [100.0, 101.0, 102.0]


def test_the_home_page_merges_every_shard(sharded: Sharded) -> None:
    with sharded.client() as c:
        got = c.get("/api/v1/residents/overview")
    assert got.status_code == 200, got.text
    latest = {
        (item["site"], item["id"]): item["vitals"].get("heart_rate", {}).get("value")
        for item in got.json()["items"]
    }
    a, b = sharded.a, sharded.b
    # The decoy on shard b is A's r1 too: the merged answer then holds two series for it,
    # and the last one read wins; every other resident has exactly their own shard's value.
    assert latest[(a, "r2")] == 82.0
    assert latest[(b, "r1")] == 92.0
    assert latest[(b, "r2")] == 102.0


def test_retention_is_set_on_the_sites_shard_only(sharded: Sharded) -> None:
    with sharded.client() as c:
        put = c.put(f"/api/v1/sites/{sharded.b}/retention", json={"days": 30})
    assert put.status_code == 200, put.text
    assert put.json()["policy"] == f"site_{sharded.b}"

    def names(server: InfluxDB) -> set[str]:
        answer = server.query(f'SHOW RETENTION POLICIES ON "{sharded.db}"')
        return {row[0] for row in answer["results"][0]["series"][0]["values"]}

    assert f"site_{sharded.b}" in names(sharded.shard_b)
    assert f"site_{sharded.b}" not in names(sharded.shard_a)


def test_erasure_deletes_the_resident_on_their_shard_and_nothing_else(sharded: Sharded) -> None:
    a, b, db = sharded.a, sharded.b, sharded.db
    assert points(sharded.shard_b, db, b, "r2") == 3
    with sharded.client() as c:
        erased = c.post(f"/api/v1/residents/{b}/r2/erasure")
    assert erased.status_code == 201, erased.text
    receipt = erased.json()
    assert receipt["stores"]["influxdb"]["points"] == {"b:autogen.vitals": 3}
    assert receipt["stores"]["influxdb"]["remaining"] == 0
    assert points(sharded.shard_b, db, b, "r2") == 0
    # the rest of shard b, and shard a, untouched
    assert points(sharded.shard_b, db, b, "r1") == 3
    assert points(sharded.shard_b, db, a, "r1") == 5
    assert points(sharded.shard_a, db, a, "r1") == 3
    assert points(sharded.shard_a, db, a, "r2") == 3


def test_readyz_and_metrics_name_the_shard_that_is_down(sharded: Sharded) -> None:
    with sharded.client() as c:
        up = c.get("/readyz")
        assert up.json()["checks"] | {"broker": True} == {
            "broker": True, "influxdb": True, "influxdb:default": True, "influxdb:b": True,
            "sqlite": True, "database": True,
        }  # fmt: skip
        sharded.shard_b.stop()
        try:
            down = c.get("/readyz")
            metrics = c.get("/metrics").text
            # site A keeps being served; site B's reads say the database is unavailable
            still = c.get(f"/api/v1/residents/{sharded.a}/r1/vitals")
            gone = c.get(f"/api/v1/residents/{sharded.b}/r1/vitals")
        finally:
            sharded.shard_b.start()
        back = c.get("/readyz")
    assert down.status_code == 503
    checks = down.json()["checks"]
    assert checks["influxdb:b"] is False
    assert checks["influxdb:default"] is True
    assert checks["influxdb"] is False
    assert 'careloop_api_influx_shard_up{shard="b"} 0.0' in metrics
    assert 'careloop_api_influx_shard_up{shard="default"} 1.0' in metrics
    assert still.status_code == 200, still.text
    assert gone.status_code == 503, gone.text
    assert back.json()["checks"]["influxdb:b"] is True
