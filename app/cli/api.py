"""``careloop api``: the HTTP API and dashboard (docs/api.md), served by uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from careloop.logs import fields
from careloop.runner import run as run_until_stopped
from careloop.settings import Settings
from careloop.tls import is_loopback

log = logging.getLogger(__name__)


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "api",
        help="serve the HTTP API and dashboard (and, by default, the alert service)",
        description="Serve careloop's HTTP API under /api/v1 (sites, residents, consents, "
        "volunteers, schedules, alerts, vitals, SLA, dead letters), /healthz, /readyz and "
        "/metrics. Callers authenticate with tokens from 'careloop token create'. Unless "
        "--no-alerts, this process also runs the alert service, paging from the people "
        "database.",
    )
    g = p.add_argument_group("api")
    g.add_argument("--host", dest="api__host", help="address to listen on (127.0.0.1)")
    g.add_argument("--port", dest="api__port", type=int, help="port (8080; 0 = any free)")
    g.add_argument(
        "--cookie-secure",
        dest="api__cookie_secure",
        action=argparse.BooleanOptionalAction,
        help="mark the session cookie Secure, sent over HTTPS only (CARELOOP_API__COOKIE_SECURE; "
        "on; --no-cookie-secure only for plain HTTP on loopback)",
    )
    g.add_argument(
        "--tls-cert-file",
        dest="api__tls_cert_file",
        help="serve HTTPS with this certificate chain (PEM) (CARELOOP_API__TLS_CERT_FILE; "
        "unset: plain HTTP, for loopback or behind a TLS reverse proxy)",
    )
    g.add_argument(
        "--tls-key-file",
        dest="api__tls_key_file",
        help="its private key (CARELOOP_API__TLS_KEY_FILE; default: in the cert file)",
    )
    g.add_argument(
        "--allowed-origin",
        dest="api__allowed_origins",
        action="append",
        metavar="ORIGIN",
        help="an origin (https://care.example.org) whose pages may write with the session "
        "cookie besides the API's own, e.g. the public address behind a TLS proxy; repeat "
        "for more (CARELOOP_API__ALLOWED_ORIGINS)",
    )
    g.add_argument(
        "--public-url",
        dest="api__public_url",
        help="the address volunteers' phones reach the API at, for links in e-mails, pushes "
        "and SMS, e.g. https://care.example.org (default http://HOST:PORT)",
    )
    g.add_argument(
        "--no-alerts",
        action="store_true",
        help="do not run the alert service here: run careloop alerts replicas instead "
        "(actions and the events stream still work, through the alert store)",
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
    return run_until_stopped(lambda stop: serve(settings, stop, alerts=not args.no_alerts))


async def serve(settings: Settings, stop: asyncio.Event, *, alerts: bool = True) -> int:
    """Serve until ``stop`` is set."""
    from app.api.app import create_app
    from app.api.server import make_server
    from app.api.server import serve as serve_app

    cfg = settings.api
    if cfg.tls_cert_file is None and not is_loopback(cfg.host):
        log.warning(
            "serving plain HTTP on a non-loopback address: put a TLS reverse proxy in front, "
            "or give --tls-cert-file (docs/deploy.md)",
            extra=fields(host=cfg.host, port=cfg.port),
        )
    app = create_app(settings, alert_service=alerts)
    server = make_server(
        app,
        host=cfg.host,
        port=cfg.port,
        tls_cert_file=cfg.tls_cert_file,
        tls_key_file=cfg.tls_key_file,
    )
    await serve_app(server, stop)
    return 0
