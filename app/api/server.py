"""Serving the app: uvicorn without its own signal handlers (the runner owns Ctrl-C).

Both ``careloop api`` and ``careloop demo`` serve through :func:`serve`, which returns once
``stop`` is set and uvicorn has shut down (open event streams get ``graceful_s`` to end).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import uvicorn


class QuietServer(uvicorn.Server):
    """uvicorn's server minus its signal handling (:mod:`careloop.runner` does that)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_server(app: Any, *, host: str, port: int, graceful_s: float = 2.0) -> QuietServer:
    """A server for ``app`` with careloop's defaults (no access log: request lines would
    carry resident ids; ``/metrics`` counts requests instead)."""
    return QuietServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=int(graceful_s) or 1,
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
