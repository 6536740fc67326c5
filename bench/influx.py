"""The benchmark's InfluxDB side: write prebuilt bodies, and count what a database holds.

Every phase is verified by the same two numbers, ``count(heart_rate)`` and ``sum(steps)``
over ``vitals`` (see :mod:`bench.workload`), read through careloop's one InfluxDB client
(:mod:`careloop.influx`, one keep-alive connection per user, so the polling that decides
when a phase is complete costs InfluxDB a query, not a TCP handshake).
"""

from __future__ import annotations

import threading
import time

from careloop.influx import InfluxClient, first_series


class InfluxBench(InfluxClient):
    """careloop's InfluxDB client, plus the benchmark's one check: what a database holds."""

    def __init__(self, url: str, database: str, *, timeout: float = 60.0) -> None:
        super().__init__(url, database, timeout=timeout)

    def create(self) -> None:
        """``CREATE DATABASE`` (this client's database)."""
        self.create_database()

    def count(self) -> tuple[int, int]:
        """``(count(heart_rate), sum(steps))`` over ``vitals``: distinct points and checksum."""
        series = first_series(self.query('SELECT count("heart_rate"), sum("steps") FROM "vitals"'))
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
