"""Spoken reminders on the real broker (docs/careplan.md): a resident with a check-up every
90 days is reminded on their own device in their language, confirms by voice, and a missed
one is paged along the policy's chain for misses (family, then the coordinator); an
appointment is reminded the day before and an hour before. Time is the service's
ManualClock (no sleeps)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from alerts import reminderdb
from careloop.wire.needs import NeedMessage
from models.runtime import CareProfile, Expectation, ScoringEngine
from people import Appointment, DeviceRegistry
from people import Device as RegisteredDevice
from tests.alerts.conftest import SHARED, T0, make_roster
from tests.helpers.mqtt import MqttTestClient
from tests.models.runtime.test_rules import _feed, _walking
from tests.runtime.conftest import Device

MIN = 60_000
H = 60 * MIN
DAY = 24 * H
#: 2026-01-06 09:00 in Taipei (UTC+8): the first check-up window opens 17 h after T0.
OPENS = T0 + 17 * H


def _profile() -> CareProfile:
    return CareProfile(
        language="zh-Hant",
        utc_offset_min=480,
        expectations=(
            Expectation(
                name="糖尿病回診",
                event="checkup_done",
                at="09:00",
                every_days=90,
                window_days=14,
                start=date(2026, 1, 6),
                remind_before_min=14 * 1440,
                tier="important",
            ),
        ),
    )


def _roster(site: str) -> dict[str, Any]:
    data = make_roster(site, volunteers=4)
    data["residents"][0]["language"] = "zh-Hant"
    data["consents"] = {"r1": {**SHARED, "store_utterance_text": True}, "r2": SHARED}
    return data


def _plan(needs: list[NeedMessage]) -> list[NeedMessage]:
    return [n for n in needs if n.kind in ("care_plan_reminder", "missed_care_plan")]


def _wait(pred, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.02)
    raise TimeoutError(what)


def _said(apps, n: int) -> list[dict[str, Any]]:
    """Wait until ``n`` ``say`` commands were published (only r1's device term-r1 is
    spoken to in these tests)."""

    def got() -> list[dict[str, Any]] | None:
        apps.drain(0.05)
        said = [c for c in apps.commands if c["action"] == "say"]
        return said if len(said) >= n else None

    return _wait(got, f"{n} commands; have {apps.commands}")


def test_a_90_day_checkup_is_spoken_confirmed_and_a_missed_one_escalates(
    start_service, apps, site, mosquitto
) -> None:
    svc = start_service(roster=_roster(site))
    scorer = ScoringEngine(profiles={(site, "r1"): _profile()})  # the scorer's planner
    slot = scorer.slot(site, "r1")
    _feed(scorer, slot, [_walking(T0)])  # first seen
    publisher = MqttTestClient(mosquitto.host, mosquitto.port).connect()
    device = Device(publisher, site, "r1", None)
    try:
        # 1. the window opens: the scorer's reminder is spoken on term-r1 in zh-Hant
        reminder = _plan(scorer.tick(OPENS + MIN))
        assert [(n.kind, n.reminder) for n in reminder] == [("care_plan_reminder", True)]
        svc.clock.set(OPENS + MIN)
        apps.publish_need(reminder[0])
        said = _said(apps, 1)
        assert said[0]["language"] == "zh-Hant" and "檢查" in said[0]["text"]
        rid = said[0]["alert"]
        assert [e.action for e in svc.audit(rid)] == ["reminded"]
        assert svc.reader.alerts() == []  # a reminder is said, never paged
        # 2. the resident answers; the alert service closes it and thanks them; the scorer
        #    counts the occurrence as done, so no miss follows
        words = {"ts": OPENS + 2 * MIN, "language": "zh", "text": "檢查過了"}
        device.send("utterance", words)
        _wait(lambda: svc.audit(rid, "confirmed"), "confirmed")
        assert "謝謝" in _said(apps, 2)[1]["text"]
        scorer.score_utterance(slot, words)
        assert _plan(scorer.tick(OPENS + 15 * DAY)) == []
        # 3. ninety days on: reminded again, nobody answers, the scorer flags the miss
        nxt = OPENS + 90 * DAY
        svc.clock.set(nxt + MIN)
        again = _plan(scorer.tick(nxt + MIN))
        apps.publish_need(again[0])
        rid2 = _said(apps, 3)[2]["alert"]
        assert rid2 != rid
        device.send("utterance", {"ts": nxt + 2 * MIN, "language": "zh", "text": "今天天氣很好"})
        missed = _plan(scorer.tick(nxt + 14 * DAY + MIN))
        assert [(n.kind, n.tier) for n in missed] == [("missed_care_plan", "important")]
        svc.clock.set(nxt + 14 * DAY + MIN)
        apps.publish_need(missed[0])
        alert = _wait(lambda: svc.reader.alerts(), "the missed check-up's alert")[0]
        assert (alert.kind, alert.tier) == ("missed_care_plan", "important")
        with svc.reader.tx() as db:  # the unanswered reminder was never closed
            assert reminderdb.by_key(db, site, again[0].id).state == "waiting"
        # the policy's chain for a miss: the family (r1 did not agree to tell them: skipped,
        # tests/alerts/test_family_escalation.py), then the coordinator, at once
        apps.wait(lambda x: x.type == "page" and x.volunteer == "c01")
        assert set(apps.pages(alert.id)) == {"c01"}
        assert [e.reason for e in svc.audit(alert.id, "step_skipped")] == ["no_family_consent"]
    finally:
        publisher.close()


def test_an_appointment_is_reminded_the_day_before_and_an_hour_before(
    start_service, apps, site
) -> None:
    svc = start_service(roster=_roster(site))
    at = T0 + 3 * DAY + 2 * H  # Thursday 10:00 UTC = 18:00 in Taipei
    with svc.people(clock=lambda: T0) as people:
        resident = people.resident(site, "r1")
        people.set_care_profile(
            site, "r1", resident.profile.model_copy(update={"utc_offset_min": 480})
        )
        people.add_appointment(Appointment("ap1", site, "r1", at, "台大醫院", "回診",
                                           companion="志工小明", booked_by="c01"))  # fmt: skip
    svc.clock.set(at - 25 * H)
    svc.settle()
    apps.drain(0.3)
    assert apps.commands == []  # not yet
    svc.clock.set(at - 24 * H + MIN)
    day = _said(apps, 1)[0]
    assert "明天" in day["text"] and "18:00" in day["text"] and "志工小明" in day["text"]
    svc.advance(600)
    apps.drain(0.3)
    assert len(apps.commands) == 1  # said once
    svc.clock.set(at - H + MIN)
    hour = _said(apps, 2)[1]
    assert "一個小時" in hour["text"] and "台大醫院" in hour["text"]
    svc.advance(1800)
    svc.clock.set(at + MIN)
    svc.settle()
    apps.drain(0.3)
    assert len(apps.commands) == 2
    assert [e.action for e in svc.audit(day["alert"])] == ["reminded"]


def test_the_residents_terminal_button_confirms_and_another_residents_device_cannot(
    start_service, apps, site, mosquitto
) -> None:
    """A reminder is said on the voice device, but any of the resident's own devices may
    answer it (the terminal's "check-up done" button); a device registered to someone else
    may not, and is refused without closing anything."""
    svc = start_service(roster=_roster(site))
    with DeviceRegistry(svc.settings.paths.people, url=svc.settings.store_url) as registry:
        registry.add([RegisteredDevice("bed-r1", site, "r1", kind="terminal")])
    _wait(
        lambda: svc.service.engine.roster.owners.get((site, "bed-r1")) == "r1",
        "the alert service to follow the new terminal",
    )
    scorer = ScoringEngine(profiles={(site, "r1"): _profile()})
    _feed(scorer, scorer.slot(site, "r1"), [_walking(T0)])
    publisher = MqttTestClient(mosquitto.host, mosquitto.port).connect()
    terminal = Device(publisher, site, "r1", None, device="bed-r1")
    someone_else = Device(publisher, site, "r2", None)  # term-r2, r2's voice device
    try:
        reminder = _plan(scorer.tick(OPENS + MIN))
        svc.clock.set(OPENS + MIN)
        apps.publish_need(reminder[0])
        rid = _said(apps, 1)[0]["alert"]
        # r2's device claims to speak for r1: refused, the reminder stays open
        someone_else.send("event", {"ts": OPENS + 2 * MIN, "type": "checkup_done"}, resident="r1")
        # r1's own terminal: its button closes the reminder, the thanks are said aloud
        terminal.send("event", {"ts": OPENS + 3 * MIN, "type": "checkup_done"})
        _wait(lambda: svc.audit(rid, "confirmed"), "confirmed by the terminal")
        thanks = _said(apps, 2)[1]
        assert "謝謝" in thanks["text"]
        assert apps.command_devices[apps.commands.index(thanks)] == "term-r1"
        assert len(svc.audit(rid, "confirmed")) == 1
    finally:
        publisher.close()
