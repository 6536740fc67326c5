"""The API's own Prometheus metrics: requests by route template, method and status.

Labels use the route *template* (``/api/v1/residents/{site}/{resident}``), never the
concrete path, so no id reaches a label and cardinality stays bounded.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.requests import Request
from starlette.responses import Response


class ApiMetrics:
    """Counters on a registry of their own (so several apps can live in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "careloop_api_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "careloop_api_request_seconds",
            "Time to answer (for streams: to the first byte)",
            ["method", "route"],
            registry=self.registry,
        )
        self.sse_clients = Gauge(
            "careloop_api_sse_clients", "Open alert event streams", registry=self.registry
        )
        self.audit_reads = Counter(
            "careloop_api_audited_reads_total",
            "Reads of personal data (each also an audit row)",
            ["action"],
            registry=self.registry,
        )
        self.influx_shard_up = Gauge(
            "careloop_api_influx_shard_up",
            "1 if the InfluxDB shard answered /ping at the last /readyz, else 0",
            ["shard"],
            registry=self.registry,
        )
        self.part_up = Gauge(
            "careloop_api_part_up",
            "1 if the part (broker, influxdb, database) answered at the last /readyz, else 0",
            ["part"],
            registry=self.registry,
        )

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = _template(request)
            self.requests.labels(request.method, route, str(status)).inc()
            self.latency.labels(request.method, route).observe(time.perf_counter() - start)


def _template(request: Request) -> str:
    """The matched route's template (the router records it in the shared scope)."""
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")
