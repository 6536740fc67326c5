"""SMS through an HTTP gateway: one JSON ``POST {"to": "+8869...", "text": "..."}`` per
message to ``alerts.sms_url``, with an optional header (``alerts.sms_auth_header``, e.g.
``Authorization: Bearer ...``) and ``Idempotency-Key`` set to the notification id, the same
on every retry, so a gateway that honours it sends one SMS however often we retry.

Most gateways (or a small adapter in front of one) accept this shape; the text is short and
consent-filtered already (:func:`alerts.notify.sms_text`). Any answer but 2xx, or none,
raises :class:`~alerts.errors.DeliveryError` and the outbox retries.
"""

from __future__ import annotations

import json

import httpx

from alerts.errors import DeliveryError


class SmsSender:
    """``async with SmsSender(url, header) as sms: await sms.send(phone, body, nid)``."""

    def __init__(self, url: str, auth_header: str | None = None, *, timeout: float = 10.0):
        self.url = url
        self._headers = {"Content-Type": "application/json"}
        if auth_header:
            name, _, value = auth_header.partition(":")
            self._headers[name.strip()] = value.strip()
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> SmsSender:
        if self._client is not None:
            raise RuntimeError("SmsSender is not reentrant")
        self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def send(self, to: str, body: bytes, nid: str) -> None:
        """Send one stored SMS (``{"text": ...}``) to ``to``."""
        if self._client is None:
            raise RuntimeError("use SmsSender as an async context manager")
        text = json.loads(body)["text"]
        payload = json.dumps({"to": to, "text": text}, ensure_ascii=False).encode()
        headers = {**self._headers, "Idempotency-Key": nid}
        try:
            response = await self._client.post(self.url, content=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError("sms", f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise DeliveryError("sms", f"HTTP {response.status_code}")
