"""``careloop api``: the HTTP API and dashboard (docs/api.md), served by uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

from careloop.settings import Settings


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "api",
        help="serve the HTTP API and dashboard (and, by default, the alert service)",
        description="Serve careloop's HTTP API under /api/v1 (sites, residents, consents, "
        "volunteers, schedules, alerts, vitals, SLA, dead letters), /healthz, /readyz and "
        "/metrics. Callers authenticate with tokens from 'careloop token create'. Unless "
        "--no-alerts, this process also runs the alert service, paging from the directory.",
    )
    g = p.add_argument_group("api")
    g.add_argument("--host", dest="api__host", help="address to listen on (127.0.0.1)")
    g.add_argument("--port", dest="api__port", type=int, help="port (8080; 0 = any free)")
    g.add_argument("--directory", dest="api__directory", help="directory file (registry)")
    g.add_argument(
        "--cookie-secure",
        dest="api__cookie_secure",
        action="store_const",
        const=True,
        help="send the session cookie over HTTPS only (behind TLS)",
    )
    g.add_argument(
        "--no-alerts",
        action="store_true",
        help="do not run the alert service here (alert actions answer 503)",
    )
    g.add_argument(
        "--all-sites",
        dest="alerts__sites",
        action="store_const",
        const="+",
        help="the alert service serves every site on the broker, not only --site",
    )
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(serve(settings, alerts=not args.no_alerts))


async def serve(settings: Settings, *, alerts: bool = True) -> int:
    """Serve until SIGINT/SIGTERM (uvicorn without its own signal handlers)."""
    import uvicorn

    from alerts.service import _quiet_server
    from careloop.api.app import create_app

    app = create_app(settings, alert_service=alerts)
    config = uvicorn.Config(
        app,
        host=settings.api.host,
        port=settings.api.port,
        log_level="warning",
        access_log=False,  # request lines would carry resident ids; /metrics counts requests
        lifespan="on",
    )
    server = _quiet_server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    await server.serve()
    return 0
