"""E-mail pages over verified STARTTLS (or implicit TLS) to a real SMTP server (aiosmtpd)
with a test-made certificate; plaintext only to a loopback relay (docs/deploy.md).

A page names a resident and their need, and the SMTP login is a password: both go
encrypted, the server's certificate is verified, and a page the server cannot be trusted
with stays in the outbox for a retry instead of being sent in clear or lost.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from alerts import ManualClock
from alerts.channels import SmtpSender
from alerts.errors import DeliveryError
from careloop.errors import SettingsError
from careloop.settings import load_settings
from devservers import Mosquitto, free_port
from tests.alerts.conftest import T0, Apps, Running, make_roster, need
from tests.helpers.certs import TestCA

USER, PASSWORD = "careloop-pages", "smtp-test-password-1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("pki")
    ca = TestCA.make(root / "ca")
    return SimpleNamespace(ca=ca, wrong=TestCA.make(root / "wrong", "someone else's CA"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, pki: SimpleNamespace) -> Any:
    """The alert service reaches this broker over TLS; the volunteers' apps (the test's
    observers) use its plaintext loopback listener."""
    with Mosquitto(tmp_path_factory.mktemp("broker"), tls=pki.ca.server_tls()) as server:
        yield server


class Inbox:
    """An SMTP server's handler that records each message, and whether it came after
    STARTTLS."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, envelope.content, session.ssl is not None))
        return "250 OK"

    def wait(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.messages:
            assert time.monotonic() < deadline, "no e-mail"
            time.sleep(0.05)


def _login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


def smtp_server(pki: SimpleNamespace, *, implicit: bool = False) -> tuple[Controller, Inbox]:
    """aiosmtpd on loopback with the CA's certificate: STARTTLS required before MAIL and
    before AUTH, or (``implicit``) TLS from the first byte."""
    cert = pki.ca.issue(f"smtp-{uuid.uuid4().hex[:6]}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert_file, cert.key_file)
    inbox = Inbox()
    tls: dict[str, Any] = (
        # aiosmtpd counts only STARTTLS as TLS for AUTH; implicit TLS is TLS from the start.
        {"ssl_context": context, "auth_require_tls": False}
        if implicit
        else {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    )
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), authenticator=_login, **tls
    )
    controller.start()
    return controller, inbox


def service(broker: Mosquitto, data_dir: Path, site: str, clock: ManualClock, **alerts: Any):
    """The alert service (MQTT over TLS to ``broker``) paging v01 by e-mail too."""
    settings = load_settings(
        site=site,
        data_dir=str(data_dir),
        mqtt=broker.mqtt_settings(tls=True, backoff_initial=0.1, backoff_max=1),
        alerts={
            "client_id": f"alerts-{uuid.uuid4().hex[:8]}",
            "tick_interval": 0.02,
            "retry_initial": 1.0,
            "retry_max": 5.0,
            "smtp_host": "127.0.0.1",
            "smtp_tls": "starttls",  # loopback would default to "none"
            "smtp_username": USER,
            "smtp_password": PASSWORD,
            **alerts,
        },
    )
    roster = make_roster(site, volunteers=1)
    roster["volunteers"][0].update(channels=["mqtt", "email"], email="v01@example.org")
    return Running(settings, clock, roster, None)


def test_settings_default_to_starttls_and_refuse_plaintext_off_the_machine():
    remote = load_settings(alerts={"smtp_host": "mail.example.org"}).alerts
    assert (remote.smtp_tls, remote.smtp_port) == ("starttls", 587)
    implicit = load_settings(alerts={"smtp_host": "mail.example.org", "smtp_tls": "tls"}).alerts
    assert implicit.smtp_port == 465
    relay = load_settings(alerts={"smtp_host": "127.0.0.1"}).alerts  # a local relay
    assert (relay.smtp_tls, relay.smtp_port) == ("none", 25)
    with pytest.raises(SettingsError, match=r"plaintext SMTP .* loopback"):
        load_settings(alerts={"smtp_host": "mail.example.org", "smtp_tls": "none"})
    with pytest.raises(SettingsError, match=r"replaced by alerts\.smtp_tls"):
        load_settings(alerts={"smtp_host": "mail.example.org", "smtp_starttls": True})
    with pytest.raises(ValueError, match="loopback"):  # a sender built by hand, too
        SmtpSender("mail.example.org", 25, "careloop@example.org", tls="none")


def test_a_page_by_email_over_verified_starttls(broker, pki, tmp_path):
    site = f"t{uuid.uuid4().hex[:8]}"
    smtp, inbox = smtp_server(pki)
    apps = Apps(broker, site)
    run = service(
        broker, tmp_path, site, ManualClock(T0), smtp_port=smtp.port,
        smtp_ca_file=str(pki.ca.ca_file),
    )  # fmt: skip
    try:
        apps.publish_need(need(site, kind="fall"))
        page = apps.wait(lambda x: x.type == "page")[0]
        inbox.wait()
    finally:
        run.stop()
        apps.close()
        smtp.stop()
    rcpt, content, over_tls = inbox.messages[0]
    assert rcpt == ["v01@example.org"] and over_tls
    assert f"Message-ID: <{page.id}-e@careloop>" in content.decode()


def test_a_server_with_an_untrusted_certificate_gets_nothing_and_the_page_waits(
    broker, pki, tmp_path
):
    """Wrong CA: refused, nothing sent (not even the login), the e-mail stays in the outbox;
    with the right CA the next service sends it: not lost."""
    site = f"t{uuid.uuid4().hex[:8]}"
    smtp, inbox = smtp_server(pki)
    apps = Apps(broker, site)
    clock = ManualClock(T0)
    wrong = service(
        broker, tmp_path, site, clock, smtp_port=smtp.port, smtp_ca_file=str(pki.wrong.ca_file)
    )
    try:
        apps.publish_need(need(site, kind="fall"))
        apps.wait(lambda x: x.type == "page")
        deadline = time.monotonic() + 10
        while not [d for d in wrong.reader.deliveries() if d["attempts"]]:
            assert time.monotonic() < deadline, wrong.reader.deliveries()
            time.sleep(0.05)
        [email] = [d for d in wrong.reader.deliveries() if d["channel"] == "email"]
        assert email["state"] == "pending" and email["attempts"] >= 1
        assert "certificate verify failed" in email["last_error"]
        time.sleep(0.5)
        assert not inbox.messages
        wrong.stop()

        clock.advance(60)  # past the retry's backoff
        right = service(
            broker, tmp_path, site, clock, smtp_port=smtp.port, smtp_ca_file=str(pki.ca.ca_file),
            client_id=wrong.settings.alerts.client_id,
        )  # fmt: skip
        try:
            inbox.wait()
            deadline = time.monotonic() + 10
            while right.reader.deliveries()[-1]["state"] != "sent":
                assert time.monotonic() < deadline, right.reader.deliveries()
                time.sleep(0.05)
        finally:
            right.stop()
    finally:
        wrong.stop()
        apps.close()
        smtp.stop()
    assert len(inbox.messages) == 1 and inbox.messages[0][2]


def _body() -> bytes:
    return json.dumps({"subject": "[careloop] test", "body": "a test page"}).encode()


def test_implicit_tls(pki):
    smtp, inbox = smtp_server(pki, implicit=True)
    try:
        sender = SmtpSender(
            "127.0.0.1", smtp.port, "careloop@example.org", tls="tls", ca_file=pki.ca.ca_file,
            username=USER, password=PASSWORD,
        )  # fmt: skip
        asyncio.run(sender.send("v01@example.org", _body(), "n1"))
        wrong = SmtpSender(
            "127.0.0.1", smtp.port, "careloop@example.org", tls="tls", ca_file=pki.wrong.ca_file
        )
        with pytest.raises(DeliveryError, match="certificate verify failed"):
            asyncio.run(wrong.send("v01@example.org", _body(), "n2"))
    finally:
        smtp.stop()
    # (aiosmtpd's session.ssl tells only of STARTTLS; this server speaks nothing but TLS.)
    assert [m[0] for m in inbox.messages] == [["v01@example.org"]]


def test_a_server_that_offers_no_starttls_is_refused_not_used_in_clear(pki):
    """No fallback: a man in the middle could strip the STARTTLS offer."""
    inbox = Inbox()
    plain = Controller(inbox, hostname="127.0.0.1", port=free_port())
    plain.start()
    try:
        sender = SmtpSender(
            "127.0.0.1", plain.port, "careloop@example.org", tls="starttls", ca_file=pki.ca.ca_file
        )
        with pytest.raises(DeliveryError, match="STARTTLS"):
            asyncio.run(sender.send("v01@example.org", _body(), "n1"))
    finally:
        plain.stop()
    assert not inbox.messages
