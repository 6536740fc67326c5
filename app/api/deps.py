"""Typed dependencies: routes reach settings and clients only through these.

Everything here was opened in the app's lifespan (``app/api/app.py``) and put on
``app.state``; tests enter the app so the same objects exist there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from alerts import AlertStore
from alerts.actions import AlertActions
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


def get_alert_service(request: Request) -> AlertActions:
    """Alert actions through the shared alert store (no alert service needed in this
    process: alerts/actions.py); 503 where the app was built without them."""
    actions = getattr(request.app.state, "actions", None)
    if actions is None:
        raise HTTPException(503, "alert actions are not available in this process")
    assert isinstance(actions, AlertActions)
    return actions


SettingsDep = Annotated[Settings, Depends(get_settings)]
MonitorDep = Annotated[DeviceMonitor, Depends(get_monitor)]
DirectoryDep = Annotated[Directory, Depends(get_directory)]
InfluxDep = Annotated[AsyncShardedInfluxClient, Depends(get_influx)]
AlertServiceDep = Annotated[AlertActions, Depends(get_alert_service)]


def get_alert_store(request: Request) -> AlertStore:
    """A read connection on the alert store (lists, SLA, needs), opened in the lifespan."""
    store: AlertStore = request.app.state.alert_store
    return store


AlertStoreDep = Annotated[AlertStore, Depends(get_alert_store)]


def follow_people(request: Request) -> None:
    """After a change to the people database through this API, let the in-process alert
    service see it at once (it would within ``people.follow_every`` seconds anyway)."""
    for holder in ("alerts", "actions"):  # the co-hosted service, this process's actions
        follower = getattr(request.app.state, holder, None)
        if follower is not None:
            follower.follow_people(force=True)
