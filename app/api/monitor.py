"""A live view of the devices on the broker: who is online, what they last sent.

An MQTT client module (it knows nothing of FastAPI): the status page and the demo read its
:class:`DeviceView` snapshots. It subscribes to every uplink of one site (QoS 0: a view,
not a record; ingest is what stores readings at least once), and to the site's erase
commands.

What it keeps is what staff may see: only devices the registry knows, under the resident
the registry names (never the one a payload claims); no utterance text, ever (the page is
not where a resident's words go); and nothing of a resident once an erase command for
them arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from careloop.logs import fields
from careloop.mqtt import Backoff, make_client, payload_bytes, run_forever
from careloop.settings import Settings
from careloop.wire import StatusMessage, WireError, decode, subscription
from careloop.wire.control import CONTROL_PREFIX, decode_erase, erase_subscription
from people import DeviceRegistry

#: Reading fields never kept: a resident's words, and a motion window's raw samples (the
#: monitor shows the window's time and ``start``, not up to 1,024 samples).
_WORDS = frozenset({"text", "t_ms", "acc_mg", "peak_mg"})

log = logging.getLogger(__name__)


@dataclass
class DeviceView:
    """What the monitor knows about one device."""

    device: str
    resident: str
    state: str = "unknown"
    messages: int = 0
    readings: int = 0
    last_seen_ms: int = 0
    latest: dict[str, Any] = field(default_factory=dict)


class DeviceMonitor:
    """``async with DeviceMonitor(settings) as monitor: monitor.snapshot()``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.devices: dict[str, DeviceView] = {}
        self._registry: DeviceRegistry | None = None
        self.rejected = 0
        self.connected = False
        self.started = time.time()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DeviceMonitor:
        if self._task is not None:
            raise RuntimeError("DeviceMonitor is not reentrant")
        mqtt = self.settings.mqtt
        ident = f"monitor-{uuid.uuid4().hex[:8]}"
        self._registry = DeviceRegistry(self.settings.paths.people, url=self.settings.store_url)

        def on_state(up: bool) -> None:
            self.connected = up

        self._task = asyncio.create_task(
            run_forever(
                lambda: make_client(mqtt, ident, persistent=False),
                self._session,
                name=ident,
                backoff=Backoff(mqtt.backoff_initial, mqtt.backoff_max),
                on_state=on_state,
            ),
            name="monitor",
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._registry is not None:
            self._registry.close()

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.subscribe(subscription(site=self.settings.site), qos=0)
        await client.subscribe(erase_subscription(self.settings.site), qos=1)
        registry = self._registry
        assert registry is not None
        async for message in client.messages:
            if message.topic.value.startswith(CONTROL_PREFIX):
                self._erase(message.topic.value, payload_bytes(message))
                continue
            try:
                topic, msg = decode(message.topic.value, payload_bytes(message))
            except WireError as exc:
                self.rejected += 1
                log.debug("monitor saw a bad message", extra=fields(reason=exc.reason))
                continue
            if topic.kind == "cmd":
                continue
            claimed = msg.resident  # type: ignore[union-attr]  # uplinks carry a resident
            if registry.check(topic.device, topic.site, claimed) != "ok":
                self.rejected += 1  # unknown or spoofed: not shown, and not as anyone
                continue
            view = self.devices.get(topic.device)
            if view is None or view.resident != claimed:
                view = self.devices[topic.device] = DeviceView(topic.device, claimed)
            view.messages += 1
            view.last_seen_ms = int(time.time() * 1000)
            if isinstance(msg, StatusMessage):
                view.state = msg.state
                continue
            readings = msg.readings  # type: ignore[union-attr]  # data kinds carry readings
            view.readings += len(readings)
            last = readings[-1].model_dump(exclude_none=True, exclude=set(_WORDS))
            view.latest.update({f"{topic.kind}.{k}": v for k, v in last.items()})

    def _erase(self, topic: str, payload: bytes) -> None:
        """An erase command: forget the resident's devices and everything seen from them."""
        try:
            cmd = decode_erase(topic, payload)
        except WireError:
            return
        for device in [d for d, v in self.devices.items() if v.resident == cmd.resident]:
            del self.devices[device]

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready summary: counts, and every device's state and latest values."""
        devices = sorted(self.devices.values(), key=lambda d: d.device)
        return {
            "site": self.settings.site,
            "broker_connected": self.connected,
            "uptime_s": round(time.time() - self.started, 1),
            "devices_total": len(devices),
            "devices_online": sum(d.state == "online" for d in devices),
            "residents": len({d.resident for d in devices}),
            "readings": sum(d.readings for d in devices),
            "rejected": self.rejected,
            "devices": [vars(d) for d in devices],
        }
