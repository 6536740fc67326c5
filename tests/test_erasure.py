"""Erasure leaves nothing of the erased resident behind, and nothing else is touched.

Two residents at one site (``r1`` erased, ``r2`` kept) and, at another site, a different
person who happens to have the id ``r1`` (kept: ids are per site). Every store gets real
rows or points: InfluxDB (default policy and the site's own policy, every measurement), the
alert store (alerts, audit, pages, timers, deliveries, replies, needs seen, roster), the
device registry and MQTT credentials and API tokens, the dead letters, the directory.
Then every store is queried again.
"""

from __future__ import annotations

import time

import pytest

from alerts.model import Alert
from alerts.store import AlertStore
from app.privacy import Eraser, ReceiptStore, Stores, apply_retention, rp_name, verify
from app.privacy.errors import PrivacyError, ReceiptNotFound
from app.provision import Provisioner
from app.provision.acl import service_user
from careloop.influx import InfluxClient
from careloop.mqtt import publish_once
from careloop.settings import MqttSettings
from careloop.store import Store
from careloop.wire import Topic
from careloop.wire.control import decode_erase, erase_topic
from devservers import Mosquitto
from ingest import DeadLetter, DeadLetterStore
from people import Consent, Directory, Resident, Site
from tests.helpers.mqtt import MqttTestClient

S, S2 = "home-x", "home-y"
PEOPLE = [(S, "r1", "d1"), (S, "r2", "d2"), (S2, "r1", "d3")]


def lines(site: str, resident: str, device: str, t: int) -> list[str]:
    tags = f"device={device},resident={resident},site={site}"
    return [
        f"vitals,{tags} heart_rate=70.0 {t}",
        f"vitals,{tags} heart_rate=71.0 {t + 1}",
        f"event,{tags},type=fall n=1i {t + 2}",
        f'utterance,{tags} language="en",text="help-me-XYZ" {t + 3}',
        f'device_status,{tags} state="online" {t + 4}',
    ]


def count_influx(influxdb, db: str, site: str, resident: str) -> int:
    total = 0
    for rp in ("autogen", rp_name(S)):
        where = f"site='{site}' AND resident='{resident}'"
        q = f'SELECT count(*) FROM "{db}"."{rp}"./.*/ WHERE {where}'
        for series in influxdb.query(q, db)["results"][0].get("series") or []:
            total += max(v for v in series["values"][0][1:] if v is not None)
    return total


def rows(store: Store, sql: str, *args: object) -> int:
    """``SELECT count(*) ...`` on ``store``'s backend (its file, or its PostgreSQL schema)."""
    found = store.one(sql, args)
    assert found is not None
    return int(found[0])


@pytest.fixture
def world(tmp_path, influxdb, influx_db, database_url):
    """Every store of one deployment, on SQLite files or (``database_url``) PostgreSQL."""
    data, url = tmp_path, database_url
    registry = data / "people.sqlite3"
    directory = Directory(registry, url=url)
    prov = Provisioner(registry, password_file=data / "passwd", acl_file=data / "acl", url=url)
    writer = InfluxClient(influxdb.url, influx_db)
    now = int(time.time() * 1000)
    # InfluxDB: old points in the default policy, newer ones in the site's own policy.
    for site, resident, device in PEOPLE:
        influxdb.write(influx_db, lines(site, resident, device, now - 60_000))
    apply_retention(writer, S, 30)
    for site, resident, device in PEOPLE:
        if site == S:
            writer.write("\n".join(lines(site, resident, device, now)).encode(), rp_name(S))
    # Directory, devices, credentials, tokens.
    for site in (S, S2):
        directory.add_site(Site(site, site))
    tokens = {}
    for site, resident, device in PEOPLE:
        directory.add_resident(Resident(site, resident, f"Name of {resident}"))
        directory.set_consent(Consent(site, resident, store_utterance_text=True))
        directory.audit_read(
            subject="c-ann", role="coordinator", action="read", site=site, resident=resident,
            route="/x",
        )  # fmt: skip
        prov.create_device(device, site, resident)
        tokens[device] = directory.create_token("device", device, [site])[0]
    # Dead letters: one per device topic, and a spoofed message naming r1 in its payload.
    dead_path = data / "ingest" / "deadletters.sqlite3"
    with DeadLetterStore(dead_path, url=url) as dead:
        letters = [
            DeadLetter.make(str(Topic(s, d, "vitals")), "less_than_equal:heart_rate", "x",
                            f'{{"resident":"{r}","device":"{d}"}}'.encode())
            for s, r, d in PEOPLE
        ]  # fmt: skip
        letters.append(
            DeadLetter.make(str(Topic(S, "intruder", "vitals")), "unknown_device", "x",
                            b'{"device": "intruder", "resident": "r1"}')
        )  # fmt: skip
        dead.add(letters)
    # Alerts, with every table keyed by alert, and the roster.
    alerts_path = data / "alerts" / "alerts.sqlite3"
    store = AlertStore(alerts_path, url=url)
    for n, (site, resident, device) in enumerate(PEOPLE):
        alert = Alert(f"a-{n}", site, resident, "fall", "urgent", "open",
                      f"{resident}:fall:{now}", now, device=device)  # fmt: skip
        with store.tx():
            store.save(alert, new=True)
            store.audit(alert.id, now, "system", "open", channel="mqtt")
            store.add_page(alert, f"v-{n}", 0, "primary", now)
            store.set_timer(alert.id, "respond", now + 1000)
            store.enqueue(alert.id, "mqtt", "t", b"p", f"n-{n}", now)
            store.record_reply(f"nonce-{n}", f"v-{n}", alert.id, now, "accepted")
            store.first_sight_of_need(site, alert.need_id, "open", now)
    store.close()
    receipts = ReceiptStore(registry, url=url)
    sent: list[tuple[str, bytes]] = []  # the erase command for the scorers (tests/runtime
    # test_erase.py checks a real scorer applying one from the broker)
    stores = Stores(
        writer, directory, prov, dead_path, alerts_path, receipts,
        control=lambda topic, payload: sent.append((topic, payload)), database_url=url,
    )  # fmt: skip
    stores.sent = sent  # type: ignore[attr-defined]
    yield stores, tokens
    receipts.close()
    writer.close()
    prov.close()
    directory.close()


def test_erasure_leaves_nothing_of_one_and_touches_nobody_else(
    world, influxdb, influx_db, tmp_path
):
    stores, tokens = world
    before_other = count_influx(influxdb, influx_db, S, "r2")
    before_namesake = count_influx(influxdb, influx_db, S2, "r1")
    assert count_influx(influxdb, influx_db, S, "r1") == 10
    receipt = Eraser(stores).erase(S, "r1", subject="c-ann", role="coordinator")

    # InfluxDB: nothing of r1@S in any policy; the others untouched.
    assert count_influx(influxdb, influx_db, S, "r1") == 0
    series = influxdb.query(f'SHOW SERIES ON "{influx_db}"', influx_db)["results"][0]
    keys = [row[0] for row in series["series"][0]["values"]]
    assert not [k for k in keys if "resident=r1,site=home-x" in k]
    assert count_influx(influxdb, influx_db, S, "r2") == before_other == 10
    assert count_influx(influxdb, influx_db, S2, "r1") == before_namesake == 5
    # Registry, credentials, broker files, API tokens.
    prov, directory = stores.provisioner, stores.directory
    assert [d.device for d in prov.registry.devices()] == ["d2", "d3"]
    assert "d1" not in prov.acl_file.read_text() and "d1:" not in prov.password_file.read_text()
    assert rows(prov, "SELECT count(*) FROM mqtt_users WHERE resident='r1' AND site=?", S) == 0
    assert directory.token_for(tokens["d1"]) is None
    assert directory.token_for(tokens["d2"]) is not None
    # Dead letters: d1's and the one naming r1 at... any topic of site S; others kept.
    with DeadLetterStore(stores.deadletters, url=stores.database_url) as dead:
        left = dead.latest(limit=100)
    assert sorted(letter.topic for letter in left) == [
        str(Topic(S, "d2", "vitals")),
        str(Topic(S2, "d3", "vitals")),
    ]
    # Alert store: nothing keyed by r1@S's alert; the others' rows all there.
    assert stores.alerts is not None
    alerts = AlertStore(stores.alerts, url=stores.database_url)
    keyed = [("alerts", "id")] + [
        (t, "alert") for t in ("audit", "pages", "timers", "deliveries", "replies")
    ]
    for table, column in keyed:
        assert rows(alerts, f"SELECT count(*) FROM {table} WHERE {column} = 'a-0'") == 0
        assert rows(alerts, f"SELECT count(*) FROM {table} WHERE {column} = 'a-1'") == 1
        assert rows(alerts, f"SELECT count(*) FROM {table} WHERE {column} = 'a-2'") == 1
    assert rows(alerts, "SELECT count(*) FROM alerts WHERE resident = 'r1' AND site = ?", S) == 0
    assert rows(alerts, "SELECT count(*) FROM needs_seen WHERE need_id LIKE 'r2:%'") == 1
    # the same-id person at the other site keeps theirs (need ids carry no site)
    assert rows(alerts, "SELECT count(*) FROM needs_seen WHERE need_id LIKE 'r1:%'") == 1
    # Directory: resident, consent and read audit gone; the others intact.
    assert rows(directory, "SELECT count(*) FROM residents WHERE site=? AND id='r1'", S) == 0
    assert rows(directory, "SELECT count(*) FROM consents WHERE site=? AND resident='r1'", S) == 0
    assert (
        rows(directory, "SELECT count(*) FROM audit_reads WHERE site=? AND resident='r1'", S) == 0
    )
    alerts.close()
    assert directory.resident(S, "r2").display_name == "Name of r2"
    assert directory.resident(S2, "r1").display_name == "Name of r1"

    # The receipt: counts match what was there, sealed, stored, no personal data.
    s = receipt["stores"]
    assert s["influxdb"]["points"] == {
        "autogen.vitals": 2, "autogen.event": 1, "autogen.utterance": 1,
        "autogen.device_status": 1, f"{rp_name(S)}.vitals": 2, f"{rp_name(S)}.event": 1,
        f"{rp_name(S)}.utterance": 1, f"{rp_name(S)}.device_status": 1,
    }  # fmt: skip
    assert s["influxdb"]["remaining"] == 0
    assert s["registry"] == {"mqtt_users": 1, "devices": 1, "api_tokens_revoked": 1}
    assert s["deadletters"] == {"rows": 2}
    assert s["alerts"] == {
        "alerts": 1, "audit": 1, "pages": 1, "timers": 1, "deliveries": 1, "replies": 1,
        "needs_seen": 1,
    }  # fmt: skip
    assert s["directory"] == {"residents": 1, "consents": 1, "audit_reads": 1}
    assert s["score"]["erase_commands"] == 1
    [(topic, payload)] = stores.sent
    cmd = decode_erase(topic, payload)
    assert (cmd.site, cmd.resident, cmd.id) == (S, "r1", receipt["id"])
    assert receipt["totals"]["influxdb"] == 10
    assert receipt["requested_by"] == {"subject": "c-ann", "role": "coordinator"}
    assert receipt["devices"] == ["d1"]
    assert verify(receipt)
    assert stores.receipts.get(receipt["id"]) == receipt
    assert "Name of" not in str(receipt) and "XYZ" not in str(receipt)
    assert not verify({**receipt, "devices": []})  # tampering shows

    # Erasing again finds nothing and says so.
    again = Eraser(stores).erase(S, "r1", subject="c-ann", role="coordinator")
    assert sum(again["totals"].values()) == 0
    with pytest.raises(ReceiptNotFound):
        stores.receipts.get("er-missing")
    # With database_url every relational store lives on PostgreSQL: no SQLite file at all.
    assert bool(list(tmp_path.rglob("*.sqlite3"))) == (not stores.database_url)


def test_an_erase_command_the_broker_refuses_gives_no_receipt(world, tmp_path):
    """Mosquitto answers a publish its ACL refuses with PUBACK 0x87 and delivers it to no
    scorer: the erasure must fail (503 in the API) rather than seal a receipt claiming the
    scorers forgot the resident."""
    stores, _ = world
    prov = stores.provisioner
    api_password = prov.set_service_password("api")
    score_password = prov.set_service_password("score")
    intruder = prov.create_device("d-other", S, "r2").password  # a device may not send it
    broker = Mosquitto(tmp_path / "mq", password_file=prov.password_file, acl_file=prov.acl_file)
    with broker:

        def settings(user: str, password: str) -> MqttSettings:
            return MqttSettings(host=broker.host, port=broker.port, username=user,
                                password=password)  # fmt: skip

        refused = settings("d-other", intruder)
        stores.control = lambda topic, payload: publish_once(
            refused, topic, payload, client_id="erase-refused"
        )
        with pytest.raises(PrivacyError, match="refused the message"):
            Eraser(stores).erase(S, "r1", subject="c-ann", role="coordinator")
        assert rows(stores.receipts, "SELECT count(*) FROM erasure_receipts") == 0

        # the API's own login may send it, and a scorer hears it
        listener = MqttTestClient(
            broker.host, broker.port, username=service_user("score"), password=score_password
        ).connect()
        try:
            listener.subscribe(erase_topic(S))
            allowed = settings(service_user("api"), api_password)
            stores.control = lambda topic, payload: publish_once(
                allowed, topic, payload, client_id="erase-allowed"
            )
            receipt = Eraser(stores).erase(S, "r1", subject="c-ann", role="coordinator")
            message = listener.get(timeout=10)
            heard = decode_erase(message.topic, message.payload)
        finally:
            listener.close()
    assert heard.id == receipt["id"] and stores.receipts.get(receipt["id"]) == receipt
    assert rows(stores.receipts, "SELECT count(*) FROM erasure_receipts") == 1
