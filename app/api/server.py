"""Serving the app: uvicorn without its own signal handlers (the runner owns Ctrl-C).

Both ``careloop api`` and ``careloop demo`` serve through :func:`serve`, which returns once
``stop`` is set and uvicorn has shut down (open event streams get ``graceful_s`` to end).
Given a certificate and key, the server speaks HTTPS itself (TLS 1.2 or later, forward-secret
AEAD ciphers for TLS 1.2); without, plain HTTP for loopback or behind a TLS reverse proxy
(docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from careloop.errors import SettingsError

#: TLS 1.2 cipher suites offered (TLS 1.3's are all forward-secret AEAD already): uvicorn's
#: default string ("TLSv1") also allows CBC suites with SHA-1.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


class QuietServer(uvicorn.Server):
    """uvicorn's server minus its signal handling (:mod:`careloop.runner` does that)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_server(
    app: Any,
    *,
    host: str,
    port: int,
    graceful_s: float = 2.0,
    tls_cert_file: Path | None = None,
    tls_key_file: Path | None = None,
) -> QuietServer:
    """A server for ``app`` with careloop's defaults (no access log: request lines would
    carry resident ids; ``/metrics`` counts requests instead), over HTTPS when given a
    certificate chain and key (None: the key is in the certificate file).

    The files are loaded here once, so a wrong path or a key that does not match fails at
    start-up with a :class:`SettingsError` instead of inside uvicorn's start.
    """
    tls: dict[str, Any] = {}
    if tls_cert_file is not None:
        key = tls_key_file or tls_cert_file
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(tls_cert_file, key)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise SettingsError("api.tls_cert_file", f"cannot load {tls_cert_file}: {exc}") from exc
        tls = {"ssl_certfile": str(tls_cert_file), "ssl_keyfile": str(key)}
        tls["ssl_ciphers"] = TLS12_CIPHERS
    return QuietServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=int(graceful_s) or 1,
            **tls,
        )
    )


async def serve(server: QuietServer, stop: asyncio.Event) -> None:
    """Run ``server`` until ``stop`` is set (or it fails to start)."""
    web = asyncio.create_task(server.serve(), name="http")
    waiter = asyncio.create_task(stop.wait(), name="http:stop")
    try:
        await asyncio.wait({web, waiter}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await web
    finally:
        waiter.cancel()
        if not web.done():
            web.cancel()


async def started(server: QuietServer) -> None:
    """Wait until the server listens (uvicorn offers no event for it; callers bound the
    wait with ``asyncio.timeout``)."""
    while not server.started:  # noqa: ASYNC110  # uvicorn has no "started" event
        await asyncio.sleep(0.05)
