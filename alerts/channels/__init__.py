"""Delivery channels other than MQTT: signed webhooks and e-mail over SMTP.

Each is a small client that knows nothing of alerts' state: ``send`` delivers one outbox row
or raises :class:`~alerts.errors.DeliveryError`; the service's outbox loop retries with
jittered exponential backoff (``alerts/outbox.py``).
"""

from alerts.channels.email import SmtpSender
from alerts.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSender, sign

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "SmtpSender", "WebhookSender", "sign"]
