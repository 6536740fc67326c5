"""The FastAPI app: clients opened in ``lifespan``, routes per resource in ``routes/``.

The lifespan opens, in order: the people database, the device monitor (MQTT), the InfluxDB
client (``/query``), the in-process alert service (unless disabled; it follows the people
database itself), the alert actions on the shared store, and a reader on the alert store.
Routes reach all of these through ``app/api/deps.py``.

To add a resource: write ``app/api/routes/<resource>.py`` with one ``router`` and add
it to ``ROUTERS`` below (one line).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from alerts import AlertService, AlertStore
from alerts.actions import AlertActions, WakeSender
from app.api import auth, problems
from app.api.audit import reads_sweep
from app.api.metrics import ApiMetrics
from app.api.monitor import DeviceMonitor
from app.api.overview import BandCache
from app.api.routes import (
    alerts,
    app_links,
    app_pages,
    app_session,
    appointments,
    careplan,
    dashboard,
    deadletters,
    devices,
    family,
    family_missed,
    health,
    home,
    privacy,
    public,
    ratings,
    report,
    residents,
    schedules,
    sites,
    sla,
    status,
    tickets,
    vitals,
    volunteer_app,
    volunteers,
)
from app.api.security import Hardening, TokenLimiter
from careloop import __version__
from careloop.settings import Settings
from careloop.shards import connect_sharded_async
from people import Directory

log = logging.getLogger(__name__)

#: Every router of the app, in the order they appear in the OpenAPI document.
ROUTERS = [
    health.router,
    auth.router,
    sites.router,
    home.router,
    residents.router,
    appointments.router,
    careplan.router,
    devices.router,
    privacy.router,
    volunteers.router,
    schedules.router,
    alerts.router,
    tickets.router,
    ratings.router,
    ratings.praise_router,
    app_session.router,
    volunteer_app.router,
    app_links.router,
    vitals.router,
    report.router,
    sla.router,
    deadletters.router,
    public.router,
    status.router,
    dashboard.router,
    app_pages.router,
    family.router,
    family_missed.router,
]

DESCRIPTION = """careloop's HTTP API. Authenticate with `Authorization: Bearer <token>`
(tokens from `careloop token create`) or the `careloop_token` cookie set by
`POST /api/v1/session` (writes with the cookie must come from the API's own origin, JSON
bodies only). Errors are `application/problem+json` (RFC 9457); lists are paged
with `?page=&per_page=`. See docs/api.md for roles, site scoping, consent and audit."""


def create_app(
    settings: Settings,
    *,
    alert_service: AlertService | bool = True,
    directory: Directory | None = None,
) -> FastAPI:
    """Build the app for ``settings``; entering its lifespan opens its clients.

    ``alert_service``: True = run an :class:`~alerts.AlertService` in this process (paging
    from the people database), False = none, or a service not yet entered (tests pass one
    with a manual clock). Either way the board, volunteers' actions and the events stream
    go through the shared alert store (:class:`~alerts.actions.AlertActions`), so with
    ``careloop alerts`` replicas running elsewhere any number of API processes serve the
    same users (docs/scale-alerts.md).
    ``directory``: the configured people database, already open (tests seed it first); it
    must be ``settings.paths.people``, the file the alert service and scorers read.
    """
    if directory is not None and (
        directory.path.resolve() != settings.paths.people.resolve()
        or directory.url != settings.store_url
    ):
        raise ValueError("create_app: the directory is not the configured people database")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            state = app.state
            if directory is None:
                state.directory = stack.enter_context(
                    Directory(settings.paths.people, url=settings.store_url)
                )
            else:
                state.directory = directory
            state.reads_sweep = reads_sweep(settings, state.directory)
            state.deadletters = state.receipts = None  # opened on first use (routes)
            stack.callback(_close_opened, state, ("deadletters", "receipts", "provisioner"))
            state.monitor = await stack.enter_async_context(DeviceMonitor(settings))
            state.influx = await stack.enter_async_context(
                connect_sharded_async(settings.influx, timeout=settings.api.influx_timeout)
            )
            state.alerts = None
            if alert_service is not False:
                service = alert_service if isinstance(alert_service, AlertService) else None
                state.alerts = await stack.enter_async_context(service or AlertService(settings))
            co_hosted = state.alerts
            state.actions = stack.enter_context(
                contextlib.closing(
                    AlertActions(
                        settings, state.directory,
                        clock=co_hosted.clock if co_hosted is not None else None,
                        on_outbox=(
                            co_hosted.outbox_waiting if co_hosted is not None
                            else WakeSender(settings)
                        ),
                    )
                )
            )  # fmt: skip
            state.alert_store = stack.enter_context(
                AlertStore(settings.paths.alerts, url=settings.store_url)
            )
            yield

    app = FastAPI(
        title="careloop",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN: not on the cookie's origin.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.alerts = None
    app.state.metrics = ApiMetrics()
    app.state.bands = BandCache()
    app.state.token_limiter = TokenLimiter(settings.api.max_failed_tokens)
    app.add_middleware(
        Hardening, cookie=auth.COOKIE_NAME, allowed_origins=settings.api.allowed_origins
    )
    app.middleware("http")(app.state.metrics.middleware)  # outermost: counts refusals too
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


def _close_opened(state: Any, names: tuple[str, ...]) -> None:
    """Close the stores routes opened on first use (``state.<name>``, None if never)."""
    for name in names:
        store = getattr(state, name, None)
        if store is not None:
            store.close()
            setattr(state, name, None)
