"""Liveness, readiness and the API's Prometheus metrics (public: no personal data here)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict

from alerts import StoreError
from app.api.auth import ScraperDep
from app.api.deps import AlertStoreDep, DirectoryDep, InfluxDep, MonitorDep
from people import PeopleError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})
    status: str


class Readiness(BaseModel):
    """Each dependency: true when it answered. With several InfluxDB shards, each has a
    check of its own, ``influxdb:<shard>`` (``influxdb`` is all of them). ``database`` is the
    relational state (the people database and the alert store, SQLite files or PostgreSQL);
    ``sqlite``, kept for existing probes, is the people database alone."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ready": True,
                    "checks": {"broker": True, "influxdb": True, "sqlite": True, "database": True},
                }
            ]
        }
    )
    ready: bool
    checks: dict[str, bool]


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up (says nothing about its dependencies; see /readyz)."""
    return Health(status="ok")


@router.get("/readyz", responses={503: {"model": Readiness, "description": "not ready"}})
async def readyz(
    request: Request,
    response: Response,
    monitor: MonitorDep,
    influx: InfluxDep,
    directory: DirectoryDep,
    alert_store: AlertStoreDep,
) -> Readiness:
    """Ready when the broker is connected, every InfluxDB shard answers ``/ping`` and the
    database answers; a shard that does not is named (``influxdb:<shard>``, and the metric
    ``careloop_api_influx_shard_up``), and each part has ``careloop_api_part_up{part}``."""
    checks = {"broker": monitor.connected, "influxdb": False, "sqlite": False}
    shards = await influx.ping_each()
    checks["influxdb"] = all(error is None for error in shards.values())
    gauge = request.app.state.metrics.influx_shard_up
    for name, error in shards.items():
        gauge.labels(name).set(error is None)
        if len(shards) > 1:
            checks[f"influxdb:{name}"] = error is None
    try:
        directory.ping()
        checks["sqlite"] = True
        alert_store.ping()
        checks["database"] = True
    except (PeopleError, StoreError):
        checks["database"] = False
    parts = request.app.state.metrics.part_up
    for part in ("broker", "influxdb", "database"):
        parts.labels(part).set(checks[part])
    body = Readiness(ready=all(checks.values()), checks=checks)
    if not body.ready:
        response.status_code = 503
    return body


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request, _: ScraperDep) -> Response:
    """Prometheus text format: requests and latency by route template, audited reads.

    The scrape token (``api.metrics_token``, checked without the people database, so an
    outage of that database can be watched) or an admin token."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
