"""What every careloop service's Prometheus metrics share: a registry of its own and a server.

Each service (ingest, score, alerts, the API) subclasses :class:`ServiceMetrics` and declares
its series on ``self.registry`` — its own registry, not the global default, so several
services in one process (tests, the demo) never collide.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import start_http_server


class ServiceMetrics:
    """A registry, ``serve``/``stop`` of ``/metrics``, and readers for tests and the API."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._server: Any = None

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``host:port`` in a daemon thread; returns the bound port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return int(server.server_port)

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def text(self) -> str:
        """The exposition text (what ``/metrics`` answers)."""
        return generate_latest(self.registry).decode()

    def value(self, name: str, **labels: str) -> float:
        """One sample's value by its full name (e.g. ``..._total``), 0 when absent."""
        found = self.registry.get_sample_value(name, labels or None)
        return 0.0 if found is None else float(found)
