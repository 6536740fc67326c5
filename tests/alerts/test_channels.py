"""Channels against real servers: a signed webhook whose receiver is down and then up, e-mail
through a real SMTP server (aiosmtpd), HTTP replies and the server-sent event stream."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from alerts.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from careloop.wire.alerts import AlertNotification
from careloop.wire.needs import NeedMessage
from devservers import free_port
from tests.alerts.conftest import SECRET, make_roster, need, policy_with_webhook


class Receiver:
    """A real HTTP server on a fixed port that can be stopped and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.got: list[tuple[dict[str, str], bytes]] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def test_webhook_receiver_down_then_up(start_service, apps, site, tmp_path):
    receiver = Receiver(free_port())
    url = f"http://127.0.0.1:{receiver.port}/hook"
    svc = start_service(policy=policy_with_webhook(tmp_path, site, url))
    apps.publish_need(need(site, kind="agitation", tier="emergency"))
    alert_id = apps.wait(lambda x: x.type == "page", n=3)[0].alert
    svc.advance(31)  # respond deadline: coordinator and the emergency webhook
    deadline = time.monotonic() + 10
    while not any(
        d["attempts"] for d in svc.reader.deliveries(alert_id) if d["channel"] == "webhook"
    ):
        assert time.monotonic() < deadline, "no webhook attempt"
        time.sleep(0.05)
    row = next(d for d in svc.reader.deliveries(alert_id) if d["channel"] == "webhook")
    assert row["state"] == "pending" and "ConnectError" in row["last_error"]

    receiver.start()
    try:
        svc.advance(10)  # past the backoff (at most retry_max = 5 s)
        deadline = time.monotonic() + 10
        while not receiver.got:
            assert time.monotonic() < deadline, "webhook not redelivered"
            time.sleep(0.05)
        apps.drain(0.3)
        svc.advance(10)
        apps.drain(0.3)
    finally:
        receiver.stop()
    assert len(receiver.got) == 1
    headers, body = receiver.got[0]
    assert verify(SECRET.encode(), headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(b"another key", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    sent = json.loads(body)
    assert (sent["alert"], sent["tier"], sent["reason"]) == (
        alert_id,
        "emergency",
        "respond_deadline",
    )
    assert (
        svc.service.metrics.value("careloop_alerts_delivery_failures_total", channel="webhook") >= 1
    )


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


def mail_one_page(
    start_service, apps, site: str, message: NeedMessage, languages: list[str]
) -> tuple[AlertNotification, list[str], EmailMessage]:
    """Volunteer v01 (e-mail and MQTT, speaking ``languages``) is paged for ``message``
    through a real SMTP server: the MQTT page, the e-mail's recipients and the e-mail."""
    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        roster = make_roster(site, volunteers=1)
        roster["volunteers"][0].update(
            channels=["mqtt", "email"], email="v01@example.org", languages=languages
        )
        start_service(roster=roster, smtp_host="127.0.0.1", smtp_port=port)
        apps.publish_need(message)
        page = apps.wait(lambda x: x.type == "page")[0]
        deadline = time.monotonic() + 10
        while not inbox.messages:
            assert time.monotonic() < deadline, "no e-mail"
            time.sleep(0.05)
    finally:
        smtp.stop()
    _mail_from, rcpt, content = inbox.messages[0]
    mail = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    return page, rcpt, mail


@pytest.mark.parametrize(
    ("languages", "subject", "intro"),
    [
        (["en"], "[careloop emergency] new alert: fall ({where})", "Alert {alert} at {site}: fall"),
        (
            ["zh-TW", "en"],
            "[careloop 緊急] 新的警示：跌倒（{where}）",
            "{site} 的警示 {alert}：跌倒",
        ),
        (["zh-CN"], "[careloop 紧急] 新的警报：跌倒（{where}）", "{site} 的警报 {alert}：跌倒"),
    ],
)
def test_email_page_through_a_real_smtp_server_in_the_volunteers_language(
    start_service, apps, site, languages, subject, intro
):
    page, rcpt, mail = mail_one_page(start_service, apps, site, need(site, kind="fall"), languages)
    assert rcpt == ["v01@example.org"]
    assert mail["Subject"] == subject.format(where=f"{site}/r1")
    assert intro.format(alert=page.alert, site=site) in mail.get_content()
    assert mail["Message-ID"] == f"<{page.id}-e@careloop>"
