"""The alert service's exceptions, all below one base::

    CareloopError
    └── AlertsError          anything the alert service raises on purpose
        ├── PolicyError      the tier policy file is missing, malformed or inconsistent
        ├── StoreError       the SQLite store cannot be opened or written (sqlite3 errors)
        ├── DeliveryError    a channel (webhook, SMTP) failed to deliver; retried later
        └── ReplyRejected    a volunteer's reply was refused, with a bounded ``reason``

Lower-level errors (sqlite3, tomllib, httpx, smtplib) are translated where they happen with
``raise ... from exc``.
"""

from __future__ import annotations

from careloop.errors import CareloopError


class AlertsError(CareloopError):
    """Base of every error the alert service raises."""


class PolicyError(AlertsError):
    """The tier policy file is missing, malformed or inconsistent."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"alert policy {where}: {reason}")


class StoreError(AlertsError):
    """The alert store (SQLite) failed."""


class DeliveryError(AlertsError):
    """A channel could not deliver a notification now; the outbox retries it."""

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel} delivery failed: {reason}")


class ReplyRejected(AlertsError):
    """A reply was refused; ``reason`` is one of ``careloop.wire.alerts.REJECT_REASONS``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"reply rejected: {reason}" + (f" ({detail})" if detail else ""))
