"""The FastAPI app: clients opened in ``lifespan``, routes per resource in ``routes/``.

The lifespan opens, in order: the directory (SQLite), the device monitor (MQTT), an httpx
client for InfluxDB's ``/query``, the in-process alert service (unless disabled) and a
reader on the alert store, and a task that hands roster changes made by other processes to
the alert service. Routes reach all of these through ``careloop/api/deps.py``.

To add a resource: write ``careloop/api/routes/<resource>.py`` with one ``router`` and add
it to ``ROUTERS`` below (one line).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import FastAPI

from careloop import __version__
from careloop.api import auth, problems
from careloop.api.metrics import ApiMetrics
from careloop.api.routes import (
    alerts,
    dashboard,
    deadletters,
    devices,
    health,
    privacy,
    public,
    residents,
    schedules,
    sites,
    sla,
    status,
    vitals,
    volunteers,
)
from careloop.directory import Directory, default_path
from careloop.monitor import DeviceMonitor
from careloop.settings import Settings

if TYPE_CHECKING:
    from alerts.service import AlertService

log = logging.getLogger(__name__)

#: Every router of the app, in the order they appear in the OpenAPI document.
ROUTERS = [
    health.router,
    auth.router,
    sites.router,
    residents.router,
    devices.router,
    privacy.router,
    volunteers.router,
    schedules.router,
    alerts.router,
    vitals.router,
    sla.router,
    deadletters.router,
    public.router,
    status.router,
    dashboard.router,
]

#: Seconds between checks for roster changes made by other processes (CLI, another API).
ROSTER_POLL_S = 2.0

DESCRIPTION = """careloop's HTTP API. Authenticate with `Authorization: Bearer <token>`
(tokens from `careloop token create`) or the `careloop_token` cookie set by
`POST /api/v1/session`. Errors are `application/problem+json` (RFC 9457); lists are paged
with `?page=&per_page=`. See docs/api.md for roles, site scoping, consent and audit."""


def create_app(
    settings: Settings,
    *,
    alert_service: AlertService | bool = True,
    directory: Directory | None = None,
) -> FastAPI:
    """Build the app for ``settings``; entering its lifespan opens its clients.

    ``alert_service``: True = run an :class:`~alerts.AlertService` in this process (paging
    from the directory's roster), False = none (alert actions answer 503; lists still read
    the store), or a service not yet entered (tests pass one with a manual clock).
    ``directory``: an open directory to use instead of opening ``settings.api.directory``.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            state = app.state
            if directory is None:
                path = settings.api.directory or default_path(settings.data_dir)
                state.directory = stack.enter_context(Directory(path))
            else:
                state.directory = directory
            state.monitor = await stack.enter_async_context(DeviceMonitor(settings))
            token = settings.influx.token
            state.influx = await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=settings.influx.url,
                    timeout=settings.api.influx_timeout,
                    trust_env=False,  # an HTTP(S)_PROXY must not capture InfluxDB's URL
                    headers={"Authorization": f"Token {token.get_secret_value()}"}
                    if token
                    else None,
                )
            )
            state.alerts = None
            if alert_service is not False:
                service = await stack.enter_async_context(
                    _alert_service(settings, state.directory, alert_service)
                )
                state.alerts = service
            state.alert_store = stack.enter_context(_alert_reader(settings, state.alerts))
            tasks = await stack.enter_async_context(asyncio.TaskGroup())
            if state.alerts is not None:
                poller = tasks.create_task(_roster_poll(app), name="api:roster")
                stack.callback(poller.cancel)
            yield

    app = FastAPI(
        title="careloop",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.alerts = None
    app.state.metrics = ApiMetrics()
    app.middleware("http")(app.state.metrics.middleware)
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


@asynccontextmanager
async def _alert_service(
    settings: Settings, directory: Directory, given: Any
) -> AsyncIterator[AlertService]:
    from alerts.service import AlertService

    has_people = directory.volunteers(limit=1)[1] > 0
    if isinstance(given, AlertService):
        service = given
    else:
        service = AlertService(settings, roster=directory.roster() if has_people else None)
    async with service:
        if has_people and service is given:
            service.set_roster(directory.roster())
        yield service


@contextlib.contextmanager
def _alert_reader(settings: Settings, service: Any) -> Any:
    """A read connection on the alert store (the service's file, or the configured one)."""
    from alerts.store import AlertStore

    path = service.db_path if service is not None else (
        settings.alerts.db or settings.data_dir / "alerts" / "alerts.sqlite3"
    )  # fmt: skip
    store = AlertStore(path)
    try:
        yield store
    finally:
        store.close()


async def _roster_poll(app: FastAPI) -> None:
    """Hand the directory's roster to the alert service whenever the directory changes."""
    directory: Directory = app.state.directory
    seen = directory.version()
    while True:
        await asyncio.sleep(ROSTER_POLL_S)
        try:
            now = directory.version()
            if now != seen:
                seen = now
                service = app.state.alerts
                if directory.volunteers(limit=1)[1] > 0:
                    service.set_roster(directory.roster())
        except Exception as exc:  # keep polling: a failed reload leaves the old roster
            log.warning("roster reload failed", extra={"error": type(exc).__name__})
