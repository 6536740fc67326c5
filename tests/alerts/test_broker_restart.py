"""The broker restarted with needs in flight (docs/scale-alerts.md, "When a part is down"):
devices' SOS presses go through a real scorer and two alert services on one private
Mosquitto with persistence, which is stopped and started again while the presses are on
their way. Nothing is lost and nothing is paged twice: the broker keeps each persistent
session's queue across the restart, the scorer keeps unacknowledged needs in its outbox, the
alert services leave a need unacknowledged until its transaction committed and keep pages in
their outbox until the broker acknowledged them. While the broker is away, each alert
service's readiness names it.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

from alerts import AlertStore, ManualClock
from devservers import Mosquitto
from tests.alerts.conftest import T0, Apps, Running, alert_settings, make_roster
from tests.helpers.mqtt import MqttTestClient
from tests.runtime.conftest import Device, S, Scorer, score_settings

BEFORE = ("r1", "r2", "r3")  # pressed just before the broker stops
AFTER = ("r4", "r5", "r6")  # pressed as soon as it is back


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _press(device: Device, ts: int) -> None:
    """SOS, retried while the publisher's connection is being re-made after the restart."""
    deadline = time.monotonic() + 20
    while True:
        try:
            device.send("event", {"ts": ts, "type": "sos_button"})
            return
        except (AssertionError, RuntimeError, ValueError):
            assert time.monotonic() < deadline, "the publisher never got back"
            time.sleep(0.2)


def test_broker_restart_with_needs_in_flight_loses_nothing_and_pages_once(
    private_mosquitto: Mosquitto, tmp_path: Path, site: str
) -> None:
    broker = private_mosquitto
    residents = [*BEFORE, *AFTER]
    roster = make_roster(
        site,
        residents=[{"id": r, "site": site, "language": "en"} for r in residents],
        consents={r: {"share_with_volunteers": True} for r in residents},
    )
    apps = Apps(broker, site, client_id=f"apps-{uuid.uuid4().hex[:8]}")
    clock = ManualClock(T0)
    services = [Running(alert_settings(broker, tmp_path, site), clock, roster, None)]
    services.append(Running(alert_settings(broker, tmp_path, site), clock, roster, None))
    people = tmp_path / "people.sqlite3"
    scorer = Scorer(score_settings(broker, tmp_path / "score", registry=people, sites=site))
    publisher = MqttTestClient(
        broker.host, broker.port, client_id=f"dev-{uuid.uuid4().hex[:8]}", clean_session=False
    ).connect()
    devices = {r: Device(publisher, site, r, people) for r in residents}
    try:
        for r in residents:
            devices[r].vitals(T0)
        scorer.wait_for(lambda s: s.counts["readings"] >= len(residents))
        for r in BEFORE:
            _press(devices[r], T0 + 5 * S)
        broker.stop()  # SIGTERM: the broker saves its sessions and queues
        for run in services:
            _wait(
                lambda run=run: (
                    run.service.parts.readiness() == {"broker": False, "database": True}
                ),
                10,
                "the alert service never said the broker is gone",
            )
        gauge = services[0].service.metrics.value("careloop_alerts_part_up", part="broker")
        broker.start()
        for r in AFTER:
            _press(devices[r], T0 + 5 * S)
        apps.wait(lambda x: x.type == "page", n=3 * len(residents), timeout=30)
        apps.drain(1.5)  # a late second copy would show now
        for run in services:
            _wait(lambda run=run: run.service.parts.up["broker"], 10, "not reconnected")
        alive = scorer.alive
    finally:
        publisher.close()
        scorer.stop()
        for run in services:
            run.stop()
        apps.close()

    assert gauge == 0.0
    assert alive
    with AlertStore(services[0].service.db_path) as store:
        alerts = {a.resident: a for a in store.alerts()}
        assert sorted(alerts) == sorted(residents)  # every press became one alert
        for resident, alert in alerts.items():
            assert alert.kind == "sos"
            pages = apps.pages(alert.id)
            assert len(pages) == 3, (resident, apps.brief())
            assert all(len(ids) == 1 for ids in pages.values()), pages  # no page made twice
            done = Counter(e.action for e in store.audit_log(alert.id))
            assert (done["open"], done["page"]) == (1, 3), done
        assert [d for d in store.deliveries() if d["state"] != "sent"] == []
