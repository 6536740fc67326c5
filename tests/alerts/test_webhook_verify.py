"""A webhook receiver built on :func:`alerts.channels.webhook.verify`, over real HTTP.

The sender is careloop's :class:`WebhookSender`; the receiver is a real HTTP server that
answers 204 to what ``verify`` accepts and 401 otherwise, on a clock the test sets, so a
replay minutes later and a request stamped in the future are seen to be refused.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from alerts.channels.webhook import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSender,
    sign,
    verify,
)
from alerts.errors import DeliveryError

SECRET = b"receiver-test-key-5678"


class VerifyingReceiver:
    """Accepts what ``verify`` accepts at ``now`` (None = the real clock)."""

    def __init__(self) -> None:
        self.now: float | None = None
        self.answers: list[int] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                ok = verify(
                    SECRET,
                    self.headers.get(TIMESTAMP_HEADER, ""),
                    body,
                    self.headers.get(SIGNATURE_HEADER, ""),
                    now=receiver.now,
                )
                receiver.answers.append(204 if ok else 401)
                self.send_response(receiver.answers[-1])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def post(self, headers: dict[str, str], body: bytes) -> int:
        """Send a request as given (a replay, or one an attacker stamped)."""
        keep = {k: v for k, v in headers.items() if k.lower().startswith("x-careloop")}
        r = httpx.post(self.url, content=body, headers=keep, trust_env=False, timeout=10)
        return r.status_code


@pytest.fixture
def receiver() -> Iterator[VerifyingReceiver]:
    r = VerifyingReceiver()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


async def deliver(url: str, body: bytes, nid: str) -> None:
    async with WebhookSender(SECRET, timeout=10) as hooks:
        await hooks.send(url, body, nid)


def test_a_fresh_delivery_verifies_and_a_late_replay_does_not(receiver: VerifyingReceiver):
    body = b'{"alert": "a-1", "tier": "emergency"}'
    asyncio.run(deliver(receiver.url, body, "n-1"))  # the real clock on both sides
    assert receiver.answers == [204]
    headers, got = receiver.requests[0]
    sent_at = int(headers[TIMESTAMP_HEADER])
    assert abs(sent_at - time.time()) < 5 and headers[ID_HEADER] == "n-1"

    receiver.now = sent_at + 60  # replayed a minute later: still inside the window
    assert receiver.post(headers, got) == 204  # (the receiver drops it by X-Careloop-Id)
    receiver.now = sent_at + 301  # five minutes and a second later
    assert receiver.post(headers, got) == 401
    receiver.now = sent_at + 86_400
    assert receiver.post(headers, got) == 401


def test_a_future_timestamp_is_refused(receiver: VerifyingReceiver) -> None:
    body = b'{"alert": "a-2"}'
    receiver.now = 1_800_000_000.0
    for ahead, status in ((299, 204), (301, 401), (3600, 401)):
        stamp = str(int(receiver.now) + ahead)
        headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, stamp, body)}
        assert receiver.post(headers, body) == status, ahead


def test_a_delivery_the_receiver_refuses_is_a_delivery_error(receiver: VerifyingReceiver):
    """The sender sees the refusal (and its outbox retries with a new timestamp)."""
    receiver.now = time.time() + 3600  # a receiver whose clock runs an hour ahead
    with pytest.raises(DeliveryError):
        asyncio.run(deliver(receiver.url, b"{}", "n-3"))
    assert receiver.answers == [401]


@pytest.mark.parametrize("stamp", ["", "abc", "-5", "1.5e9", " 1800000000", "１８"])
def test_malformed_timestamps_never_verify(stamp: str) -> None:
    body = b"{}"
    assert not verify(SECRET, stamp, body, sign(SECRET, stamp, body), now=1_800_000_000)


def test_the_window_is_the_receivers_to_choose() -> None:
    body, stamp = b"{}", "1800000000"
    signature = sign(SECRET, stamp, body)
    assert verify(SECRET, stamp, body, signature, now=1_800_000_030, tolerance_s=60)
    assert not verify(SECRET, stamp, body, signature, now=1_800_000_030, tolerance_s=10)
    assert not verify(b"another key", stamp, body, signature, now=1_800_000_000)
