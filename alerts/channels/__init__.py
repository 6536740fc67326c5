"""Delivery channels other than MQTT: signed webhooks, e-mail over SMTP, Web Push to the
volunteers' installed app, SMS through an HTTP gateway.

Each is a small client that knows nothing of alerts' state: ``send`` delivers one outbox row
or raises :class:`~alerts.errors.DeliveryError`; the service's outbox loop retries with
jittered exponential backoff (``alerts/outbox.py``).
"""

from alerts.channels.email import SmtpSender
from alerts.channels.sms import SmsSender
from alerts.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSender, sign
from alerts.channels.webpush import PushSender, Vapid

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "PushSender",
    "SmsSender",
    "SmtpSender",
    "Vapid",
    "WebhookSender",
    "sign",
]
