"""Signed webhooks: ``POST`` of the JSON body with an HMAC-SHA256 signature.

The receiver checks ``X-Careloop-Signature: sha256=<hex>`` = HMAC-SHA256(secret,
``<timestamp>.<body>``) with the timestamp from ``X-Careloop-Timestamp`` (epoch seconds), and
rejects timestamps outside a window round its own clock (:func:`verify` does both: 300 s
either side by default), so a captured request cannot be replayed later. Within the window
a replay still verifies: ``X-Careloop-Id`` is the notification id, the same on every retry,
so the receiver drops duplicates by it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

from alerts.errors import DeliveryError

SIGNATURE_HEADER = "X-Careloop-Signature"
TIMESTAMP_HEADER = "X-Careloop-Timestamp"
ID_HEADER = "X-Careloop-Id"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance_s: float = 300,
) -> bool:
    """What a receiver does: the signature matches (constant-time) and ``timestamp`` (epoch
    seconds, digits only) is within ``tolerance_s`` of ``now`` (default: this machine's
    clock), either side: a stale one is a replay, a future one was signed to outlive the
    window. Each retry is signed afresh, so a slow outbox never trips it."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    current = time.time() if now is None else now
    fresh = abs(current - int(timestamp)) <= tolerance_s
    matches = hmac.compare_digest(sign(secret, timestamp, body), signature)
    return fresh and matches


class WebhookSender:
    """One keep-alive HTTP client; ``async with WebhookSender(secret) as hooks: ...``."""

    def __init__(self, secret: bytes, *, timeout: float = 10.0) -> None:
        self._secret = secret
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> WebhookSender:
        if self._client is not None:
            raise RuntimeError("WebhookSender is not reentrant")
        self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def send(self, url: str, body: bytes, nid: str) -> None:
        """Deliver once; any answer but 2xx, or no answer, raises DeliveryError."""
        if self._client is None:
            raise RuntimeError("use WebhookSender as an async context manager")
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, stamp, body),
            TIMESTAMP_HEADER: stamp,
            ID_HEADER: nid,
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError("webhook", f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise DeliveryError("webhook", f"HTTP {response.status_code}")
