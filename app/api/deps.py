"""Typed dependencies: routes reach settings and clients only through these.

Everything here was opened in the app's lifespan (``app/api/app.py``) and put on
``app.state``; tests enter the app so the same objects exist there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from alerts import AlertService, AlertStore
from app.api.monitor import DeviceMonitor
from careloop.settings import Settings
from careloop.shards import AsyncShardedInfluxClient
from people import Directory


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


def get_influx(request: Request) -> AsyncShardedInfluxClient:
    """The InfluxDB client over every shard (``/query`` and ``/ping`` only: the API never
    writes); a query names the sites it is about so it goes to their shards."""
    client: AsyncShardedInfluxClient = request.app.state.influx
    return client


def get_alert_service(request: Request) -> AlertService:
    """The in-process alert service, or 503 where this process runs none."""
    service = getattr(request.app.state, "alerts", None)
    if service is None:
        raise HTTPException(503, "no alert service in this process")
    assert isinstance(service, AlertService)
    return service


SettingsDep = Annotated[Settings, Depends(get_settings)]
MonitorDep = Annotated[DeviceMonitor, Depends(get_monitor)]
DirectoryDep = Annotated[Directory, Depends(get_directory)]
InfluxDep = Annotated[AsyncShardedInfluxClient, Depends(get_influx)]
AlertServiceDep = Annotated[AlertService, Depends(get_alert_service)]


def get_alert_store(request: Request) -> AlertStore:
    """A read connection on the alert store (lists, SLA, needs), opened in the lifespan."""
    store: AlertStore = request.app.state.alert_store
    return store


AlertStoreDep = Annotated[AlertStore, Depends(get_alert_store)]


def follow_people(request: Request) -> None:
    """After a change to the people database through this API, let the in-process alert
    service see it at once (it would within ``people.follow_every`` seconds anyway)."""
    service = getattr(request.app.state, "alerts", None)
    if service is not None:
        service.follow_people(force=True)
