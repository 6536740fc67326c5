"""The ticket stories of docs/tickets.md, on the real broker with the real scorer and alert
service: what a resident says to the voice device becomes a ticket with its tier's deadlines,
thanks are credited, and a resolved ticket asks the device how satisfied they were."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from alerts import ticketdb
from alerts.satisfaction import monthly
from tests.alerts.conftest import SHARED, T0, make_roster
from tests.helpers.mqtt import MqttTestClient
from tests.runtime.conftest import Device, Scorer, score_settings

H = 3_600_000
WORDS = {**SHARED, "store_utterance_text": True}


@pytest.fixture
def story(start_service, apps, site, mosquitto, tmp_path) -> Iterator[Any]:
    """Alert service + scorer sharing one people database; r1 speaks zh and lets words be
    stored; its voice device term-r1 is registered by the roster."""
    svc = start_service(roster=make_roster(site, consents={"r1": WORDS, "r2": SHARED}))
    url = svc.settings.store_url
    scorer = Scorer(score_settings(mosquitto, tmp_path, sites=site, database_url=url))
    publisher = MqttTestClient(mosquitto.host, mosquitto.port).connect()
    device = Device(publisher, site, "r1", None)
    n = [0]

    def say(text: str) -> None:
        n[0] += 1
        device.send("utterance", {"ts": T0 + n[0] * 1000, "language": "zh", "text": text})

    try:
        yield svc, say
    finally:
        publisher.close()
        scorer.stop()


def _alert_of(svc, kind: str, timeout: float = 15.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in svc.reader.alerts() if a.kind == kind]
        if found:
            return found[0]
        time.sleep(0.05)
    raise TimeoutError(f"no {kind} alert; have {[a.kind for a in svc.reader.alerts()]}")


def test_a_request_is_a_general_ticket_and_a_complaint_an_important_one(story, apps):
    svc, say = story
    say("冷氣太冷了，可以幫我調高一點嗎")
    request = _alert_of(svc, "request")
    assert (request.tier, request.opened_ms, request.respond_due_ms) == (
        "general", T0, T0 + 24 * H,
    )  # fmt: skip
    say("那個護理員態度很差")
    complaint = _alert_of(svc, "complaint")
    assert (complaint.tier, complaint.respond_due_ms) == ("important", T0 + 12 * H)
    # Volunteers were paged about both; the one who accepts owns it with the resolve deadline.
    page = apps.wait(lambda x: x.type == "page" and x.alert == request.id)[0]
    apps.reply(page.volunteer, request.id, "accept")
    apps.wait(lambda x: x.type == "accepted" and x.alert == request.id)
    assert svc.alert(request.id).resolve_due_ms == T0 + 48 * H
    page = apps.wait(lambda x: x.type == "page" and x.alert == complaint.id)[0]
    apps.reply(page.volunteer, complaint.id, "accept")
    apps.wait(lambda x: x.type == "accepted" and x.alert == complaint.id)
    assert svc.alert(complaint.id).resolve_due_ms == T0 + 7 * 24 * H
    # The pages carry the kind (consent allows) and never the words said.
    pages = [x for x in apps.seen if x.alert in (request.id, complaint.id)]
    assert all("冷氣" not in (x.summary or "") and "護理員" not in (x.summary or "") for x in pages)


def test_thanks_are_credited_to_the_last_volunteer_who_helped(story, apps):
    svc, say = story
    say("冷氣太冷了，可以幫我調高一點嗎")
    request = _alert_of(svc, "request")
    helper = apps.wait(lambda x: x.type == "page" and x.alert == request.id)[0].volunteer
    apps.reply(helper, request.id, "accept")
    apps.wait(lambda x: x.type == "accepted")
    say("謝謝你們昨天來看我")
    import time

    deadline = time.monotonic() + 15
    while ticketdb.praise_counts(svc.reader.db, helper)["praise"] == 0:
        assert time.monotonic() < deadline, "praise never credited"
        time.sleep(0.05)
    counts = ticketdb.praise_counts(svc.reader.db, helper)
    assert counts["by"] == {"last_helper": 1}
    assert not [a for a in svc.reader.alerts() if a.kind == "praise"]  # thanks page nobody


def test_resolving_asks_the_device_and_the_answer_is_stored(story, apps, site):
    svc, say = story
    say("冷氣太冷了，可以幫我調高一點嗎")
    request = _alert_of(svc, "request")
    owner = apps.wait(lambda x: x.type == "page" and x.alert == request.id)[0].volunteer
    apps.reply(owner, request.id, "accept")
    apps.wait(lambda x: x.type == "accepted")
    apps.reply(owner, request.id, "resolve")
    _wait_cmd(apps, "您滿意嗎")
    asked = [c for c in apps.commands if "您滿意嗎" in (c.get("text") or "")]
    assert (asked[0]["language"], asked[0]["alert"]) == ("zh-Hant", request.id)
    say("很好")
    _wait_cmd(apps, "謝謝您告訴我們")
    rows = svc.reader.db.execute(
        "SELECT kind, tier, volunteer, rater_role, score, words, via FROM ratings"
    ).fetchall()
    assert rows == [("request", "general", owner, "resident", 5, "很好", "voice")]
    figures = monthly(svc.reader, sites=frozenset({site}))
    assert [(f["month"], f["ratings"], f["satisfaction"], f["tickets"]) for f in figures] == [
        ("2026-01", 1, 5.0, 1)
    ]
    # "很好" is an answer, not a new ticket or thanks.
    assert [a.kind for a in svc.reader.alerts()] == ["request"]


def test_a_non_answer_is_asked_again_once_then_recorded_as_no_answer(story, apps):
    svc, say = story
    say("冷氣太冷了，可以幫我調高一點嗎")
    request = _alert_of(svc, "request")
    owner = apps.wait(lambda x: x.type == "page" and x.alert == request.id)[0].volunteer
    apps.reply(owner, request.id, "accept")
    apps.wait(lambda x: x.type == "accepted")
    apps.reply(owner, request.id, "resolve")
    _wait_cmd(apps, "您滿意嗎")
    say("嗯…")
    _wait_cmd(apps, "我沒有聽清楚")
    say("嗯…")
    import time

    deadline = time.monotonic() + 10
    while not svc.audit(request.id, "rating_no_answer"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    rows = svc.reader.db.execute("SELECT score, via FROM ratings").fetchall()
    assert rows == [(None, "voice")]
    # A late answer finds no question waiting: nothing more is stored.
    say("很好")
    apps.drain(0.5)
    assert svc.reader.db.execute("SELECT count(*) FROM ratings").fetchone()[0] == 1


def _wait_cmd(apps, fragment: str, timeout: float = 10.0) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        for c in apps.commands:
            if fragment in (c.get("text") or ""):
                return c
        if time.monotonic() > deadline:
            raise TimeoutError(f"no cmd with {fragment!r}: {json.dumps(apps.commands)}")
        apps._pump(0.2)
