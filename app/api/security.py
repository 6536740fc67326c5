"""Protections every answer of the app gets: cross-site write refusal, headers, token limits.

:class:`Hardening` is an ASGI middleware wrapped round the whole app:

* **Cross-site writes.** A browser sends the session cookie with any request to this
  origin; ``SameSite=Strict`` is the first wall, not the only one. A write (``POST``,
  ``PUT``, ``PATCH``, ``DELETE``) that does not carry a bearer token must come from this
  origin (or one of ``api.allowed_origins``): its ``Origin`` header, or failing that its
  ``Referer``, must name it, else 403. A cookie without either is refused too (a program
  uses a bearer token, which no other site can make a browser send). Such a write with a
  body must send it as JSON, else 415: a form or ``text/plain`` post is what another
  page can send without asking the browser first.
* **Headers.** Every answer is personal data or about it: ``Cache-Control: no-store``
  (unless a route chose otherwise, like the static scripts' ``no-cache``),
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``.

:class:`TokenLimiter` counts failed token attempts per client address, in memory, so a
token cannot be guessed at speed: after ``limit`` failures within a minute every token
from that address is refused with 429 and ``Retry-After`` until the oldest failure is a
minute old. Tokens themselves are never kept or logged here.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem

#: Methods that change something; the others must not (and are not checked).
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Added to every answer that does not set them itself.
DEFAULT_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of ``url`` (lower case), or None if it has none."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme not in ("http", "https") or not host:
        return None
    return f"{parts.scheme}://{host}".lower()


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class Hardening:
    """The cross-site write check and the default headers, round the whole app."""

    def __init__(self, app: ASGIApp, *, cookie: str, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.cookie = cookie
        self.allowed = frozenset(o.lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in DEFAULT_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send_with_headers)
            return
        status, detail = refusal
        answer = problem(Request(scope), status, detail)
        await answer(scope, receive, send_with_headers)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(status, detail) if this request is a cross-site write, else None."""
        if scope["method"] not in WRITES:
            return None
        headers = Headers(scope=scope)
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return None  # a program: no browser sends this header for another site
        origin = headers.get("origin") or origin_of(headers.get("referer"))
        if origin is None:
            if self.cookie in Request(scope).cookies:
                return 403, "a signed-in write must come from this site (no Origin header)"
        elif origin.lower() not in self.allowed and origin.lower() != self._own(scope, headers):
            return 403, "writes from another site are refused"
        has_body = headers.get("transfer-encoding") or headers.get("content-length", "0") != "0"
        if has_body and not _is_json(headers.get("content-type", "")):
            return 415, "send the body as application/json"
        return None

    @staticmethod
    def _own(scope: Scope, headers: Headers) -> str:
        """This API's origin as the browser sees it: the scheme and the Host it asked for."""
        return f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()


class TokenLimiter:
    """Failed token attempts per client address within a sliding window (in memory).

    Thread-safe: sync routes run in a thread pool. At most ``max_clients`` addresses are
    remembered; beyond that the one whose last failure is oldest is forgotten.
    """

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds before ``client`` may present a token again; 0 = now."""
        with self._lock:
            recent = self._recent(client)
            if len(recent) < self.limit:
                return 0
            return max(1, math.ceil(recent[0] + self.window_s - self.clock()))

    def failed(self, client: str) -> None:
        """Count one failed attempt by ``client``."""
        with self._lock:
            recent = self._recent(client)
            recent.append(self.clock())
            self._failures[client] = recent
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def _recent(self, client: str) -> deque[float]:
        recent = self._failures.get(client, deque())
        horizon = self.clock() - self.window_s
        while recent and recent[0] <= horizon:
            recent.popleft()
        if not recent:
            self._failures.pop(client, None)
        return recent
