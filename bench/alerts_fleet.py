"""The alert benchmark's load: every resident's vitals once a second, as raw QoS 0 publishes
of prebuilt payloads (not an edge agent each), so the broker carries the whole fleet's
traffic while the alert services work.

``batch`` readings per message is how edge agents send (docs/edge.md: a device's readings
of one kind leave together, up to ``max_batch``): with ``batch=10`` each device publishes
every 10 s a message holding its last 10 one-second readings, so 100,000 residents are
100,000 readings but 10,000 messages a second.
"""

from __future__ import annotations

import threading
import time

from paho.mqtt.client import Client

from careloop.wire import Topic

SITE = "bench"

_READING = '{{"ts":{ts},"heart_rate":{hr}}}'
_MESSAGE = '{{"v":1,"device":"d{i:05d}","resident":"r{i:05d}","seq":{seq},"ts":{ts},' \
    '"readings":[{readings}]}}'  # fmt: skip


def _payload(i: int, seq: int, ts: int, batch: int) -> str:
    readings = ",".join(
        _READING.format(ts=ts - 1000 * (batch - 1 - k), hr=60 + (i + k) % 40) for k in range(batch)
    )
    return _MESSAGE.format(i=i, seq=seq, ts=ts, readings=readings)


def reading(client: Client, i: int, seq: int = 0) -> int:
    """Publish resident ``i``'s triggering reading; returns its time (epoch ms)."""
    ts = int(time.time() * 1000)
    client.publish(str(Topic(SITE, f"d{i:05d}", "vitals")), _payload(i, seq, ts, 1), qos=0)
    return ts


def fleet(
    client: Client, residents: int, stop: threading.Event, sent: list[int], batch: int = 1
) -> None:
    """Every resident once a second, spread over the second in 100 slices; with ``batch``
    > 1 each device sends every ``batch`` seconds, the devices spread over that period.
    ``sent[0]`` counts readings (only this thread writes it)."""
    topics = [str(Topic(SITE, f"d{i:05d}", "vitals")) for i in range(residents)]
    slices = 100 * batch  # slices of the batch period, each 10 ms
    per = max(1, residents // slices)
    seq = 0
    start = time.monotonic()
    tick = 0
    while not stop.is_set():
        seq += 1
        for s in range(slices):
            if stop.is_set():
                return
            lo = min(s * per, residents)
            hi = residents if s == slices - 1 else min((s + 1) * per, residents)
            ts = int(time.time() * 1000)
            for i in range(lo, hi):
                client.publish(topics[i], _payload(i, seq, ts, batch), qos=0)
            sent[0] += (hi - lo) * batch
            tick += 1
            delay = start + tick / 100 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
