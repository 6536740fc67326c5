"""When a part is down (docs/scale-alerts.md, "When a part is down"): two real ``careloop
alerts`` replicas on one PostgreSQL keep running while it is stopped; the needs published
meanwhile wait unacknowledged in their MQTT sessions and are paged once when it is back, a
deadline that fell due during the outage escalates once, and ``/readyz`` and the metrics on
each replica's metrics port name the database while it is down.

The outage lasts a few seconds in the default run; the ``minute`` variant, left out of it,
holds the database down for a whole minute (``pytest -m minute tests/alerts/test_outage.py``).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from alerts import AlertStore, write_offset
from devservers import PostgreSQL
from devservers.base import free_port
from people import Directory
from tests.alerts.conftest import Apps, need
from tests.alerts.test_replicas import _roster, _start
from tests.alerts.test_stateless_api import _api

FALLS_DURING = ("r3", "r4", "r5")


def _get(port: int, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", trust_env=False, timeout=10)


def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _part_up(port: int, part: str) -> float | None:
    for line in _get(port, "/metrics").text.splitlines():
        if line.startswith(f'careloop_alerts_part_up{{part="{part}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return None


def _log_records(path: Path, message: str) -> list[dict[str, object]]:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    return [r for r in records if r.get("msg") == message]


@pytest.mark.parametrize(
    "outage_s",
    [
        pytest.param(4.0, id="seconds"),
        pytest.param(60.0, id="minute", marks=[pytest.mark.slow, pytest.mark.minute]),
    ],
)
def test_postgres_down_needs_wait_and_are_paged_once_when_it_is_back(
    mosquitto, private_postgres: PostgreSQL, tmp_path: Path, site: str, apps: Apps,
    outage_s: float,
) -> None:  # fmt: skip
    url = private_postgres.create_database("careloop")
    _roster(tmp_path / "roster.toml", site)
    write_offset(tmp_path / "offset", 0)
    ports = {name: free_port() for name in ("a", "b")}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: tmp_path / f"alerts-{name}.log" for name in ports}

    def ready(name: str) -> bool:
        try:
            return _get(ports[name], "/readyz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        for name, port in ports.items():  # one after the other: each imports the roster
            env = {"CARELOOP_ALERTS__METRICS_PORT": str(port)}
            procs[name] = _start(mosquitto, tmp_path, site, name, url, **env)
            _until(lambda name=name: ready(name), 30, f"{name} never became ready")
        warm = need(site, resident="r1", kind="help_request", tier="general")
        deadline = time.monotonic() + 30
        while not apps.seen:  # the first start creates the sessions: repeat until heard
            assert time.monotonic() < deadline, logs["a"].read_text()
            apps.publish_need(warm)
            apps.drain(0.5)
        time.sleep(1.0)  # both replicas subscribed
        warm_alert = apps.seen[0].alert
        is_page = lambda x: x.type == "page" and x.alert != warm_alert  # noqa: E731
        apps.publish_need(need(site, resident="r2", kind="fall", tier="emergency"))
        before = apps.wait(is_page, n=3)
        first_alert = before[0].alert

        private_postgres.stop()  # fast shutdown: every connection is cut
        for name, port in ports.items():
            _until(lambda port=port: _part_up(port, "database") == 0.0, 10, f"{name}: gauge")
        down = {name: _get(port, "/readyz") for name, port in ports.items()}
        gauges = {name: _part_up(port, "broker") for name, port in ports.items()}
        for resident in FALLS_DURING:  # needs during the outage
            apps.publish_need(need(site, resident=resident, kind="fall", tier="emergency"))
        write_offset(tmp_path / "offset", 121)  # r2's step deadline falls due meanwhile
        end = time.monotonic() + outage_s
        while time.monotonic() < end:
            assert all(p.poll() is None for p in procs.values()), "a replica died"
            apps.drain(0.5)
        paged_during = [x for x in apps.seen if is_page(x)]
        private_postgres.start()

        apps.wait(is_page, n=3 + 3 * len(FALLS_DURING) + 3, timeout=30)
        apps.drain(1.5)  # a late second copy would show now
        alive = all(p.poll() is None for p in procs.values())
        back = {name: _get(port, "/readyz") for name, port in ports.items()}
        up_again = {name: _part_up(port, "database") for name, port in ports.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)

    assert alive
    for name in procs:
        assert down[name].status_code == 503
        assert down[name].json() == {"ready": False, "checks": {"broker": True, "database": False}}
        assert gauges[name] == 1.0
        assert back[name].status_code == 200, back[name].text
        assert back[name].json()["checks"] == {"broker": True, "database": True}
        assert up_again[name] == 1.0
        # the log names the part, and says no more than the error's class
        downs = _log_records(logs[name], "part down")
        assert downs and all(r["part"] == "database" for r in downs), downs
        assert all(set(r) >= {"part", "error"} and site not in str(r) for r in downs), downs
        assert [r for r in _log_records(logs[name], "part up") if r["part"] == "database"]
    assert len(paged_during) == 3  # nothing was paged while the database was down

    store = AlertStore(tmp_path / "data" / "alerts" / "alerts.sqlite3", url=url)
    try:
        falls = {x.resident: x for x in store.alerts() if x.kind == "fall"}
        assert sorted(falls) == ["r2", *FALLS_DURING]  # every need opened, once
        for resident, alert in falls.items():
            pages = apps.pages(alert.id)
            expected = 6 if alert.id == first_alert else 3
            assert len(pages) == expected, (resident, apps.brief())
            assert all(len(ids) == 1 for ids in pages.values()), pages  # no page made twice
            done = Counter(e.action for e in store.audit_log(alert.id))
            escalated = 1 if alert.id == first_alert else 0
            assert (done["open"], done["page"], done["escalate"]) == (1, expected, escalated)
        assert [d for d in store.deliveries() if d["state"] != "sent"] == []
    finally:
        store.close()


def _api_part_up(text: str, part: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f'careloop_api_part_up{{part="{part}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_api_readyz_names_the_database_while_postgres_is_down(
    mosquitto, influxdb, private_postgres: PostgreSQL, tmp_path: Path, site: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    url = private_postgres.create_database("careloop")
    monkeypatch.setenv("CARELOOP_INFLUX__URL", influxdb.url)
    scrape_token = "s" * 40  # the scraper's own token, known without the database
    monkeypatch.setenv("CARELOOP_API__METRICS_TOKEN", scrape_token)
    with Directory(tmp_path / "data" / "people.sqlite3", url=url) as people:
        admin = people.create_token("admin", "root", None)[0]
    proc, api = _api(mosquitto, tmp_path, site, "a", url)
    auth = {"Authorization": f"Bearer {admin}"}
    scrape = {"Authorization": f"Bearer {scrape_token}"}
    try:
        _until(lambda: httpx.get(f"{api}/readyz").status_code == 200, 30, "API never ready")
        up = httpx.get(f"{api}/readyz")
        private_postgres.stop()
        down = httpx.get(f"{api}/readyz")
        board = httpx.get(f"{api}/api/v1/alerts", headers=auth)
        scraped = httpx.get(f"{api}/metrics", headers=scrape)  # the outage can be watched
        as_admin = httpx.get(f"{api}/metrics", headers=auth)  # an admin token needs the db
        wrong = httpx.get(f"{api}/metrics", headers={"Authorization": "Bearer " + "t" * 40})
        alive = proc.poll() is None
        private_postgres.start()
        last = httpx.get(f"{api}/metrics", headers=auth).text  # the gauge of the last /readyz
        back = httpx.get(f"{api}/readyz")
        now = httpx.get(f"{api}/metrics", headers=auth).text
    finally:
        proc.terminate()
        proc.wait(10)

    everything = {"broker": True, "influxdb": True, "sqlite": True, "database": True}
    assert up.json() == {"ready": True, "checks": everything}
    assert alive
    assert down.status_code == 503
    assert down.json()["checks"] == everything | {"sqlite": False, "database": False}
    assert board.status_code == 503  # unavailable, said plainly; the process carries on
    assert "127.0.0.1" not in board.text and "postgres" not in board.text
    assert scraped.status_code == 200, scraped.text
    assert _api_part_up(scraped.text, "database") == 0.0
    assert as_admin.status_code == 503
    assert wrong.status_code in (401, 503)  # never accepted
    assert _api_part_up(last, "database") == 0.0
    assert _api_part_up(last, "broker") == 1.0
    assert back.status_code == 200, back.text
    assert _api_part_up(now, "database") == 1.0
