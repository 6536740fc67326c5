"""Typed dependencies: routes reach settings and clients only through these."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from careloop.monitor import DeviceMonitor
from careloop.settings import Settings


def get_settings(request: Request) -> Settings:
    """The process's settings (override in tests with ``app.dependency_overrides``)."""
    settings: Settings = request.app.state.settings
    return settings


def get_monitor(request: Request) -> DeviceMonitor:
    """The device monitor opened in the app's lifespan."""
    monitor: DeviceMonitor = request.app.state.monitor
    return monitor


SettingsDep = Annotated[Settings, Depends(get_settings)]
MonitorDep = Annotated[DeviceMonitor, Depends(get_monitor)]
