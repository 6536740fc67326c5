"""E-mail over SMTP with the standard library (run in a worker thread: smtplib blocks)."""

from __future__ import annotations

import asyncio
import json
import smtplib
from email.message import EmailMessage

from alerts.errors import DeliveryError


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
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout

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
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls()
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError("email", f"{type(exc).__name__}: {exc}") from exc
