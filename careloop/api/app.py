"""The FastAPI app: clients opened in ``lifespan``, routes per resource in ``routes/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from careloop import __version__
from careloop.api.routes import alerts, status
from careloop.monitor import DeviceMonitor
from careloop.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the app for ``settings``; entering its lifespan connects to the broker."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with DeviceMonitor(settings) as monitor:
            app.state.monitor = monitor
            yield

    app = FastAPI(title="careloop", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.alerts = None  # an AlertService, where this process runs one
    app.include_router(status.router)
    app.include_router(alerts.router)
    return app
