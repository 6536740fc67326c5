"""Active-active alert services on one alert store (docs/scale-alerts.md): every replica
hears every need and reply, the database decides who acts, so a need is paged once, a
deadline escalates once and a reply is answered once; ``kill -9`` of a replica mid-run
leaves the others to carry on with nothing missed and nothing sent twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from alerts import AlertStore, write_offset
from tests.alerts.conftest import T0, need
from tests.helpers.procs import start_alerts


def _actions(store: AlertStore, alert: str) -> Counter[str]:
    return Counter(e.action for e in store.audit_log(alert))


def test_two_services_on_one_store_page_escalate_and_answer_once(start_service, apps, site):
    a = start_service()
    b = start_service()  # the same data directory: the same alert store
    assert a.service.db_path == b.service.db_path
    assert a.service.client_id != b.service.client_id

    apps.publish_need(need(site, kind="fall", tier="emergency"))
    first = apps.wait(lambda x: x.type == "page", n=3)
    apps.drain(0.5)  # a second replica's copy of the pages would arrive by now
    alert_id = first[0].alert
    pages = apps.pages(alert_id)
    assert len(pages) == 3 and all(len(ids) == 1 for ids in pages.values()), apps.brief()
    assert len([x for x in apps.seen if x.type == "page"]) == 3  # not even a re-send

    a.clock.advance(121)  # both replicas' tickers see the step deadline pass
    a.settle()
    b.settle()
    apps.wait(lambda x: x.type == "page", n=6)
    apps.drain(0.5)
    pages = apps.pages(alert_id)
    assert len(pages) == 6 and all(len(ids) == 1 for ids in pages.values()), apps.brief()
    assert len([x for x in apps.seen if x.type == "page"]) == 6

    apps.reply(first[0].volunteer, alert_id, "accept")  # heard by both replicas
    apps.wait(lambda x: x.type == "accepted")
    apps.drain(0.5)
    assert [x.volunteer for x in apps.seen if x.type == "accepted"] == [first[0].volunteer]
    assert len([x for x in apps.seen if x.type == "taken"]) == 5
    assert len(apps.commands) == 1  # the resident's device told once: help is on the way
    done = _actions(a.reader, alert_id)
    assert (done["open"], done["page"], done["escalate"], done["accept"]) == (1, 6, 1, 1)
    assert a.alert(alert_id).owner == first[0].volunteer


# -- kill -9 of one replica of two, as real processes --------------------------------------------
RESIDENTS = 12


def _roster(path: Path, site: str) -> None:
    text = "".join(
        f'[[volunteers]]\nid = "v{i:02d}"\nsite = "{site}"\nlanguages = ["zh"]\n\n'
        for i in range(1, 9)
    )
    text += f'[[volunteers]]\nid = "c01"\nsite = "{site}"\ncoordinator = true\n\n'
    text += "".join(
        f'[[residents]]\nid = "r{i}"\nsite = "{site}"\ndevice = "term-r{i}"\n\n'
        for i in range(1, RESIDENTS + 1)
    )
    path.write_text(text, encoding="utf-8")


def _start(
    mosquitto, tmp_path: Path, site: str, name: str, url: str, **env: str
) -> subprocess.Popen[bytes]:
    """Replica ``name``; ``env`` adds variables to this process's environment."""
    return start_alerts(
        mosquitto, tmp_path / "data", tmp_path / f"alerts-{name}.log",
        client_id=f"alerts-{site}-{name}", site=site, roster=tmp_path / "roster.toml",
        clock_offset_file=tmp_path / "offset", lease=0.5, database_url=url,
        env={**os.environ, **env},
    )  # fmt: skip


def test_kill9_of_replicas_mid_run_misses_nothing_and_doubles_nothing(
    mosquitto, tmp_path, site, apps, database_url
):
    """Three replicas. Whichever is paging is killed while falls are arriving; whichever is
    escalating is killed right after the first escalation page; the last one finishes."""
    _roster(tmp_path / "roster.toml", site)
    write_offset(tmp_path / "offset", 0)
    procs = {
        name: _start(mosquitto, tmp_path, site, name, database_url) for name in ("a", "b", "c")
    }
    store = AlertStore(tmp_path / "data" / "alerts" / "alerts.sqlite3", url=database_url)
    killed: list[str] = []

    def kill_the_busy_one() -> None:
        """SIGKILL the replica that leased the newest notification (the one at work)."""
        row = store.one("SELECT leased_by FROM deliveries ORDER BY id DESC LIMIT 1")
        assert row is not None and row[0], "nobody has sent anything yet"
        name = str(row[0]).rsplit("-", 1)[1]
        procs[name].send_signal(signal.SIGKILL)
        procs[name].wait(10)
        killed.append(name)

    try:
        warm = need(site, resident="r1", kind="help_request", tier="general")
        deadline = time.monotonic() + 30
        while not apps.seen:  # the first start creates the sessions: repeat until heard
            assert time.monotonic() < deadline, (tmp_path / "alerts-a.log").read_text()
            apps.publish_need(warm)
            apps.drain(0.5)
        warm_alert = apps.seen[0].alert
        time.sleep(1.5)  # the slower replicas subscribe too
        is_fall_page = lambda x: x.type == "page" and x.alert != warm_alert  # noqa: E731
        for i in range(2, RESIDENTS + 1):  # falls, one after the other; one dies midway
            apps.publish_need(need(site, resident=f"r{i}", kind="fall", tier="emergency"))
            if i == RESIDENTS // 2:
                apps.wait(is_fall_page)  # somebody is paging by now
                kill_the_busy_one()
            time.sleep(0.02)
        falls = RESIDENTS - 1
        apps.wait(is_fall_page, n=3 * falls, timeout=20)

        write_offset(tmp_path / "offset", 121)  # every fall's step passes at once
        apps.wait(is_fall_page, n=3 * falls + 1, timeout=20)
        kill_the_busy_one()  # mid-escalation: the first escalation page is out
        apps.wait(is_fall_page, n=6 * falls, timeout=20)
        apps.drain(1.5)  # a late second copy would show now
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)

    try:
        assert len(set(killed)) == 2  # two different replicas died at work
        alerts = [x for x in store.alerts() if x.kind == "fall"]
        assert len(alerts) == falls  # nothing missed: every fall opened once
        for alert in alerts:
            pages = apps.pages(alert.id)
            assert len(pages) == 6, (alert.id, apps.brief())  # 3 at first, 3 on escalating
            assert all(len(ids) == 1 for ids in pages.values()), pages  # no page made twice
            done = _actions(store, alert.id)
            assert (done["open"], done["page"], done["escalate"]) == (1, 6, 1), done
        assert [d for d in store.deliveries() if d["state"] != "sent"] == []
    finally:
        store.close()


def test_an_api_process_action_nudges_the_services_over_mqtt(start_service, apps, site):
    """Actions taken with no alert service in the process (alerts/actions.py) queue their
    notifications in the store and publish a nudge on MQTT; both replicas hear it, one
    sends each notification."""
    from alerts.actions import AlertActions, WakeSender
    from careloop.wire.alerts import AlertReply

    a, b = start_service(), start_service()
    apps.publish_need(need(site, kind="fall", tier="emergency"))
    paged = apps.wait(lambda x: x.type == "page", n=3)
    with a.people() as people:
        actions = AlertActions(a.settings, people, clock=a.clock, on_outbox=WakeSender(a.settings))
        try:
            reply = AlertReply(nonce="http-1", alert=paged[0].alert, action="accept", ts=T0)
            alert = actions.reply(site, paged[0].volunteer, reply, "http")
        finally:
            actions.close()
    assert alert.owner == paged[0].volunteer
    apps.wait(lambda x: x.type == "accepted")
    apps.wait(lambda x: x.type == "taken", n=2)
    apps.drain(0.5)
    assert len([x for x in apps.seen if x.type in ("accepted", "taken")]) == 3
    deadline = time.monotonic() + 5
    wakes = "careloop_alerts_outbox_wakes_total"
    while not all(r.service.metrics.value(wakes) >= 1 for r in (a, b)):
        assert time.monotonic() < deadline, "a replica heard no nudge"
        time.sleep(0.05)


def test_a_device_answer_heard_by_two_replicas_is_taken_once(start_service, apps, site, mosquitto):
    """The satisfaction question after a resolve: a mumble is "not an answer", asked again
    once. Both replicas hear the mumble; only one may take it (else the second would record
    it as the second non-answer and close the question)."""
    from tests.alerts.conftest import SHARED, make_roster
    from tests.helpers.mqtt import MqttTestClient
    from tests.runtime.conftest import Device

    roster = make_roster(site, consents={"r1": {**SHARED, "store_utterance_text": True}})
    a = start_service(roster=roster)
    b = start_service(roster=roster)
    apps.publish_need(need(site, kind="help_request", tier="general"))
    paged = apps.wait(lambda x: x.type == "page")
    alert_id, owner = paged[0].alert, paged[0].volunteer
    apps.reply(owner, alert_id, "accept")
    apps.wait(lambda x: x.type == "accepted")
    apps.reply(owner, alert_id, "resolve")
    deadline = time.monotonic() + 10
    while not a.audit(alert_id, "rating_asked"):
        assert time.monotonic() < deadline, a.audit(alert_id)
        time.sleep(0.05)
    publisher = MqttTestClient(mosquitto.host, mosquitto.port).connect()
    try:
        device = Device(publisher, site, "r1", None)
        device.send("utterance", {"ts": T0 + 1000, "language": "zh", "text": "嗯…"})
        deadline = time.monotonic() + 10
        while len(a.audit(alert_id, "rating_asked")) < 2:
            assert time.monotonic() < deadline, [e.action for e in a.audit(alert_id)]
            time.sleep(0.05)
        time.sleep(1.0)  # the other replica's copy has been handled by now
    finally:
        publisher.close()
    asked = a.audit(alert_id, "rating_asked")
    assert [e.detail.get("attempt") for e in asked] == [1, 2]
    assert a.audit(alert_id, "rating_no_answer") == []  # the question still waits
    assert b.reader.db.execute("SELECT count(*) FROM ratings").fetchone()[0] == 0
