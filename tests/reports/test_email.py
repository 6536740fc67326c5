"""The weekly report by e-mail (a real SMTP server, aiosmtpd): the site's coordinator and the
family contacts the resident consented to, each in their own language, the PDF attached,
health details only where the resident shares them with family."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from app.cli import main
from careloop.i18n import translate
from devservers import free_port
from tests.reports.conftest import WEEK, World


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(mail)
        return "250 OK"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch):
    box = Inbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    monkeypatch.setenv("CARELOOP_ALERTS__SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CARELOOP_ALERTS__SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("CARELOOP_ALERTS__SMTP_TLS", "none")
    try:
        yield box
    finally:
        smtp.stop()


def _by_recipient(inbox: Inbox) -> dict[str, EmailMessage]:
    return {str(m["To"]): m for m in inbox.messages}


def _pdf(mail: EmailMessage) -> bytes:
    parts = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    data = parts[0].get_content()
    assert data.startswith(b"%PDF")
    return bytes(data)


def test_coordinator_and_family_each_in_their_language(world: World, inbox: Inbox) -> None:
    assert main(["report", "r1", "--week", WEEK, "--email", *world.flags()]) == 0
    mails = _by_recipient(inbox)
    # the coordinator (en) and r1's two family contacts (zh-TW, en); not the volunteer
    assert set(mails) == {"coord@example.org", "daughter@example.tw", "grandson@example.org"}
    daughter, grandson = mails["daughter@example.tw"], mails["grandson@example.org"]
    assert daughter["Subject"] == translate("zh-Hant", "report.email.subject", name="王美玲",
                                            week=WEEK)  # fmt: skip
    assert grandson["Subject"] == translate("en", "report.email.subject", name="王美玲", week=WEEK)
    body = daughter.get_body(("plain",)).get_content()
    assert translate("zh-Hant", "report.finding.higher_nights", vital="心率", count=3) in body
    for mail in mails.values():
        _pdf(mail)


def test_family_without_health_consent_gets_no_health_by_mail(world: World, inbox: Inbox) -> None:
    assert main(["report", "r2", "--week", WEEK, "--email", *world.flags()]) == 0
    mails = _by_recipient(inbox)
    assert set(mails) == {"coord@example.org", "daughter@example.tw", "grandson@example.org"}
    family = mails["grandson@example.org"].get_body(("plain",)).get_content()
    staff = mails["coord@example.org"].get_body(("plain",)).get_content()
    vital = translate("en", "vital.heart_rate")
    higher = translate("en", "report.finding.higher_nights", vital=vital, count=3)
    assert higher in staff and higher not in family
    assert translate("en", "report.finding.needs_none") not in family
    # the PDF family members get is the smaller one: no charts
    assert len(_pdf(mails["grandson@example.org"])) < len(_pdf(mails["coord@example.org"]))


def test_no_family_consent_mails_the_coordinator_only(world: World, inbox: Inbox) -> None:
    assert main(["report", "r3", "--week", WEEK, "--email", *world.flags()]) == 0
    assert set(_by_recipient(inbox)) == {"coord@example.org"}
