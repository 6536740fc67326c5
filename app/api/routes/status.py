"""A live status page of the simulated (or real) care home: devices and their readings.

It shows device and resident ids, so it is for admins and coordinators (token or session
cookie); a coordinator sees it only for a site in their scope.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from app.api.auth import StaffDep, check_site
from app.api.deps import MonitorDep

router = APIRouter(tags=["status"], include_in_schema=False)

_SHOWN = (
    "vitals.heart_rate",
    "vitals.spo2",
    "vitals.respiration_rate",
    "vitals.temperature",
    "vitals.posture",
    "vitals.activity",
)


@router.get("/status")
async def status_json(monitor: MonitorDep, principal: StaffDep) -> dict[str, Any]:
    """Devices seen on the broker, online or not, with their latest readings."""
    check_site(principal, monitor.settings.site)
    return monitor.snapshot()


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    """The dashboard is the front door: the board (which sends strangers to the login)."""
    return RedirectResponse("/board", status_code=307)


@router.get("/devices", response_class=HTMLResponse)
async def status_page(monitor: MonitorDep, principal: StaffDep) -> str:
    """A plain page that refreshes itself: one row per device."""
    check_site(principal, monitor.settings.site)
    snap = monitor.snapshot()
    rows = []
    for d in snap["devices"]:
        cells = "".join(f"<td>{html.escape(str(d['latest'].get(k, '')))}</td>" for k in _SHOWN)
        rows.append(
            f"<tr class='{html.escape(d['state'])}'><td>{html.escape(d['device'])}</td>"
            f"<td>{html.escape(d['resident'])}</td><td>{html.escape(d['state'])}</td>"
            f"<td>{d['readings']}</td>{cells}</tr>"
        )
    head = "".join(f"<th>{k.split('.', 1)[1]}</th>" for k in _SHOWN)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="2"><title>careloop · {html.escape(snap["site"])}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}}
tr.offline td{{color:#b00}}td:first-child,th:first-child{{text-align:left}}</style></head>
<body><h1>careloop · {html.escape(snap["site"])}</h1>
<p>{snap["devices_online"]} of {snap["devices_total"]} devices online ·
{snap["residents"]} residents · {snap["readings"]} readings seen ·
broker {"connected" if snap["broker_connected"] else "DISCONNECTED"}</p>
<table><tr><th>device</th><th>resident</th><th>state</th><th>readings</th>{head}</tr>
{"".join(rows)}</table><p><a href="/status">JSON</a></p></body></html>"""
