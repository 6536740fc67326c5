"""Alert fixtures: an in-process AlertService on the real broker driven by a ManualClock,
volunteer apps as real MQTT clients, and a reader on the real store (SQLite, PostgreSQL)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts import AlertService, AlertStore, ManualClock, Policy
from careloop.settings import Settings, load_settings
from careloop.wire.alerts import (
    AlertNotification,
    AlertReply,
    alert_subscription,
    decode_notification,
    encode_alert,
    reply_topic,
)
from careloop.wire.needs import NeedMessage, NeedTopic, encode_need
from devservers import Mosquitto
from people import Consent, Directory, RosterFile, import_roster, parse_roster
from tests.helpers.mqtt import MqttTestClient
from tests.helpers.service_thread import ServiceThread

T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z
SECRET = "test-webhook-key-1234"


#: Residents share everything with volunteers unless a test says otherwise (consent is
#: what decides what a page carries: tests/alerts/test_consent_channels.py).
SHARED = {"share_with_volunteers": True, "share_vitals_with_volunteers": True}


def make_roster(site: str, volunteers: int = 8, **extra: Any) -> dict[str, Any]:
    """A roster file's contents: ``volunteers`` plain volunteers v01.., a coordinator c01,
    residents r1 (zh) and r2 with their voice devices, both sharing everything with
    volunteers; ``extra`` sections replace them."""
    data: dict[str, Any] = {
        "volunteers": [
            {
                "id": f"v{i:02d}",
                "site": site,
                "skills": ["medical"] if i % 2 else [],
                "languages": ["zh", "en"] if i % 3 else ["en"],
            }
            for i in range(1, volunteers + 1)
        ]
        + [{"id": "c01", "site": site, "coordinator": True, "languages": ["en"]}],
        "residents": [
            {"id": "r1", "site": site, "device": "term-r1", "language": "zh"},
            {"id": "r2", "site": site, "device": "term-r2", "language": "en"},
        ],
        "consents": {"r1": SHARED, "r2": SHARED},
    }
    for key, value in extra.items():
        data[key] = value
    return data


def write_roster(settings: Settings, roster: dict[str, Any] | RosterFile) -> None:
    """Put a roster into the people database the service pages from (as an operator's
    ``careloop people import`` would). A ``consents`` entry (``{resident: {field: bool}}``,
    not part of roster files) records those residents' consents, as the API would."""
    consents: dict[str, dict[str, bool]] = {}
    if isinstance(roster, dict):
        roster = dict(roster)
        consents = roster.pop("consents", {})
    parsed = roster if isinstance(roster, RosterFile) else parse_roster(roster)
    with Directory(settings.paths.people, url=settings.store_url) as people:
        import_roster(people, parsed)
        listed = {(r.site, r.id) for r in parsed.residents}
        for resident, agreed in consents.items():
            if (settings.site, resident) in listed:
                people.set_consent(Consent(settings.site, resident, **agreed))


def alert_settings(
    broker: Mosquitto,
    data_dir: Path,
    site: str,
    people: dict[str, Any] | None = None,
    *,
    database_url: str = "",
    **alerts: Any,
) -> Settings:
    return load_settings(
        site=site,
        data_dir=str(data_dir),
        database_url=database_url,
        people=people or {},
        mqtt={"host": broker.host, "port": broker.port, "backoff_initial": 0.1, "backoff_max": 1},
        alerts={
            "client_id": f"alerts-{uuid.uuid4().hex[:8]}",
            "tick_interval": 0.02,
            "webhook_secret": SECRET,
            "retry_initial": 1.0,
            "retry_max": 5.0,
            **alerts,
        },
    )


def need(
    site: str,
    resident: str = "r1",
    kind: str = "fall",
    tier: str = "emergency",
    *,
    ts: int = T0,
    state: str = "open",
    need_id: str | None = None,
    language: str = "zh",
) -> NeedMessage:
    return NeedMessage(
        id=need_id or f"{resident}:{kind}:{ts}",
        site=site,
        resident=resident,
        kind=kind,  # type: ignore[arg-type]
        tier=tier,  # type: ignore[arg-type]
        state=state,  # type: ignore[arg-type]
        ts=ts,
        onset=ts,
        score=1.0,
        summary=f"test {kind}",
        language=language,
    )


def policy_with_webhook(tmp_path: Path, site: str, url: str) -> Policy:
    """The default policy plus an emergency webhook for ``site``, as a deployment writes it."""
    path = tmp_path / "policy.toml"
    with open(Policy.load().source, encoding="utf-8") as f:
        path.write_text(f.read() + f'\n[sites.{site}]\nemergency_webhook = "{url}"\n')
    return Policy.load(path)


class Apps:
    """Every volunteer's app of a site: one MQTT client subscribed to all their topics;
    with ``client_id``, in a persistent session (pages wait in it while it is away)."""

    def __init__(self, broker: Mosquitto, site: str, client_id: str | None = None) -> None:
        self.site = site
        self.client = MqttTestClient(
            broker.host, broker.port, client_id=client_id, clean_session=client_id is None
        ).connect()
        self.client.subscribe(alert_subscription("volunteer", site))
        self.client.subscribe(f"careloop/v1/{site}/+/cmd")
        self.seen: list[AlertNotification] = []
        self.commands: list[dict[str, Any]] = []
        #: The device each of :attr:`commands` was sent to.
        self.command_devices: list[str] = []
        self.nonces = 0

    def _pump(self, timeout: float) -> bool:
        try:
            msg = self.client.get(timeout)
        except TimeoutError:
            return False
        if msg.topic.endswith("/cmd"):
            import json

            self.commands.append(json.loads(msg.payload))
            self.command_devices.append(msg.topic.split("/")[-2])
        else:
            self.seen.append(decode_notification(msg.topic, msg.payload))
        return True

    def wait(
        self, pred: Callable[[AlertNotification], bool], n: int = 1, timeout: float = 10.0
    ) -> list[AlertNotification]:
        """Block until ``n`` notifications matching ``pred`` were received in total."""
        deadline = time.monotonic() + timeout
        while True:
            got = [x for x in self.seen if pred(x)]
            if len(got) >= n:
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"only {len(got)} of {n} notifications; seen {self.brief()}")
            self._pump(min(left, 0.5))

    def drain(self, seconds: float = 0.2) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._pump(0.05)

    def pages(self, alert: str | None = None) -> dict[str, set[str]]:
        """volunteer -> ids of page notifications (distinct: the app dedupes by id)."""
        out: dict[str, set[str]] = {}
        for x in self.seen:
            if x.type == "page" and (alert is None or x.alert == alert):
                out.setdefault(x.volunteer, set()).add(x.id)
        return out

    def brief(self) -> list[tuple[str, str, str | None]]:
        return [(x.type, x.volunteer, x.reason) for x in self.seen]

    def reply(
        self, volunteer: str, alert: str, action: str, *, to: str | None = None,
        nonce: str | None = None,
    ) -> str:  # fmt: skip
        self.nonces += 1
        nonce = nonce or f"{volunteer}-{self.nonces}-{uuid.uuid4().hex[:6]}"
        body = AlertReply(nonce=nonce, alert=alert, action=action, ts=T0, to=to)  # type: ignore[arg-type]
        self.client.publish(reply_topic(self.site, volunteer), encode_alert(body))
        return nonce

    def publish_need(self, message: NeedMessage) -> None:
        self.client.publish(str(NeedTopic(message.site, message.resident)), encode_need(message))

    def close(self) -> None:
        self.client.close()


class Running:
    """An AlertService running in a thread of its own (its own event loop)."""

    def __init__(
        self,
        settings: Settings,
        clock: ManualClock,
        roster: dict[str, Any] | RosterFile,
        policy: Policy | None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        write_roster(settings, roster)
        self.service = AlertService(settings, clock=clock, policy=policy)
        self._thread = ServiceThread(self.service, "alerts-under-test")
        self.reader = AlertStore(self.service.db_path, url=settings.store_url)

    def advance(self, seconds: float) -> None:
        """Move the clock, then wait until the ticker has looked at it twice."""
        self.clock.advance(seconds)
        self.settle()

    def settle(self) -> None:
        start = self.service.ticks
        deadline = time.monotonic() + 10
        while self.service.ticks < start + 3:
            if time.monotonic() > deadline:
                raise TimeoutError("ticker stalled")
            time.sleep(0.01)

    def audit(self, alert: str, action: str | None = None) -> list[Any]:
        return [e for e in self.reader.audit_log(alert) if action is None or e.action == action]

    def alert(self, alert_id: str) -> Any:
        return self.reader.get(alert_id)

    def only_alert(self) -> Any:
        alerts = self.reader.alerts()
        assert len(alerts) == 1, alerts
        return alerts[0]

    def people(self, **kwargs: Any) -> Directory:
        """The people database the service pages from (on whichever backend it runs)."""
        return Directory(self.settings.paths.people, url=self.settings.store_url, **kwargs)

    def stop(self) -> None:
        try:
            self._thread.stop(15)
        finally:
            self.reader.close()


@pytest.fixture
def site(unique_topic_root: str) -> str:
    return unique_topic_root


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def start_service(
    mosquitto: Mosquitto, tmp_path: Path, site: str, clock: ManualClock, database_url: str
) -> Iterator[Callable[..., Running]]:
    """``start_service(roster=..., policy=..., **alerts_settings)`` -> a running service,
    once on each backend (``database_url``: SQLite files, then PostgreSQL)."""
    started: list[Running] = []

    def start(
        roster: dict[str, Any] | RosterFile | None = None,
        policy: Policy | None = None,
        people: dict[str, Any] | None = None,
        **alerts: Any,
    ) -> Running:
        settings = alert_settings(
            mosquitto, tmp_path, site, people, database_url=database_url, **alerts
        )
        run = Running(settings, clock, roster or make_roster(site), policy)
        started.append(run)
        return run

    yield start
    for run in started:
        run.stop()


@pytest.fixture
def apps(mosquitto: Mosquitto, site: str) -> Iterator[Apps]:
    a = Apps(mosquitto, site)
    yield a
    a.close()
