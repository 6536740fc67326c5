"""Reading back what the services did: metrics, InfluxDB points, dead letters, publishing.

Everything is read the way the code exposes it: Prometheus text from ``/metrics`` (or the
in-process registry, same format), InfluxQL ``count(*)`` per series, the dead-letter store's
own reader. Waiting is by progress, never by a fixed sleep: :func:`settle` polls until the
target is reached and gives up only after nothing has moved for a while, so a slow, loaded
machine is waited for and a stuck service still ends the test.
"""

from __future__ import annotations

import os
import re
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families

from bench.rawmqtt import RawClient
from devservers import InfluxDB, Mosquitto
from ingest import DeadLetterStore
from tests.fuzz.corpus import Letter, Series, letter
from tests.fuzz.payloads import Payload

T = TypeVar("T")
#: Every point InfluxDB 1.x can hold (nanoseconds), so no default time range applies.
ALL_TIME = "time >= -9000000000000000000 AND time <= 9000000000000000000"


class Samples(dict[tuple[str, tuple[tuple[str, str], ...]], float]):
    """Prometheus samples by name and labels."""

    @classmethod
    def parse(cls, text: str) -> Samples:
        out = cls()
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    def value(self, name: str, **labels: str) -> float:
        return self.get((name, tuple(sorted(labels.items()))), 0.0)

    def by(self, name: str, label: str) -> Counter[str]:
        """One labelled series as counts per value of ``label`` (zeros left out)."""
        out: Counter[str] = Counter()
        for (sample, labels), v in self.items():
            if sample == name and v:
                out[dict(labels)[label]] += int(v)
        return out


#: No proxy from the environment for a loopback scrape. Plain urllib: an httpx call builds an
#: SSL context each time, which, polled four times a second, took the GIL from the scorer.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def scrape(port: int) -> Samples:
    """``GET /metrics`` of a service; raises if it does not answer."""
    with _LOCAL.open(f"http://127.0.0.1:{port}/metrics", timeout=10.0) as response:
        return Samples.parse(response.read().decode())


def settle(read: Callable[[], T], done: Callable[[T], bool], *, quiet_s: float = 60.0) -> T:
    """Poll ``read()`` until ``done``; return the last value, early only if nothing changed
    for ``quiet_s`` seconds (the caller's assertions then say what is missing)."""
    last = read()
    moved = time.monotonic()
    while not done(last):
        time.sleep(0.25)
        now = read()
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved > quiet_s:
            break
    return last


def publish(
    broker: Mosquitto,
    payloads: Sequence[Payload],
    client_id: str,
    *,
    chunk: int = 0,
    caught_up: Callable[[int], object] | None = None,
) -> int:
    """Publish at QoS 1 over one connection; how many the broker acknowledged.

    With ``chunk``, publish that many at a time and call ``caught_up(n)`` before each next
    chunk with how many were published up to the chunk before the last one: the caller waits
    there, so a subscriber is never more than two chunks behind.
    """
    size = chunk or len(payloads)
    acked = 0
    with RawClient(broker.host, broker.port, client_id, version=5, timeout=60.0) as client:
        for start in range(0, len(payloads), size):
            if caught_up is not None and start >= 2 * size:
                caught_up(start - size)
            part = payloads[start : start + size]
            acked += client.publish_all(((p.topic.encode(), p.body) for p in part), chunk=200)
    return acked


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (``/proc/PID/stat``): a figure of
    the work done that a loaded, shared machine does not inflate the way it does wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def connections(log: Path) -> Counter[str]:
    """How many times each client connected, from the broker's log."""
    return Counter(re.findall(r"New client connected from \S+ as (\S+) ", log.read_text()))


def stored_points(influx: InfluxDB, db: str) -> dict[Series, Counter[str]]:
    """Points per series and field, as :attr:`Expected.points` counts them."""
    out: dict[Series, Counter[str]] = {}
    for measurement in ("vitals", "event", "utterance"):
        q = f'SELECT count(*) FROM "{measurement}" WHERE {ALL_TIME} GROUP BY *'
        for s in influx.query(q, db)["results"][0].get("series", []):
            tags = s["tags"]
            key = (
                measurement,
                tags["site"],
                tags["resident"],
                tags["device"],
                tags.get("type", ""),
            )
            row = dict(zip(s["columns"], s["values"][0], strict=True))
            out[key] = Counter(
                {c.removeprefix("count_"): int(v) for c, v in row.items() if c != "time" and v}
            )
    return out


def dead_letters(path: Path, limit: int) -> tuple[Counter[Letter], list[str]]:
    """Every dead letter by identity, and the ones kept without a reason or detail."""
    with DeadLetterStore(path) as store:
        kept = store.latest(limit=limit + 1)
    letters = Counter(letter(d.topic, d.reason, d.payload, d.size) for d in kept)
    blank = [d.topic for d in kept if not d.reason.strip() or not d.detail.strip()]
    return letters, blank
