"""People data has one owner: changes made through the API reach the scorer and a standalone
``careloop alerts`` process within seconds, on the real broker, without either keeping a
copy (docs/architecture.md)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from app.api import create_app
from careloop.settings import load_settings
from people import Device, DeviceRegistry, Directory, Resident, Site, Volunteer
from tests.alerts.conftest import Apps, need
from tests.helpers.api_server import serve_in_thread
from tests.helpers.mqtt import MqttTestClient
from tests.helpers.procs import interrupt, start_alerts
from tests.runtime.conftest import T0, Scorer
from tests.runtime.conftest import Device as Terminal

pytestmark = pytest.mark.slow

FOLLOW_S = 0.2  # how often the services look for changes (the default is 1 s)


def test_scorer_and_standalone_alerts_follow_changes_made_through_the_api(
    mosquitto, tmp_path: Path, unique_topic_root: str, database_url: str
):
    site = unique_topic_root
    url = database_url  # SQLite files, then PostgreSQL: the change counter of each
    settings = load_settings(
        site=site,
        database_url=url,
        data_dir=str(tmp_path / "data"),
        mqtt={"host": mosquitto.host, "port": mosquitto.port, "backoff_initial": 0.1,
              "backoff_max": 1},
        people={"follow_every": FOLLOW_S},
        score={"client_id": f"score-{site}", "max_delay": 0.02, "tick_every": 0.2,
               "stats_interval": 0},
    )  # fmt: skip
    people_db = settings.paths.people
    with Directory(people_db, url=url) as people:
        people.add_site(Site(site, "Follow Home"))
        for rid in ("r1", "r2"):
            people.add_resident(Resident(site, rid, f"Resident {rid}", "zh"))
        people.add_volunteer(Volunteer("v1", "Vera One", (site,)))
        admin = people.create_token("admin", "root", None)[0]
    with DeviceRegistry(people_db, url=url) as registry:
        registry.add([Device("term-r1", site, "r1", "terminal")])

    server, thread, port = serve_in_thread(create_app(settings, alert_service=False))
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {admin}"}
    )
    scorer = Scorer(settings)
    apps = Apps(mosquitto, site)
    log = tmp_path / "alerts.log"
    alerts = start_alerts(
        mosquitto, tmp_path / "data", log, client_id=f"alerts-{site}", site=site,
        database_url=url, env={**_env(), "CARELOOP_PEOPLE__FOLLOW_EVERY": str(FOLLOW_S)},
    )  # fmt: skip
    try:
        _wait_for(lambda: "alerts started" in log.read_text(), 30, "careloop alerts did not start")
        time.sleep(0.5)  # its session subscribes right after the start line

        # Before any change: the one volunteer is paged.
        apps.publish_need(need(site, resident="r1", kind="fall", ts=T0))
        assert apps.wait(lambda x: x.type == "page")[-1].volunteer == "v1"

        # Through the API: a second volunteer joins, the first steps back.
        created = api.post(
            "/api/v1/volunteers",
            json={"id": "v2", "name": "Wu Two", "sites": [site], "languages": ["zh"]},
        )
        assert created.status_code == 201, created.text
        assert api.patch("/api/v1/volunteers/v1", json={"active": False}).status_code == 200
        changed_at = time.monotonic()
        # The standalone service pages by the new roster (it re-reads the people database;
        # nobody told it). Within seconds: each need below (one per resident, so none is
        # merged into another) is paged to v1 until it has.
        for n in range(1, 40):
            apps.publish_need(need(site, resident=f"x{n}", kind="help_request", ts=T0 + n))
            page = apps.wait(lambda x: x.type == "page", n=1 + n)[-1]
            if page.volunteer == "v2":
                break
            time.sleep(0.2)
        followed_s = time.monotonic() - changed_at
        assert page.volunteer == "v2", apps.brief()
        assert followed_s < 5, followed_s

        # Through the API: r1's care profile gets a check-up plan; the scorer follows.
        with MqttTestClient(mosquitto.host, mosquitto.port) as publisher:
            Terminal(publisher, site, "r1", None).vitals(T0)
        scorer.wait_for(lambda s: s.counts["readings"] >= 1)
        plan = {"language": "zh", "expectations": [
            {"name": "check-up", "event": "checkup_done", "at": "09:00"}]}  # fmt: skip
        put = api.put(f"/api/v1/residents/{site}/r1/care-profile", json=plan)
        assert put.status_code == 200, put.text
        engine = scorer.service.engine
        assert engine is not None

        def plan_in_force(_svc: object) -> bool:
            slot = engine.directory.get(site, "r1")
            return (
                slot is not None and len(engine.directory.residents[slot].profile.expectations) > 0
            )

        scorer.wait_for(plan_in_force, timeout=5)
    finally:
        interrupt(alerts, timeout=30)
        scorer.stop()
        apps.close()
        api.close()
        server.should_exit = True
        thread.join(20)
    assert alerts.returncode == 0, log.read_text()[-2000:]


def _wait_for(check, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
