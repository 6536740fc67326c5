"""What every careloop service's Prometheus metrics share: a registry of its own and a server.

Each service (ingest, score, alerts, the API) subclasses :class:`ServiceMetrics` and declares
its series on ``self.registry`` — its own registry, not the global default, so several
services in one process (tests, the demo) never collide.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import make_wsgi_app

#: What a service's ``/readyz`` checks: name -> answered (e.g. ``{"influxdb:b": False}``).
Readiness = Callable[[], dict[str, bool]]


class ServiceMetrics:
    """A registry, ``serve``/``stop`` of ``/metrics``, and readers for tests and the API."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        #: Set by a service whose dependencies can be checked: ``/readyz`` answers them
        #: (200 when all answered, else 503, JSON ``{"ready", "checks"}``, as the API's).
        self.readiness: Readiness | None = None
        self._server: Any = None

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` (and ``/readyz``) on ``host:port`` in a daemon thread; returns
        the bound port."""
        metrics = make_wsgi_app(self.registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/readyz" and self.readiness is not None:
                checks = self.readiness()
                ready = all(checks.values())
                body = json.dumps({"ready": ready, "checks": checks}).encode()
                status = "200 OK" if ready else "503 Service Unavailable"
                start_response(status, [("Content-Type", "application/json")])
                return [body]
            answer: Iterable[bytes] = metrics(environ, start_response)
            return answer

        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        server_class = type("_Server", (_Server,), {"address_family": family})
        server: WSGIServer = make_server(host, port, app, server_class, handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
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


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    """No access log on stderr (a scraper every few seconds would drown the service's)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass
