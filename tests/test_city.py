"""Outgrowing one machine, all at once (docs/scale.md): two alert services, two API processes
without an alert service, two scorer partitions and ingest, on one real broker, one
PostgreSQL and two InfluxDB servers (a site each), through kill -9 of an alert service and of a
scorer partition, a broker restart and an InfluxDB shard stopped and started again. Every SOS
becomes one alert, paged once to each volunteer and escalated once; both API processes serve
the same board; every reading lands once, on its own site's shard.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alerts import AlertStore, write_offset
from careloop.settings import load_settings
from careloop.wire import Topic, data_message, encode
from careloop.wire.alerts import alert_subscription
from devservers import InfluxDB, Mosquitto, PostgreSQL, free_port
from people import Directory
from people.devices import Device, DeviceRegistry
from tests.alerts.conftest import SHARED, Apps, write_roster
from tests.helpers.mqtt import MqttTestClient
from tests.helpers.procs import start_alerts
from tests.runtime.conftest import site_per_partition
from tests.runtime.test_restart import wait_for_line

RESIDENTS = ("r0", "r1", "r2", "r3")
DB = "city"


class Pager(Apps):
    """A site's volunteers' apps on a persistent session: a broker restart loses no page."""

    def __init__(self, broker: Mosquitto, site: str) -> None:
        self.site = site
        self.client = MqttTestClient(
            broker.host, broker.port, client_id=f"apps-{site}", clean_session=False
        ).connect()
        self.client.subscribe(alert_subscription("volunteer", site))
        self.client.subscribe(f"careloop/v1/{site}/+/cmd")
        self.seen = []
        self.commands = []
        self.nonces = 0


class City:
    """The servers, the people database and every careloop process of the test."""

    def __init__(self, tmp: Path, broker: Mosquitto, shards: dict[str, InfluxDB], url: str):
        self.tmp, self.broker, self.shards, self.url = tmp, broker, shards, url
        self.sites = site_per_partition(f"c{uuid.uuid4().hex[:6]}")  # partition -> site
        self.env = {
            **os.environ,
            "CARELOOP_DATABASE_URL": url,
            "CARELOOP_INFLUX__URL": shards["default"].url,
            "CARELOOP_INFLUX__DATABASE": DB,
            "CARELOOP_INFLUX__SHARDS": json.dumps({"b": shards["b"].url}),
            "CARELOOP_INFLUX__SITES": json.dumps({self.sites[1]: "b"}),
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        write_offset(tmp / "offset", 0)
        for site in self.sites.values():
            settings = load_settings(site=site, data_dir=str(tmp / "data"), database_url=url)
            volunteers = [
                {"id": f"{site}-v{i}", "site": site, "languages": ["en"]} for i in range(8)
            ]
            volunteers.append({"id": f"{site}-c", "site": site, "coordinator": True})
            residents = [{"id": r, "site": site, "language": "en"} for r in RESIDENTS]
            consents = dict.fromkeys(RESIDENTS, SHARED)
            roster = {"volunteers": volunteers, "residents": residents, "consents": consents}
            write_roster(settings, roster)
        self.people = settings.paths.people
        with DeviceRegistry(self.people, url=url) as registry:
            registry.add(
                Device(self.device(s, r), s, r) for s in self.sites.values() for r in RESIDENTS
            )
        for server in shards.values():
            server.create_database(DB)

    @staticmethod
    def device(site: str, resident: str) -> str:
        return f"term-{site}-{resident}"

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def start(self, name: str, *args: str) -> None:
        port = self.ports.setdefault(name, free_port())
        cmd = [
            sys.executable, "-m", "app", *args, "--data-dir", str(self.tmp / "data"),
            "--mqtt-host", self.broker.host, "--mqtt-port", str(self.broker.port),
        ]  # fmt: skip
        if args[0] == "api":
            cmd += ["--port", str(port)]
        else:
            cmd += ["--metrics-port", str(port)]
        with self.log(name).open("ab") as out:
            self.procs[name] = subprocess.Popen(cmd, stdout=out, stderr=out, env=self.env)

    def alerts(self, name: str) -> None:
        """An alert service of every site (a replica: they share the alert store)."""
        port = self.ports.setdefault(name, free_port())
        self.procs[name] = start_alerts(
            self.broker, self.tmp / "data", self.log(name), client_id=f"city-{name}",
            clock_offset_file=self.tmp / "offset", lease=0.5, env=self.env,
            args=("--metrics-port", str(port)),
        )  # fmt: skip

    def scorer(self, k: int) -> None:
        self.start(
            f"score{k}", "score", "--partition", f"{k}/2", "--client-id", f"city-score-{k}",
            "--snapshot-every", "0.2", "--max-delay", "0.02", "--tick-every", "0.5",
        )  # fmt: skip

    def kill9(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def metric(self, name: str, metric: str) -> float:
        url = f"http://127.0.0.1:{self.ports[name]}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith(metric + " "):
                    return float(line.split()[1])
        return float("nan")

    def wait(self, what: str, check, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if check():
                    return
            except (OSError, httpx.HTTPError):
                pass  # not serving yet
            assert time.monotonic() < deadline, f"{what}: {self.tails()}"
            time.sleep(0.1)

    def tails(self) -> str:
        return "\n".join(
            f"--- {n}\n{self.log(n).read_text(errors='replace')[-1500:]}" for n in self.procs
        )

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


class Terminals:
    """Every resident's terminal: a vitals reading each round (a second of reading time every
    50 ms, starting two hours ago), on a thread; paused while the broker restarts."""

    def __init__(self, city: City, client: MqttTestClient) -> None:
        self.city, self.client = city, client
        self.t0 = int(time.time() * 1000) - 2 * 3_600_000
        self.rounds, self.seq = 0, 0
        self.sent: Counter[str] = Counter()  # site -> readings
        self.running = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _send(self, site: str, resident: str, kind: str, reading: dict[str, object]) -> None:
        self.seq += 1
        device = self.city.device(site, resident)
        msg = data_message(
            kind, device=device, resident=resident, seq=self.seq, ts=int(reading["ts"]),  # type: ignore[call-overload]
            readings=(reading,),
        )  # fmt: skip
        self.client.publish(str(Topic(site, device, kind)), encode(msg))  # type: ignore[arg-type]

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.running.wait(0.1):
                continue
            with self._lock:
                ts = self.t0 + self.rounds * 1000
                for site in self.city.sites.values():
                    for r in RESIDENTS:
                        self._send(site, r, "vitals", {"ts": ts, "heart_rate": 72.0, "spo2": 97.0})
                        self.sent[site] += 1
                self.rounds += 1
            time.sleep(0.05)

    def sos(self, resident: str) -> None:
        """``resident`` of every site presses SOS just after the latest reading."""
        with self._lock:
            ts = self.t0 + self.rounds * 1000 + 1
            for site in self.city.sites.values():
                self._send(site, resident, "event", {"ts": ts, "type": "sos_button"})

    def __enter__(self) -> Terminals:
        self.running.set()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def influx_count(server: InfluxDB, site: str) -> int:
    q = f"SELECT count(heart_rate) FROM vitals WHERE site = '{site}'"
    series = server.client(DB).query(q)["results"][0].get("series", [])
    return int(series[0]["values"][0][1]) if series else 0


@pytest.fixture
def city(tmp_path: Path, postgres: PostgreSQL) -> Iterator[City]:
    name = f"city_{uuid.uuid4().hex[:10]}"
    url = postgres.create_database(name)
    with (
        Mosquitto(tmp_path / "mosquitto") as broker,
        InfluxDB(tmp_path / "influx-a") as a,
        InfluxDB(tmp_path / "influx-b") as b,
    ):
        town = City(tmp_path, broker, {"default": a, "b": b}, url)
        try:
            yield town
        finally:
            town.stop()
    postgres.drop_database(name)


def _alerts(city: City) -> dict[tuple[str, str], list[str]]:
    """(site, resident) -> ids of its alerts, from the shared alert store."""
    with AlertStore(city.tmp / "data" / "alerts" / "alerts.sqlite3", url=city.url) as store:
        out: dict[tuple[str, str], list[str]] = {}
        for alert in store.alerts():
            out.setdefault((alert.site, alert.resident), []).append(alert.id)
        return out


def _paged(city: City, pagers: dict[int, Pager], resident: str, n: int = 3) -> None:
    """Wait until ``resident`` of every site has an alert paged to ``n`` volunteers."""
    for k, site in city.sites.items():
        city.wait(
            f"an alert for {site}/{resident}", lambda site=site: _alerts(city).get((site, resident))
        )
        (alert,) = _alerts(city)[site, resident]
        pagers[k].wait(
            lambda x, alert=alert: x.type == "page" and x.alert == alert, n=n, timeout=30
        )


def _connected(city: City) -> None:
    for name in ("alerts-b", "score0", "score1"):
        gauge = (
            "careloop_alerts_connected" if name.startswith("alerts") else "careloop_score_connected"
        )
        city.wait(f"{name} connected", lambda name=name, gauge=gauge: city.metric(name, gauge) == 1)
    city.wait("ingest ready", lambda: _ready(city, "ingest") == 200)


def _ready(city: City, name: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{city.ports[name]}/readyz", timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_two_of_everything_through_kills_and_restarts_pages_every_need_once(city: City) -> None:
    sites = city.sites
    pagers = {k: Pager(city.broker, site) for k, site in sites.items()}
    terminals = MqttTestClient(city.broker.host, city.broker.port, client_id="city-terminals")
    terminals.connect()
    city.start("ingest", "ingest", "--client-id", "city-ingest", "--max-delay", "0.05")
    for k in (0, 1):
        city.scorer(k)
    for name in ("alerts-a", "alerts-b"):
        city.alerts(name)
    for name in ("api1", "api2"):
        city.start(name, "api", "--no-alerts", "--no-cookie-secure")
    for k in (0, 1):
        wait_for_line(city.log(f"score{k}"), r"sites subscribed .*total=1")
    city.wait(
        "alerts-a connected", lambda: city.metric("alerts-a", "careloop_alerts_connected") == 1
    )
    _connected(city)
    for name in ("api1", "api2"):
        base = f"http://127.0.0.1:{city.ports[name]}"
        city.wait(f"{name} up", lambda base=base: httpx.get(f"{base}/healthz").status_code == 200)
    time.sleep(1.0)  # every subscription is in place

    with Terminals(city, terminals) as terms:
        terms.sos("r0")  # everything up
        _paged(city, pagers, "r0")
        city.kill9("alerts-a")  # one alert service gone: the other pages
        terms.sos("r1")
        _paged(city, pagers, "r1")
        city.kill9("score0")  # partition 0 gone: its site's readings wait in its session
        terms.sos("r2")
        time.sleep(0.5)
        city.scorer(0)  # taken over from its snapshot
        wait_for_line(city.log("score0"), r"score started .*restored=True")
        _paged(city, pagers, "r2")
        terms.running.clear()  # the broker restarts (the terminals' agents would wait too)
        time.sleep(0.3)
        city.broker.restart()
        _connected(city)
        for client in (terminals, *(p.client for p in pagers.values())):
            city.wait("test clients back", client.client.is_connected)
        terms.running.set()
        terms.sos("r3")
        _paged(city, pagers, "r3")
        city.shards["b"].stop()  # site 1's shard down: its readings wait in ingest's spool
        city.wait("readyz names the shard", lambda: _ready(city, "ingest") == 503)
        time.sleep(1.0)
        city.shards["b"].start()
        city.wait("ingest ready again", lambda: _ready(city, "ingest") == 200)
        city.alerts("alerts-a")  # both replicas again
        city.wait(
            "alerts-a back", lambda: city.metric("alerts-a", "careloop_alerts_connected") == 1
        )
        write_offset(city.tmp / "offset", 121)  # every alert's first step passes: escalate
        for k, site in sites.items():
            for r in RESIDENTS:
                (alert,) = _alerts(city)[site, r]
                pagers[k].wait(
                    lambda x, a=alert: x.type == "page" and x.alert == a, n=6, timeout=30
                )
    for pager in pagers.values():
        pager.drain(1.5)  # a second copy of anything would have arrived by now

    found = _alerts(city)
    assert sorted(found) == sorted((s, r) for s in sites.values() for r in RESIDENTS), found
    for k, site in sites.items():
        for r in RESIDENTS:
            (alert,) = found[site, r]  # one alert per SOS, on every backend's replica
            pages = pagers[k].pages(alert)
            assert len(pages) == 6, (site, r, pagers[k].brief())
            assert all(len(ids) == 1 for ids in pages.values()), pages  # nobody paged twice

    # both API processes serve the same board for a coordinator of both sites
    with Directory(city.people, url=city.url) as people:
        token = people.create_token("coordinator", f"{sites[0]}-c", list(sites.values()))[0]
    boards = []
    for name in ("api1", "api2"):
        got = httpx.get(
            f"http://127.0.0.1:{city.ports[name]}/api/v1/alerts",
            headers={"Authorization": f"Bearer {token}"}, params={"limit": 100},
        )  # fmt: skip
        assert got.status_code == 200, got.text
        boards.append(sorted(a["id"] for a in got.json()["items"]))
    assert boards[0] == boards[1] == sorted(a for ids in found.values() for a in ids)

    # every reading once, on its own site's shard only
    a, b = city.shards["default"], city.shards["b"]
    city.wait("site 0 stored", lambda: influx_count(a, sites[0]) == terms.sent[sites[0]], 60)
    city.wait("site 1 stored", lambda: influx_count(b, sites[1]) == terms.sent[sites[1]], 60)
    assert influx_count(a, sites[1]) == 0 and influx_count(b, sites[0]) == 0
