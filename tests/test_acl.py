"""The broker's ACL, as app.provision writes it, against a real private Mosquitto.

Device credentials can publish only the device's own topics and hear only its own commands;
revoked, rotated-away and wrong passwords cannot connect; service users can do what their
service does. "Nothing arrives" is proven without sleeps: after the forbidden publishes the
same client publishes an allowed marker, and the subscriber gets the marker first (a broker
delivers one publisher's messages in order, so anything earlier would have come before it).
"""

from __future__ import annotations

import base64
import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from app.provision import Provisioner, hash_password, verify_password
from careloop.wire import Topic
from devservers import Mosquitto
from people import Directory, Site, Volunteer

TIMEOUT = 10.0
NOT_AUTHORIZED = 0x87


class Refused(Exception):
    """CONNACK with a failure code."""


class Peer:
    """A blocking paho client with a username; v5 or 3.1.1."""

    def __init__(self, broker: Mosquitto, username: str, password: str, *, v5: bool = True) -> None:
        protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
        self.client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"{username}-{uuid.uuid4().hex[:6]}",
            protocol=protocol,
        )
        self.client.username_pw_set(username, password)
        self.messages: queue.Queue[MQTTMessage] = queue.Queue()
        self._connack: queue.Queue[Any] = queue.Queue()
        self._acks: dict[int, queue.Queue[Any]] = {}
        self._lock = threading.Lock()
        self.disconnected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: self._connack.put(rc)
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.on_publish = lambda c, u, mid, rc, p: self._ack(mid).put(rc)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._ack(mid).put(rcs)
        self.client.on_disconnect = lambda *a: self.disconnected.set()
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        rc = self._connack.get(timeout=TIMEOUT)
        if rc.is_failure:
            self.close()
            raise Refused(str(rc))

    def _ack(self, mid: int) -> queue.Queue[Any]:
        with self._lock:
            return self._acks.setdefault(mid, queue.Queue())

    def publish(self, topic: str, payload: bytes = b"{}") -> ReasonCode:
        """Publish at QoS 1 and return the PUBACK's reason code."""
        info = self.client.publish(topic, payload, qos=1)
        code: ReasonCode = self._ack(info.mid).get(timeout=TIMEOUT)
        return code

    def subscribe(self, topic: str) -> list[ReasonCode]:
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        codes: list[ReasonCode] = self._ack(mid).get(timeout=TIMEOUT)
        return codes

    def next_topic(self) -> str:
        return self.messages.get(timeout=TIMEOUT).topic

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Setup:
    broker: Mosquitto
    prov: Provisioner
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[Setup]:
    """A broker whose files the provisioner writes, its table on SQLite or PostgreSQL."""
    root, url = tmp_path_factory.mktemp("acl"), module_database_url
    # a volunteer's topics follow their sites
    with Directory(root / "people.sqlite3", url=url) as people:
        for site in ("s1", "s2", "s3"):
            people.add_site(Site(site, site))
        people.add_volunteer(Volunteer("v1", "Vera", ("s1", "s2")))
        people.add_volunteer(Volunteer("v2", "Wu", ("s1",)))
    prov = Provisioner(
        root / "people.sqlite3", password_file=root / "passwd", acl_file=root / "acl", url=url
    )
    passwords = {
        "svc.ingest": prov.set_service_password("ingest"),
        "svc.alerts": prov.set_service_password("alerts"),
        "dev-a": prov.create_device("dev-a", "s1", "r-a").password,
        "dev-b": prov.create_device("dev-b", "s1", "r-b").password,
        "dev-c": prov.create_device("dev-c", "s2", "r-c", "voice").password,
        "vol.v1": prov.set_volunteer_password("v1")[1],
        "vol.v2": prov.set_volunteer_password("v2")[1],
    }
    assert (root / "people.sqlite3").exists() == (not url)  # PostgreSQL: no file at all
    broker = Mosquitto(root / "mosquitto", password_file=prov.password_file, acl_file=prov.acl_file)
    with broker:
        prov._reload = broker.reload  # what from_settings wires to the pid file
        yield Setup(broker, prov, passwords)
    prov.close()


def connect(s: Setup, user: str, *, v5: bool = True) -> Peer:
    return Peer(s.broker, user, s.passwords[user], v5=v5)


def vitals(site: str, device: str) -> str:
    return str(Topic(site, device, "vitals"))


def wait_refused(s: Setup, user: str, password: str) -> str:
    """Connect until refused (the broker reloads asynchronously after SIGHUP)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            Peer(s.broker, user, password).close()
        except Refused as exc:
            return str(exc)
        assert time.monotonic() < deadline, f"{user} could still connect"
        time.sleep(0.05)


def test_own_vitals_delivered_to_the_ingest_service_shared_subscription(setup: Setup) -> None:
    ingest = connect(setup, "svc.ingest")
    device = connect(setup, "dev-a")
    try:
        assert not ingest.subscribe("$share/ingest/careloop/v1/+/+/+")[0].is_failure
        code = device.publish(vitals("s1", "dev-a"))
        assert code.value == 0  # success, and someone was subscribed
        assert ingest.next_topic() == vitals("s1", "dev-a")
        assert device.publish(str(Topic("s1", "dev-a", "status"))).value == 0
        assert ingest.next_topic() == str(Topic("s1", "dev-a", "status"))
    finally:
        device.close()
        ingest.close()


@pytest.mark.parametrize(
    "topic",
    [
        vitals("s1", "dev-b"),  # another device at the same site
        vitals("s2", "dev-c"),  # another site's device
        vitals("s2", "dev-a"),  # its own device id under another site
        str(Topic("s1", "dev-a", "cmd")),  # downlink: only services send commands
    ],
)
def test_v5_publish_elsewhere_is_not_authorized_and_not_delivered(setup: Setup, topic: str) -> None:
    ingest = connect(setup, "svc.ingest")
    device = connect(setup, "dev-a")
    try:
        ingest.subscribe("careloop/v1/#")
        code = device.publish(topic)
        assert code.value == NOT_AUTHORIZED, str(code)
        assert device.publish(vitals("s1", "dev-a")).value == 0  # the marker
        assert ingest.next_topic() == vitals("s1", "dev-a")
        assert ingest.messages.empty()
    finally:
        device.close()
        ingest.close()


def test_v311_publish_elsewhere_is_silently_dropped(setup: Setup) -> None:
    ingest = connect(setup, "svc.ingest")
    device = connect(setup, "dev-a", v5=False)
    try:
        ingest.subscribe("careloop/v1/#")
        device.publish(vitals("s1", "dev-b"))  # 3.1.1 has no reason code: acked, dropped
        device.publish(vitals("s2", "dev-c"))
        device.publish(vitals("s1", "dev-a"))
        assert ingest.next_topic() == vitals("s1", "dev-a")
        assert ingest.messages.empty()
    finally:
        device.close()
        ingest.close()


def test_a_device_hears_only_its_own_commands(setup: Setup) -> None:
    alerts = connect(setup, "svc.alerts")
    a = connect(setup, "dev-a")
    b = connect(setup, "dev-b")
    try:
        # Mosquitto 2.0.11 grants any SUBSCRIBE; it is each delivery that is checked.
        a.subscribe(str(Topic("s1", "dev-b", "cmd")))
        a.subscribe("careloop/v1/+/+/cmd")
        a.subscribe("careloop/#")
        b.subscribe(str(Topic("s1", "dev-b", "cmd")))
        assert alerts.publish(str(Topic("s1", "dev-b", "cmd"))).value == 0
        assert b.next_topic() == str(Topic("s1", "dev-b", "cmd"))  # the control: it works
        assert alerts.publish(str(Topic("s1", "dev-a", "cmd"))).value == 0  # a's marker
        assert a.next_topic() == str(Topic("s1", "dev-a", "cmd"))
        while not a.messages.empty():  # its own cmd again, through its other filters
            assert a.next_topic() == str(Topic("s1", "dev-a", "cmd"))
    finally:
        for peer in (alerts, a, b):
            peer.close()


def test_a_device_cannot_read_other_devices_readings(setup: Setup) -> None:
    a = connect(setup, "dev-a")
    b = connect(setup, "dev-b")
    try:
        a.subscribe("careloop/#")
        assert b.publish(vitals("s1", "dev-b")).value in (0, 0x10)
        a.subscribe(str(Topic("s1", "dev-a", "cmd")))
        alerts = connect(setup, "svc.alerts")
        alerts.publish(str(Topic("s1", "dev-a", "cmd")))
        alerts.close()
        assert a.next_topic() == str(Topic("s1", "dev-a", "cmd"))
    finally:
        a.close()
        b.close()


def test_wrong_password_and_anonymous_cannot_connect(setup: Setup) -> None:
    with pytest.raises(Refused, match=r"Not authorized|Bad user name"):
        Peer(setup.broker, "dev-a", setup.passwords["dev-a"] + "x")
    with pytest.raises(Refused):
        Peer(setup.broker, "nobody", "whatever")
    with pytest.raises(Refused):
        Peer(setup.broker, "", "")


def test_revoked_device_cannot_connect(setup: Setup) -> None:
    issued = setup.prov.create_device("dev-r", "s1", "r-r")
    live = Peer(setup.broker, "dev-r", issued.password)  # works before
    assert live.publish(vitals("s1", "dev-r")).value in (0, 0x10)
    revoked = setup.prov.revoke("dev-r")
    assert revoked.revoked_at is not None
    assert live.disconnected.wait(TIMEOUT)  # the reload drops the live session too
    live.close()
    assert "Not authorized" in wait_refused(setup, "dev-r", issued.password)
    assert setup.prov.registry.check("dev-r", "s1", "r-r") == "unknown_device"
    assert "dev-r" not in setup.prov.acl_file.read_text()


def test_rotation_replaces_the_password(setup: Setup) -> None:
    old = setup.prov.create_device("dev-x", "s2", "r-x").password
    new = setup.prov.rotate("dev-x").password
    assert new != old
    wait_refused(setup, "dev-x", old)
    peer = Peer(setup.broker, "dev-x", new)
    try:
        assert peer.publish(vitals("s2", "dev-x")).value in (0, 0x10)
        assert peer.publish(vitals("s1", "dev-x")).value == NOT_AUTHORIZED
    finally:
        peer.close()


def test_files_hold_hashes_and_each_device_its_own_topics(setup: Setup) -> None:
    passwd = setup.prov.password_file.read_text()
    for user, password in setup.passwords.items():
        assert password not in passwd
        line = next(row for row in passwd.splitlines() if row.startswith(f"{user}:"))
        assert verify_password(password, line.split(":", 1)[1])
    acl = setup.prov.acl_file.read_text().split("\n\n")
    block = next(b for b in acl if "user dev-a\n" in b)
    assert sorted(block.splitlines()[2:]) == sorted(
        [
            f"topic write careloop/v1/s1/dev-a/{k}"
            for k in ("vitals", "event", "utterance", "motion", "status")
        ]
        + ["topic read careloop/v1/s1/dev-a/cmd"]
    )


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd")
def test_hashes_match_mosquitto_passwd(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(path), "u", "s3cret"], check=True)
    theirs = path.read_text().strip().split(":", 1)[1]
    assert verify_password("s3cret", theirs)
    assert not verify_password("s3cret!", theirs)
    _, _, iterations, salt, _ = theirs.split("$")
    ours = hash_password("s3cret", salt=base64.b64decode(salt), iterations=int(iterations))
    assert ours == theirs


def test_a_volunteer_app_hears_only_its_own_pages_and_answers_only_as_itself(
    setup: Setup,
) -> None:
    alerts = connect(setup, "svc.alerts")
    v1 = connect(setup, "vol.v1")
    try:
        v1.subscribe("careloop/alerts/v1/+/volunteer/+")  # granted; deliveries are checked
        alerts.subscribe("careloop/alerts/v1/+/reply/+")
        # pages for v2 (any site) never reach v1; its own, at two sites, do
        assert alerts.publish("careloop/alerts/v1/s1/volunteer/v2").value == 0
        assert alerts.publish("careloop/alerts/v1/s1/volunteer/v1").value == 0
        assert alerts.publish("careloop/alerts/v1/s2/volunteer/v1").value == 0
        assert v1.next_topic() == "careloop/alerts/v1/s1/volunteer/v1"
        assert v1.next_topic() == "careloop/alerts/v1/s2/volunteer/v1"
        assert v1.messages.empty()
        # it answers as itself, never as v2, and cannot speak for a device
        assert v1.publish("careloop/alerts/v1/s1/reply/v2").value == NOT_AUTHORIZED
        assert v1.publish(vitals("s1", "dev-a")).value == NOT_AUTHORIZED
        assert v1.publish("careloop/alerts/v1/s1/reply/v1").value == 0
        assert alerts.next_topic() == "careloop/alerts/v1/s1/reply/v1"
        assert alerts.messages.empty()
    finally:
        v1.close()
        alerts.close()


def test_a_revoked_volunteer_app_cannot_connect(setup: Setup) -> None:
    assert setup.prov.revoke_volunteer("v2")
    wait_refused(setup, "vol.v2", setup.passwords["vol.v2"])  # fails the test if it connects
    with pytest.raises(Refused):  # and stays refused
        Peer(setup.broker, "vol.v2", setup.passwords["vol.v2"]).close()


def test_a_volunteer_app_reaches_only_the_sites_the_volunteer_serves(setup: Setup) -> None:
    """v1 serves s1 and s2: its login never hears a page of s3 nor answers there, and the
    topics follow a change of sites at once (the files are rewritten)."""
    alerts = connect(setup, "svc.alerts")
    v1 = connect(setup, "vol.v1")
    try:
        v1.subscribe("careloop/alerts/v1/+/volunteer/v1")
        alerts.subscribe("careloop/alerts/v1/+/reply/+")
        assert alerts.publish("careloop/alerts/v1/s3/volunteer/v1").value == 0
        assert alerts.publish("careloop/alerts/v1/s2/volunteer/v1").value == 0
        assert v1.next_topic() == "careloop/alerts/v1/s2/volunteer/v1"  # s3's never came
        assert v1.messages.empty()
        assert v1.publish("careloop/alerts/v1/s3/reply/v1").value == NOT_AUTHORIZED
        assert alerts.messages.empty()
    finally:
        v1.close()
        alerts.close()
    with Directory(setup.prov.path, url=setup.prov.url) as people:  # v1 leaves s2
        people.update_volunteer(Volunteer("v1", "Vera", ("s1",)))
    setup.prov.write_files()  # what the API does after a change of sites
    time.sleep(0.5)  # the broker re-reads the files on SIGHUP
    alerts, v1 = connect(setup, "svc.alerts"), connect(setup, "vol.v1")
    try:
        v1.subscribe("careloop/alerts/v1/+/volunteer/v1")
        assert alerts.publish("careloop/alerts/v1/s2/volunteer/v1").value == 0
        assert alerts.publish("careloop/alerts/v1/s1/volunteer/v1").value == 0
        assert v1.next_topic() == "careloop/alerts/v1/s1/volunteer/v1"
        assert v1.messages.empty()
    finally:
        v1.close()
        alerts.close()
