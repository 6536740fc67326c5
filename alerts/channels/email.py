"""E-mail over SMTP with the standard library (run in a worker thread: smtplib blocks).

A page names a resident and their need, and the SMTP login is a password, so both travel
encrypted to any server off the machine, and the server's certificate is verified against
``alerts.smtp_ca_file`` (or the system's CAs) with its name checked against the host:

* ``starttls`` (the default): connect in plaintext, upgrade with STARTTLS before anything
  else is said. A server that does not offer STARTTLS is a failed delivery, never a
  silent fallback to plaintext (a man in the middle could strip the offer).
* ``tls``: TLS from the first byte ("SMTPS", usually port 465).
* ``none``: plaintext, which the settings allow only to a loopback host (a local relay on
  this machine, which then does its own onward delivery): nothing leaves the machine in
  clear.

Any failure, a certificate that does not verify included, raises
:class:`~alerts.errors.DeliveryError`; the outbox keeps the e-mail and retries it.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from alerts.errors import DeliveryError
from careloop.tls import client_context, is_loopback

if TYPE_CHECKING:
    from careloop.settings import AlertsSettings

SmtpTls = Literal["starttls", "tls", "none"]


class SmtpSender:
    """Sends one stored e-mail (``alerts.notify.email_body``) per call, a connection each.

    Pages are rare, so a connection per message keeps this simple and robust to an SMTP
    server that closes idle connections.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: SmtpTls = "starttls",
        ca_file: Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        if tls == "none" and not is_loopback(host):
            # The settings refuse this too; a sender built by hand must not get round it.
            raise ValueError(f"plaintext SMTP is allowed only to a loopback host, not {host!r}")
        self.host = host
        self.port = port
        self.sender = sender
        self.tls = tls
        self._username = username
        self._password = password
        self._timeout = timeout
        self._context: ssl.SSLContext | None = None
        if tls != "none":
            self._context = client_context(ca_file, setting="alerts.smtp_")

    @classmethod
    def from_settings(cls, cfg: AlertsSettings) -> Self:
        """The sender the settings describe (``alerts.smtp_*``): the alert service's pages
        and the weekly reports go out the same way."""
        return cls(
            cfg.smtp_host,
            cfg.smtp_port,
            cfg.smtp_from,
            username=cfg.smtp_username,
            password=cfg.smtp_password.get_secret_value() if cfg.smtp_password else None,
            tls=cfg.smtp_tls,  # verified STARTTLS by default; plaintext only to loopback
            ca_file=cfg.smtp_ca_file,
        )

    async def send(self, to: str, body: bytes, nid: str) -> None:
        await asyncio.to_thread(self._send, to, body, nid)

    def _send(self, to: str, body: bytes, nid: str) -> None:
        data = json.loads(body)
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = data["subject"]
        msg["Message-ID"] = f"<{nid}@careloop>"  # the same on a retry: clients de-duplicate
        msg.set_content(data["body"])
        self.send_message(msg)

    def send_message(self, msg: EmailMessage) -> None:
        """Send a whole message (blocking): the same encryption, verification and login as a
        page, for mail built elsewhere (the weekly report with its PDF, app/reports)."""
        if "From" not in msg:
            msg["From"] = self.sender
        try:
            with self._connect() as smtp:
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:  # ssl errors are OSErrors
            raise DeliveryError("email", f"{type(exc).__name__}: {exc}") from exc

    def _connect(self) -> smtplib.SMTP:
        """An SMTP session, encrypted and verified unless ``tls`` is "none" (loopback)."""
        if self.tls == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self._timeout, context=self._context
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
        if self.tls == "starttls":
            try:
                # Raises SMTPNotSupportedError when the server does not offer it; checks the
                # certificate and the host name (the context has check_hostname on).
                smtp.starttls(context=self._context)
            except BaseException:
                smtp.close()
                raise
        return smtp
