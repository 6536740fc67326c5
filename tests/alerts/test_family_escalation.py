"""A missed care-plan reminder escalates per the plan (docs/careplan.md), on the real broker
and a real SMTP server (aiosmtpd), time on the service's ManualClock: with the resident's
consent the family is e-mailed in their language first and the coordinator paged after the
step's time; without it the family step is skipped and audited; a plan's own chain is
followed in its order."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from careloop.wire.needs import NeedMessage
from devservers import free_port
from models.runtime import ScoringEngine
from people import CareProfile, Expectation, FamilyContact
from tests.alerts.conftest import SHARED, T0, make_roster
from tests.models.runtime.test_rules import _feed, _walking

MIN = 60_000
H = 60 * MIN
#: 2026-01-06 08:00 in Taipei (UTC+8) = 00:00 UTC: the pills' window opens 16 h after T0.
OPENS = T0 + 16 * H
DAUGHTER = "daughter@example.org"


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    yield inbox, port
    server.stop()


def _profile(escalate: tuple[str, ...] | None = None) -> CareProfile:
    pills = Expectation(
        name="早餐後吃藥", event="medication_taken", at="08:00", window_min=60,
        remind_before_min=30, tier="important", escalate=escalate,  # type: ignore[arg-type]
    )  # fmt: skip
    return CareProfile(
        language="zh-Hant", utc_offset_min=480, expectations=(pills,),
        family=(FamilyContact(email=DAUGHTER, language="zh-Hant"),),
    )  # fmt: skip


def _start(start_service: Any, site: str, port: int, profile: CareProfile, *, consent: bool) -> Any:
    roster = make_roster(site, volunteers=2)
    roster["residents"][0].update(name="林奶奶", language="zh-Hant")
    roster["consents"] = {"r1": {**SHARED, "notify_family": consent}, "r2": SHARED}
    svc = start_service(roster=roster, smtp_host="127.0.0.1", smtp_port=port)
    with svc.people() as people:
        people.set_care_profile(site, "r1", profile)
    assert svc.service.follow_people(force=True)  # as its ticker would within a second
    return svc


def _miss(svc: Any, apps: Any, site: str, profile: CareProfile) -> Any:
    """The scorer reminds (said on term-r1), nobody answers, the window closes: the miss is
    published and its alert opened. Returns the alert."""
    scorer = ScoringEngine(profiles={(site, "r1"): profile})
    _feed(scorer, scorer.slot(site, "r1"), [_walking(T0)])  # first seen
    svc.clock.set(OPENS + 31 * MIN)
    reminder = _plan(scorer.tick(OPENS + 31 * MIN))
    assert [(n.kind, n.reminder) for n in reminder] == [("care_plan_reminder", True)]
    apps.publish_need(reminder[0])
    _wait(lambda: [c for c in (apps.drain(0.05), apps.commands)[1] if c["action"] == "say"],
          "the reminder said")  # fmt: skip
    svc.clock.set(OPENS + 61 * MIN)
    missed = _plan(scorer.tick(OPENS + 61 * MIN))
    assert [(n.kind, n.tier) for n in missed] == [("missed_care_plan", "important")]
    apps.publish_need(missed[0])
    return _wait(lambda: svc.reader.alerts(), "the miss's alert")[0]


def _plan(needs: list[NeedMessage]) -> list[NeedMessage]:
    return [n for n in needs if n.kind in ("care_plan_reminder", "missed_care_plan")]


def _wait(pred: Any, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.02)
    raise TimeoutError(what)


def _actions(svc: Any, alert: str) -> list[tuple[str, str | None]]:
    return [(e.action, e.reason) for e in svc.audit(alert)]


def test_with_consent_the_family_is_emailed_in_zh_hant_then_the_coordinator_paged(
    start_service, apps, site, smtp
) -> None:
    inbox, port = smtp
    profile = _profile()
    svc = _start(start_service, site, port, profile, consent=True)
    alert = _miss(svc, apps, site, profile)
    _wait(lambda: inbox.messages, "the family's e-mail")
    _from, rcpt, content = inbox.messages[0]
    assert rcpt == [DAUGHTER]
    mail = email.message_from_bytes(content, policy=email.policy.default)
    assert mail["Subject"] == "[careloop] 林奶奶：「早餐後吃藥」尚未確認"
    text = mail.get_content()
    assert "林奶奶的照護計畫中" in text and "08:00" in text and "1月6日" in text
    assert "/family/" in text and "同意在漏掉照護計畫項目時通知家屬" in text
    assert ("family_told", None) in _actions(svc, alert.id)
    apps.drain(0.3)
    assert apps.pages(alert.id) == {}  # nobody of the care team yet
    # the family step waits the tier's step (important: 1 h), then the coordinator
    svc.advance(59 * 60)
    apps.drain(0.2)
    assert apps.pages(alert.id) == {}
    svc.advance(60)
    apps.wait(lambda x: x.type == "page" and x.volunteer == "c01" and x.alert == alert.id)
    assert set(apps.pages(alert.id)) == {"c01"}  # the default chain has no volunteers
    assert len(inbox.messages) == 1  # the family e-mail went once
    assert [d["channel"] for d in svc.reader.deliveries(alert.id)].count("email") == 1


def test_without_consent_the_family_step_is_skipped_and_the_coordinator_paged_at_once(
    start_service, apps, site, smtp
) -> None:
    inbox, port = smtp
    profile = _profile()
    svc = _start(start_service, site, port, profile, consent=False)
    alert = _miss(svc, apps, site, profile)
    apps.wait(lambda x: x.type == "page" and x.volunteer == "c01" and x.alert == alert.id)
    assert ("step_skipped", "no_family_consent") in _actions(svc, alert.id)
    assert "family_told" not in [a for a, _ in _actions(svc, alert.id)]
    assert "email" not in [d["channel"] for d in svc.reader.deliveries(alert.id)]
    time.sleep(0.3)
    assert inbox.messages == []


def test_a_plans_own_escalation_is_followed_in_its_order(start_service, apps, site, smtp) -> None:
    inbox, port = smtp
    profile = _profile(escalate=("volunteers", "family"))
    svc = _start(start_service, site, port, profile, consent=True)
    alert = _miss(svc, apps, site, profile)
    paged = apps.wait(lambda x: x.type == "page" and x.alert == alert.id, n=2)
    assert {p.volunteer for p in paged} == {"v01", "v02"}  # volunteers first, as the plan says
    time.sleep(0.3)
    assert inbox.messages == []
    svc.advance(3600)  # nobody accepts within the step: the family is told
    _wait(lambda: inbox.messages, "the family's e-mail")
    assert inbox.messages[0][1] == [DAUGHTER]
    svc.advance(3600)  # the plan's chain ends with the family: no coordinator
    apps.drain(0.3)
    assert "c01" not in apps.pages(alert.id)
    assert ("chain_exhausted", "no_answer") in _actions(svc, alert.id)
