"""Typed dependencies: routes reach settings and clients only through these.

Everything here was opened in the app's lifespan (``careloop/api/app.py``) and put on
``app.state``; tests enter the app so the same objects exist there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import httpx
from fastapi import Depends, HTTPException, Request

from careloop.directory import Directory
from careloop.monitor import DeviceMonitor
from careloop.settings import Settings

if TYPE_CHECKING:
    from alerts.service import AlertService


def get_settings(request: Request) -> Settings:
    """The process's settings (override in tests with ``app.dependency_overrides``)."""
    settings: Settings = request.app.state.settings
    return settings


def get_monitor(request: Request) -> DeviceMonitor:
    """The device monitor opened in the app's lifespan."""
    monitor: DeviceMonitor = request.app.state.monitor
    return monitor


def get_directory(request: Request) -> Directory:
    """The directory (sites, residents, consents, volunteers, tokens, audit)."""
    directory: Directory = request.app.state.directory
    return directory


def get_influx(request: Request) -> httpx.AsyncClient:
    """An httpx client whose base URL is InfluxDB's (``/query`` and ``/ping`` only)."""
    client: httpx.AsyncClient = request.app.state.influx
    return client


def get_alert_service(request: Request) -> AlertService:
    """The in-process alert service, or 503 where this process runs none."""
    service = getattr(request.app.state, "alerts", None)
    if service is None:
        raise HTTPException(503, "no alert service in this process")
    return service


SettingsDep = Annotated[Settings, Depends(get_settings)]
MonitorDep = Annotated[DeviceMonitor, Depends(get_monitor)]
DirectoryDep = Annotated[Directory, Depends(get_directory)]
InfluxDep = Annotated[httpx.AsyncClient, Depends(get_influx)]
#: Typed as Any for FastAPI: the service class is imported lazily (the API runs without it).
AlertServiceDep = Annotated[Any, Depends(get_alert_service)]


def get_alert_store(request: Request) -> Any:
    """A read connection on the alert store (lists, SLA, needs), opened in the lifespan."""
    return request.app.state.alert_store


#: An ``alerts.store.AlertStore`` (typed Any: the alerts package is imported lazily).
AlertStoreDep = Annotated[Any, Depends(get_alert_store)]


def sync_roster(request: Request) -> None:
    """Give the in-process alert service the directory's roster after a change to it.

    Skipped while the directory has no volunteers, so a deployment still paging from a
    roster file (``careloop alerts --roster``) keeps it until people are added here.
    """
    service = getattr(request.app.state, "alerts", None)
    directory: Directory | None = getattr(request.app.state, "directory", None)
    if service is None or directory is None:
        return
    if directory.volunteers(limit=1)[1] == 0:
        return
    service.set_roster(directory.roster())
