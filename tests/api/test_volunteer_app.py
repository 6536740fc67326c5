"""The volunteers' app's API against a real server, SMTP server and broker.

Sign-in by e-mail (the code and the link work once), the e-mailed page's signed one-time
accept and decline links end to end (used, replayed, expired: each refused with a sentence
in the volunteer's language), "my alerts" showing the resident only as far as consent
allows, "not now" honoured by the on-call routing, and push subscriptions validated.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from alerts import AlertService, ManualClock
from app.api import create_app
from careloop.i18n import translate
from careloop.settings import Settings, load_settings
from careloop.wire.needs import NeedMessage, NeedTopic, encode_need
from devservers import InfluxDB, Mosquitto, free_port
from models.runtime.careplan import CareProfile
from people import Consent, Directory, Resident, Site, Volunteer
from tests.helpers.api_server import serve_in_thread
from tests.helpers.mqtt import MqttTestClient
from tests.helpers.push_service import BrowserKeys

T0 = 1_767_600_000_000


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"

    def about(self, alert: str, to: str | None = None, timeout: float = 10) -> Any:
        """The first e-mail (to ``to``) that mentions ``alert``, once it arrived."""
        deadline = time.monotonic() + timeout
        while True:
            for m in list(self.messages):
                if (to is None or m["To"] == to) and alert in m.get_content():
                    return m
            assert time.monotonic() < deadline, f"no e-mail about {alert} to {to}"
            time.sleep(0.05)

    def wait(self, to: str, n: int = 1, timeout: float = 10) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            got = [m for m in self.messages if m["To"] == to]
            if len(got) >= n:
                return got
            assert time.monotonic() < deadline, f"{len(got)} of {n} e-mails to {to}"
            time.sleep(0.05)


@dataclass
class AppWorld:
    base: str
    site: str
    settings: Settings
    directory: Directory
    clock: ManualClock
    service: AlertService
    inbox: Inbox
    broker: Mosquitto

    def client(self, **kw: Any) -> httpx.Client:
        headers = {"Origin": self.base, **kw.pop("headers", {})}
        return httpx.Client(base_url=self.base, headers=headers, trust_env=False, timeout=10, **kw)

    def page(self, resident: str, kind: str = "fall", tier: str = "emergency", **said: Any) -> str:
        """Publish a need (``said``: its ``summary_key``/``summary_args``) and return the id
        of the alert it opened."""
        ts = self.clock.now_ms()
        need = NeedMessage(
            id=f"{resident}:{kind}:{uuid.uuid4().hex[:6]}", site=self.site, resident=resident,
            kind=kind, tier=tier, state="open", ts=ts, onset=ts, score=1.0,  # type: ignore[arg-type]
            summary=f"{kind} (test)", language="en", **said,
        )  # fmt: skip
        mqtt = MqttTestClient(self.broker.host, self.broker.port).connect()
        try:
            mqtt.publish(str(NeedTopic(self.site, resident)), encode_need(need))
        finally:
            mqtt.close()
        deadline = time.monotonic() + 10
        while True:
            for alert in self.service.store.alerts(open_only=True):
                if alert.resident == resident and alert.kind == kind and alert.state != "open":
                    return alert.id
            assert time.monotonic() < deadline, "no alert"
            time.sleep(0.05)

    @contextmanager
    def signed_in(self, volunteer: str) -> Iterator[httpx.Client]:
        """A client holding an app session of ``volunteer`` (a one-time link spent)."""
        signin = self.directory.create_signin(volunteer, lifetime_ms=60_000, max_recent=100)
        with self.client() as client:
            made = client.post("/api/v1/app/session", json={"link": signin.link})
            assert made.status_code == 200, made.text
            yield client


@pytest.fixture(scope="module")
def world(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppWorld]:
    site = f"t{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path_factory.mktemp("app")
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    settings = load_settings(
        site=site, data_dir=str(data_dir),
        mqtt={"host": mosquitto.host, "port": mosquitto.port, "backoff_initial": 0.1},
        influx={"url": influxdb.url, "database": "unused"},
        alerts={"client_id": f"alerts-{site}", "sites": site, "tick_interval": 0.02,
                "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "push": False},
        api={"cookie_secure": False, "max_failed_tokens": 10_000,
             "public_url": "https://care.example.org"},
    )  # fmt: skip
    directory = Directory(settings.paths.people)
    directory.add_site(Site(site, "Rose Court"))
    shared = CareProfile(language="zh", room="Room 12, 2F", helps=("Speak on her left side",))
    directory.add_resident(Resident(site, "r1", "Lin Mei", "zh", shared, location=(25.03, 121.56)))
    directory.add_resident(Resident(site, "r2", "Bob Birch", "en", CareProfile(room="Flat 9")))
    directory.set_consent(Consent(site, "r1", False, True, True, 0, "test"))
    directory.set_consent(Consent(site, "r2", False, False, False, 0, "test"))
    for vid, lang in (("v1", "zh-TW"), ("v2", "en"), ("v3", "en")):
        directory.add_volunteer(
            Volunteer(vid, f"Volunteer {vid}", (site,), email=f"{vid}@example.org",
                      languages=(lang,), channels=("mqtt", "email"))
        )  # fmt: skip
    clock = ManualClock(T0)
    service = AlertService(settings, clock=clock)
    app = create_app(settings, alert_service=service, directory=directory)
    server, thread, port = serve_in_thread(app)
    try:
        deadline = time.monotonic() + 15
        while not service.connected.is_set():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        yield AppWorld(
            f"http://127.0.0.1:{port}", site, settings, directory, clock, service, inbox,
            mosquitto,
        )  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(20)
        smtp.stop()
        directory.close()


def _code(text: str) -> str | None:
    found = re.search(r": (\d{6})\s*$", text, re.M)
    return found.group(1) if found else None


def _links(message: Any) -> dict[str, str]:
    text = message.get_content()
    found = re.findall(r"https://care\.example\.org(/app/act/[A-Za-z0-9_.-]+)", text)
    assert len(found) == 2, text
    return {"accept": found[0], "decline": found[1]}


def test_sign_in_by_e_mail_code_and_link_work_once(world: AppWorld) -> None:
    with world.client(headers={"Accept-Language": "en"}) as c:
        unknown = c.post("/api/v1/app/signin", json={"email": "nobody@example.org"})
        asked = c.post("/api/v1/app/signin", json={"email": "V2@example.org"})
        assert unknown.status_code == asked.status_code == 202  # nothing revealed
        assert unknown.json() == asked.json()
        mail = world.inbox.wait("v2@example.org")[-1]
        text = mail.get_content()
        assert mail["Subject"] == translate("en", "app.signin_email_subject")
        link = re.search(r"/app/#signin=(cls_[A-Za-z0-9_-]+)", text)
        code = _code(text)
        assert link and code, text
        assert c.get("/api/v1/app/me").status_code == 401
        made = c.post("/api/v1/app/session", json={"link": link.group(1)})
        assert made.status_code == 200 and made.json()["subject"] == "v2"
        me = c.get("/api/v1/app/me").json()
        assert me["id"] == "v2" and me["available"] is True and me["locale"] == "en"
    with world.client() as other:
        # The link is spent, and so is the code that came with it.
        assert other.post("/api/v1/app/session", json={"link": link.group(1)}).status_code == 401
        wrong = other.post("/api/v1/app/session", json={"email": "v2@example.org", "code": code})
        assert wrong.status_code == 401
        other.post("/api/v1/app/signin", json={"email": "v2@example.org"})
        code2 = _code(world.inbox.wait("v2@example.org", n=2)[-1].get_content())
        ok = other.post("/api/v1/app/session", json={"email": "v2@example.org", "code": code2})
        assert ok.status_code == 200, ok.text


def test_e_mailed_accept_link_works_once_and_in_the_volunteers_language(
    world: AppWorld,
) -> None:
    alert = world.page("r1")
    mail = world.inbox.about(alert, "v1@example.org")
    links = _links(mail)
    with world.client(headers={"Accept-Language": "en"}) as c:
        page = c.get(links["accept"])
        assert page.status_code == 200
        assert 'lang="zh-Hant"' in page.text  # v1 reads Traditional Chinese (zh-TW)
        assert translate("zh-Hant", "app.action_accept") in page.text
        assert world.service.store.get(alert).state != "accepted"  # a GET does nothing
        token = links["accept"].rsplit("/", 1)[1]
        done = c.post("/api/v1/app/act", json={"token": token})
        assert done.status_code == 200, done.text
        assert done.json()["message"] == translate("zh-Hant", "app.link_done_accept")
        assert world.service.store.get(alert).owner == "v1"
        again = c.post("/api/v1/app/act", json={"token": token})
        assert again.status_code == 409
        assert again.json() == {
            "outcome": "used", "reason": None,
            "message": translate("zh-Hant", "app.link_used"),
        }  # fmt: skip
        assert translate("zh-Hant", "app.link_used") in c.get(links["accept"]).text
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        bad = c.post("/api/v1/app/act", json={"token": forged})
        assert bad.status_code == 404 and bad.json()["outcome"] == "bad_link"
        odd = c.post("/api/v1/app/act", json={"token": "é" * 20 + ".é"})
        assert odd.status_code == 404 and odd.json()["outcome"] == "bad_link"


def test_links_expire_with_the_alert(world: AppWorld) -> None:
    alert = world.page("r2", kind="sos")
    mails = {v: world.inbox.about(alert, f"{v}@example.org") for v in ("v2", "v3")}
    token_v3 = _links(mails["v3"])["accept"].rsplit("/", 1)[1]
    with world.signed_in("v2") as v2:
        assert v2.post(f"/api/v1/alerts/{alert}/accept", json={}).status_code == 200
        assert v2.post(f"/api/v1/alerts/{alert}/resolve", json={"note": "ok"}).status_code == 200
    with world.client(headers={"Accept-Language": "en"}) as c:
        late = c.post("/api/v1/app/act", json={"token": token_v3})
        assert late.status_code == 410
        assert late.json()["message"] == translate("en", "app.link_expired")
        assert translate("en", "app.link_expired") in c.get(f"/app/act/{token_v3}").text
    # A link also stops at the time written in it, even while its alert is open.
    open_alert = world.page("r2", kind="fall", tier="general")
    mail = world.inbox.about(open_alert)
    token = _links(mail)["decline"].rsplit("/", 1)[1]
    world.clock.advance(8 * 24 * 3600)  # past the link's day, and the general tier's resolve
    with world.client() as c:
        assert c.post("/api/v1/app/act", json={"token": token}).status_code == 410


def test_my_alerts_show_the_resident_only_as_consent_allows(world: AppWorld) -> None:
    shared = world.page("r1", kind="hypoxia")
    private = world.page("r2", kind="hypoxia")
    with world.signed_in("v3") as v3:
        items = {a["id"]: a for a in v3.get("/api/v1/app/alerts").json()["items"]}
    assert shared in items and private in items
    card = items[shared]["resident"]
    assert card["name"] == "Lin Mei" and card["room"] == "Room 12, 2F"
    assert card["helps"] == ["Speak on her left side"] and card["language"] == "zh"
    assert card["directions_url"].endswith("to=25.030000%2C121.560000")
    assert items[shared]["kind"] == "hypoxia"
    assert items[private]["resident"] == {
        "resident": None, "name": None, "room": None, "language": None, "helps": [],
        "directions_url": None,
    }  # fmt: skip
    assert items[private]["kind"] is None and items[private]["summary"] is None


def test_summaries_are_shown_in_the_readers_language(world: AppWorld) -> None:
    said = {
        "summary_key": "summary.fall_check_in",
        "summary_args": {
            "what_msg": "summary.fall_what.motion",
            "how_msg": "summary.fall_up.motion",
            "secs": 40,
        },
    }
    keyed = world.page("r1", kind="fall_check_in", tier="emergency", **said)
    plain = world.page("r1", kind="sos", tier="emergency")
    seen: dict[str, dict[str, str]] = {}
    for vid in ("v1", "v3"):  # zh-TW, en
        with world.signed_in(vid) as client:
            mine = {a["id"]: a["summary"] for a in client.get("/api/v1/app/alerts").json()["items"]}
            one = client.get(f"/api/v1/alerts/{keyed}").json()["summary"]
            other = client.get(f"/api/v1/alerts/{plain}").json()["summary"]
            seen[vid] = {"app": mine[keyed], "api": one, "plain": other}
    zh = (
        "佩戴的動作感測器偵測到疑似跌倒（從直立姿勢猛烈撞擊，之後躺著不動），40 秒後再次活動"
        "（不再躺著）：跌倒後已自行起身，值得探視，檢查是否受傷。"
    )
    en = (
        "Fall candidate from the worn motion sensor (a sharp impact out of upright, then "
        "lying still), then moving again 40 s later (no longer lying): fell and got up, "
        "worth a visit to check for injuries."
    )
    assert seen["v1"]["api"] == seen["v1"]["app"] == zh
    assert seen["v3"]["api"] == seen["v3"]["app"] == en
    # a need without a key (an older scorer) shows its English summary to everyone
    assert seen["v1"]["plain"] == seen["v3"]["plain"] == "sos (test)"


def test_not_now_is_honoured_by_on_call_routing(world: AppWorld) -> None:
    with world.signed_in("v2") as v2:
        me = v2.put("/api/v1/app/availability", json={"available": False}).json()
        assert me["available"] is False
        try:
            alert = world.page("r1", kind="agitation")
            pages = world.service.store.pages(alert)
            assert "v2" not in pages and {"v1", "v3"} <= set(pages)
        finally:
            assert v2.put("/api/v1/app/availability", json={"available": True}).json()["available"]
        bad = v2.put("/api/v1/app/availability", json={"available": False, "until_ms": 1})
        assert bad.status_code == 422


def test_push_subscriptions_are_validated_and_the_callers_own(world: AppWorld) -> None:
    keys = BrowserKeys()
    sub = keys.subscription("https://push.example.net/send/abc")
    with world.signed_in("v3") as v3:
        assert v3.post("/api/v1/app/push", json=sub).status_code == 201
        broken = {**sub, "keys": {"p256dh": "A" * 87, "auth": sub["keys"]["auth"]}}
        assert v3.post("/api/v1/app/push", json=broken).status_code == 422
        plain = keys.subscription("http://push.example.net/send/abc")
        assert v3.post("/api/v1/app/push", json=plain).status_code == 422
        assert v3.get("/api/v1/app/me").json()["push_subscriptions"] == 1
    with world.signed_in("v2") as v2:
        gone = v2.request("DELETE", "/api/v1/app/push", json={"endpoint": sub["endpoint"]})
        assert gone.status_code == 404  # not theirs
    with world.signed_in("v3") as v3:
        gone = v3.request("DELETE", "/api/v1/app/push", json={"endpoint": sub["endpoint"]})
        assert gone.status_code == 204


def test_history_shows_the_thanks_i_received_as_consent_allows(world: AppWorld) -> None:
    """The praise credits reach the app's history: how many, how credited, and the latest
    one by one, naming the resident only where they share who they are with volunteers."""
    engine = world.service.engine
    engine.praise(world.site, "r1", source="family", reporter="family:t1", volunteer="v2",
                  team=None)  # fmt: skip
    world.clock.advance(60)
    engine.praise(world.site, "r2", source="coordinator", reporter="c1", volunteer="v2",
                  team=None)  # fmt: skip
    with world.signed_in("v2") as v2:
        history = v2.get("/api/v1/app/history")
        assert history.status_code == 200, history.text
        thanks = history.json()["thanks"]
        counted = v2.get("/api/v1/volunteers/v2/praise").json()
    assert thanks["praise"] == counted["praise"] == 2 and thanks["by"] == {"named": 2}
    assert thanks["last_ms"] == counted["last_ms"] == world.clock.now_ms()
    newest, oldest = thanks["recent"]
    assert (newest["source"], newest["credited_by"]) == ("coordinator", "named")
    assert newest["resident"] is None and newest["name"] is None  # r2 shares nothing
    assert (oldest["source"], oldest["resident"], oldest["name"]) == ("family", "r1", "Lin Mei")
    with world.signed_in("v3") as v3:  # nobody else's thanks
        mine = v3.get("/api/v1/app/history").json()["thanks"]
    assert (mine["praise"], mine["recent"], mine["last_ms"]) == (0, [], None)
    # the labels the app shows, in the volunteer's language (v2 reads English)
    with world.signed_in("v2") as v2:
        messages = v2.get("/api/v1/app/messages").json()["messages"]
    for key in ("app.thanks_title", "app.thanks_count", "app.thanks_none", "app.thanks_from",
                "app.thanks_private", "app.thanks_via_voice"):  # fmt: skip
        assert key in messages, key
