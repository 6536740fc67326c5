"""Drive a :class:`~simulators.fleet.Fleet` of thousands of devices over a few connections.

For load and soak tests: every device sends one vitals message per tick, at ``rate`` ticks a
second, at QoS 1, spread over ``connections`` MQTT connections (a real fleet would hold one
connection per device; the broker and everything behind it see the same topics and payloads).
It is bounded in time and stops by itself.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from paho.mqtt.client import Client, MQTTMessageInfo
from paho.mqtt.enums import CallbackAPIVersion

from careloop.mqtt import configure_paho
from careloop.settings import Settings
from simulators.fleet import Fleet


@dataclass(frozen=True)
class LoadResult:
    """What a fleet run achieved."""

    devices: int
    ticks: int
    messages: int
    acknowledged: int
    seconds: float
    messages_per_s: float
    late_ticks: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _connect(settings: Settings, client_id: str) -> Client:
    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    configure_paho(client, settings.mqtt)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(settings.mqtt.host, settings.mqtt.port, keepalive=settings.mqtt.keepalive)
    client.loop_start()
    return client


def run_fleet(
    settings: Settings,
    *,
    n_devices: int,
    seed: int,
    rate: float = 1.0,
    duration: float = 60.0,
    connections: int = 4,
    start_ms: int | None = None,
) -> LoadResult:
    """Publish ``n_devices`` devices' vitals at ``rate`` Hz for ``duration`` seconds."""
    if n_devices < 1 or rate <= 0 or duration <= 0 or connections < 1:
        raise ValueError("need n_devices >= 1, rate > 0, duration > 0, connections >= 1")
    fleet = Fleet(
        n_devices,
        seed=seed,
        site=settings.site,
        interval_s=1.0 / rate,
        start_ms=start_ms if start_ms is not None else int(time.time() * 1000),
    )
    run = uuid.uuid4().hex[:6]
    clients = [_connect(settings, f"fleet-{run}-{i}") for i in range(connections)]
    infos: list[MQTTMessageInfo] = []
    late = 0
    started = time.monotonic()
    ticks = max(1, int(duration * rate))
    try:
        for tick in range(ticks):
            due = started + tick / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1.0 / rate:
                late += 1
            for i, (topic, payload) in enumerate(fleet.payloads(tick)):
                infos.append(clients[i % connections].publish(topic, payload, qos=1))
        for info in infos:
            info.wait_for_publish(timeout=30)
    finally:
        for client in clients:
            client.disconnect()
            client.loop_stop()
    seconds = time.monotonic() - started
    acked = sum(info.is_published() for info in infos)
    return LoadResult(
        devices=n_devices,
        ticks=ticks,
        messages=len(infos),
        acknowledged=acked,
        seconds=round(seconds, 3),
        messages_per_s=round(len(infos) / seconds, 1),
        late_ticks=late,
    )
