"""The benchmark's own InfluxDB client: write prebuilt bodies, and count what a database holds.

Every phase is verified by the same two numbers, ``count(heart_rate)`` and ``sum(steps)``
over ``vitals`` (see :mod:`bench.workload`): one keep-alive ``httpx.Client`` per user, so the
polling that decides when a phase is complete costs InfluxDB a query, not a TCP handshake.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self

import httpx

from careloop.servers import ServerError


class InfluxBench:
    """``/write`` and ``/query`` for one database over one keep-alive connection."""

    def __init__(self, url: str, database: str, *, timeout: float = 60.0) -> None:
        self.url = url
        self.database = database
        # trust_env=False: a proxy in the environment must not capture loopback traffic.
        self._http = httpx.Client(base_url=url, timeout=timeout, trust_env=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def query(self, q: str) -> dict:
        """InfluxQL through ``POST /query``; statement errors raise ServerError."""
        response = self._http.post("/query", data={"q": q, "db": self.database})
        body: dict = response.json()
        errors = [body["error"]] if "error" in body else []
        errors += [r["error"] for r in body.get("results", []) if "error" in r]
        if errors or response.status_code >= 400:
            raise ServerError(f"influxd query {q!r} failed: {errors or response.status_code}")
        return body

    def create(self) -> None:
        """``CREATE DATABASE`` (this client's database)."""
        self.query(f'CREATE DATABASE "{self.database}"')

    def write(self, body: bytes) -> None:
        """One ``/write`` of line protocol (ms precision); anything but 204 raises."""
        response = self._http.post(
            "/write", params={"db": self.database, "precision": "ms"}, content=body
        )
        if response.status_code != 204:
            raise ServerError(f"influxd /write: HTTP {response.status_code}: {response.text}")

    def count(self) -> tuple[int, int]:
        """``(count(heart_rate), sum(steps))`` over ``vitals``: distinct points and checksum."""
        body = self.query('SELECT count("heart_rate"), sum("steps") FROM "vitals"')
        series = body["results"][0].get("series")
        if not series:
            return 0, 0
        _time, count, total = series[0]["values"][0]
        return int(count), int(total or 0)


def write_all(url: str, database: str, bodies: list[bytes], connections: int = 1) -> float:
    """POST ``bodies`` in order over ``connections`` keep-alive connections; seconds taken.

    With more than one connection, body ``i`` goes to connection ``i % connections`` and the
    connections write concurrently, each sequentially.
    """
    clients = [InfluxBench(url, database) for _ in range(connections)]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for body in bodies[n::connections]:
                clients[n].write(body)
        except BaseException as exc:  # reported by the caller's thread
            errors.append(exc)

    try:
        started = time.perf_counter()
        if connections == 1:
            worker(0)
        else:
            threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
    if errors:
        raise errors[0]
    return elapsed
