"""Consent is asked at the channel: a page, an e-mail and the emergency webhook carry about a
resident only what the resident agreed to share with that reader; the tier (how fast to
answer) always."""

from __future__ import annotations

import email
import email.policy
import json
import time

from aiosmtpd.controller import Controller

from devservers import free_port
from tests.alerts.conftest import SHARED, make_roster, need, policy_with_webhook
from tests.alerts.test_channels import Inbox, Receiver


def roster_with_r3(site: str, r3: dict[str, bool]) -> dict:
    """r1 shares everything (the fixture's default); r3 shares ``r3``."""
    roster = make_roster(site, volunteers=2)
    roster["residents"].append({"id": "r3", "site": site, "language": "zh"})
    roster["volunteers"][0].update(channels=["mqtt", "email"], email="v01@example.org")
    roster["consents"] = {"r1": SHARED, "r3": r3}
    return roster


def test_a_page_carries_only_what_the_resident_shares(start_service, apps, site, tmp_path):
    receiver = Receiver(free_port())
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    receiver.start()
    try:
        nothing = {"share_with_volunteers": False, "share_vitals_with_volunteers": False}
        svc = start_service(
            roster=roster_with_r3(site, nothing),
            policy=policy_with_webhook(tmp_path, site, f"http://127.0.0.1:{receiver.port}/h"),
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
        )
        said = {"summary_key": "summary.vitals", "summary_args": {  # catalog text: 血壓非常高
            "lead_msg": "summary.vitals_lead.bp_crisis", "parts": "vital:systolic_bp",
            "systolic_bp_value": 192.0}}  # fmt: skip
        apps.publish_need(need(site, "r3", "hypertensive_crisis").model_copy(update=said))
        pages = apps.wait(lambda x: x.type == "page", n=2)
        for page in pages:  # volunteers: the site, the tier, the alert; nothing about r3
            assert (page.site, page.tier) == (site, "emergency")
            assert page.resident is None and page.kind is None and page.summary is None
            assert page.summary_key is None and page.summary_args is None
        svc.advance(601)  # respond deadline (10 min): the coordinator (staff) and the webhook
        staff = apps.wait(lambda x: x.type == "page" and x.volunteer == "c01")[0]
        assert (staff.resident, staff.kind) == ("r3", "hypertensive_crisis")
        assert staff.summary == "test hypertensive_crisis"
        assert (staff.summary_key, staff.summary_args) == (
            said["summary_key"],
            said["summary_args"],
        )
        deadline = time.monotonic() + 10
        while not receiver.got or not inbox.messages:
            assert time.monotonic() < deadline, (receiver.got, inbox.messages)
            time.sleep(0.05)
        hook = json.loads(receiver.got[0][1])
        assert (hook["tier"], hook["site"]) == ("emergency", site)
        assert hook["resident"] is None and hook["kind"] is None and hook["summary"] is None
        assert hook["summary_key"] is None and hook["summary_args"] is None
        mail = email.message_from_bytes(inbox.messages[0][2], policy=email.policy.default)
        text = f"{mail['Subject']}\n{mail.get_content()}"  # v01 reads Chinese (languages zh)
        assert "hypertensive" not in text and "血壓" not in text and "r3" not in text
        assert mail["Subject"] == f"[careloop 緊急] 新的警示：一項需求（{site}）"

        # r1 shares everything: the same channels carry who and what
        apps.publish_need(need(site, "r1", "fall", "emergency"))
        page = apps.wait(lambda x: x.type == "page" and x.resident == "r1")[0]
        assert (page.kind, page.summary) == ("fall", "test fall")
    finally:
        smtp.stop()
        receiver.stop()


def test_a_resident_who_shares_who_but_not_vitals(start_service, apps, site):
    who_only = {"share_with_volunteers": True, "share_vitals_with_volunteers": False}
    start_service(roster=roster_with_r3(site, who_only))
    apps.publish_need(need(site, "r3", "low_mood", "emotional"))
    page = apps.wait(lambda x: x.type == "page")[0]
    assert page.resident == "r3" and page.tier == "emotional"
    assert page.kind is None and page.summary is None
