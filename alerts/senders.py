"""The alert service's retrying channels, one drain task each: webhooks, e-mail, Web Push and
SMS. Each opens its sender from the settings and hands it to :func:`alerts.outbox.drain`,
which owns retries and backoff; the service only decides which of them run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from alerts.channels import PushSender, SmsSender, SmtpSender, Vapid, WebhookSender
from alerts.clock import Clock
from alerts.metrics import AlertMetrics
from alerts.outbox import Send, drain
from alerts.store import AlertStore, Channel
from careloop.settings import Settings
from people import Directory

#: How long one e-mail may take: a few SMTP round trips of up to 10 s each (the lease on
#: an e-mail row covers it; see :meth:`Outbox.drain`).
SMTP_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Outbox:
    """One channel's rows in the alert store, and what draining them needs."""

    channel: Channel
    settings: Settings
    store: AlertStore
    clock: Clock
    metrics: AlertMetrics
    wake: asyncio.Event
    #: The replica sending (its MQTT client id), named on the rows it leases.
    owner: str

    async def drain(self, send: Send, timeout_s: float) -> None:
        """Send this channel's rows; a row is leased for the send's timeout plus
        ``alerts.lease`` (a replica killed mid-send leaves it to another after that)."""
        cfg = self.settings.alerts
        await drain(
            self.channel, send, store=self.store, clock=self.clock, metrics=self.metrics,
            wake=self.wake, retry=(cfg.retry_initial, cfg.retry_max, cfg.max_attempts),
            lease=(self.owner, round((timeout_s + cfg.lease) * 1000)),
        )  # fmt: skip


async def webhooks(box: Outbox) -> None:
    """Signed emergency webhooks (HMAC with ``alerts.webhook_secret``)."""
    cfg = box.settings.alerts
    key = cfg.webhook_secret.get_secret_value().encode() if cfg.webhook_secret else b""
    async with WebhookSender(key, timeout=cfg.webhook_timeout) as hooks:
        await box.drain(hooks.send, cfg.webhook_timeout)


async def emails(box: Outbox) -> None:
    """Pages by e-mail over SMTP (verified TLS by default)."""
    cfg = box.settings.alerts
    await box.drain(SmtpSender.from_settings(cfg).send, SMTP_TIMEOUT_S)


async def pushes(box: Outbox, people: Directory) -> None:
    """Web Push to the volunteers' installed apps; gone subscriptions are forgotten."""
    cfg = box.settings.alerts
    vapid = Vapid.load(box.settings.paths.vapid_key, cfg.vapid_subject)
    sender = PushSender(
        vapid, people.push_subscriptions, people.remove_push_subscription,
        timeout=cfg.push_timeout,
    )  # fmt: skip
    async with sender as push:
        await box.drain(push.send, cfg.push_timeout)


async def sms(box: Outbox) -> None:
    """Text messages through the configured HTTP gateway."""
    cfg = box.settings.alerts
    header = cfg.sms_auth_header.get_secret_value() if cfg.sms_auth_header else None
    async with SmsSender(cfg.sms_url, header, timeout=cfg.sms_timeout) as gateway:
        await box.drain(gateway.send, cfg.sms_timeout)
