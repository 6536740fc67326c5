"""Scorer fixtures: an in-process ScoreService on the real broker, devices as real MQTT
clients publishing wire messages, and a need watcher decoding what the scorer publishes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from careloop.settings import Settings, load_settings
from careloop.wire import Topic, data_message, encode, status_message
from careloop.wire.needs import NeedMessage, decode_need, need_subscription
from devservers import Mosquitto
from models.runtime.config import site_partition
from models.runtime.service import ScoreService
from people import Device as RegisteredDevice
from people import DeviceRegistry
from tests.helpers.mqtt import MqttTestClient
from tests.helpers.service_thread import ServiceThread

#: 2026-01-05 08:00 UTC: daytime, so no night-time rule gets in the way.
T0 = 1_767_600_000_000
S = 1000


def score_settings(
    broker: Mosquitto,
    data_dir: Path,
    *,
    registry: Path | None = None,
    people: dict[str, Any] | None = None,
    database_url: str = "",
    **score: Any,
) -> Settings:
    """A scorer on ``broker``; its people database (devices, care profiles) is ``registry``
    (default in ``data_dir``), or on PostgreSQL at ``database_url``; ``people`` adds people
    settings."""
    return load_settings(
        data_dir=str(data_dir),
        database_url=database_url,
        people={
            "db": str(registry or data_dir / "people.sqlite3"),
            "follow_every": 0.1,
            **(people or {}),
        },
        mqtt={"host": broker.host, "port": broker.port, "backoff_initial": 0.1, "backoff_max": 1},
        score={
            "client_id": f"score-{uuid.uuid4().hex[:8]}",
            "max_delay": 0.02,
            "tick_every": 0.2,
            "stats_interval": 0,
            **score,
        },
    )


class Scorer:
    """A ScoreService running in a thread of its own (its own event loop)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.service = ScoreService(settings)
        self._thread = ServiceThread(self.service, "score-under-test")

    def wait_for(self, pred: Callable[[ScoreService], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred(self.service):
            if time.monotonic() > deadline:
                raise TimeoutError(f"scorer never got there; counts {self.service.counts}")
            time.sleep(0.02)

    @property
    def alive(self) -> bool:
        return self._thread.alive

    def stop(self) -> None:
        self._thread.stop(20)


def register(registry: Path, site: str, resident: str, device: str) -> None:
    """Register ``device`` to ``resident`` at ``site``, as provisioning does."""
    with DeviceRegistry(registry) as reg:
        reg.add([RegisteredDevice(device, site, resident)])


class Device:
    """One resident's terminal: publishes wire messages (QoS 1, PUBACK awaited, in order).

    Registered to its resident in ``registry`` (the scorer checks every message against it);
    ``registry=None`` leaves it unregistered (a device nobody provisioned).
    """

    def __init__(
        self,
        client: MqttTestClient,
        site: str,
        resident: str,
        registry: Path | None,
        *,
        device: str | None = None,
    ) -> None:
        self.client = client
        self.site = site
        self.resident = resident
        self.device = device or f"term-{resident}"
        self.seq = 0
        if registry is not None:
            register(registry, site, resident, self.device)

    def send(self, kind: str, *readings: dict[str, Any], resident: str | None = None) -> None:
        """Publish ``readings``; ``resident`` claims another resident in the payload."""
        self.seq += 1
        msg = data_message(
            kind,
            device=self.device,
            resident=resident or self.resident,
            seq=self.seq,
            ts=max(r["ts"] for r in readings),
            readings=readings,
        )
        self.client.publish(str(Topic(self.site, self.device, kind)), encode(msg))  # type: ignore[arg-type]

    def raw(self, kind: str, payload: bytes) -> None:
        self.client.publish(str(Topic(self.site, self.device, kind)), payload)  # type: ignore[arg-type]

    def status(self, ts: int, state: str, reason: str | None = None) -> None:
        self.seq += 1
        msg = status_message(
            device=self.device, resident=self.resident, seq=self.seq, ts=ts, state=state,
            reason=reason,
        )  # fmt: skip
        self.client.publish(str(Topic(self.site, self.device, "status")), encode(msg))

    def vitals(self, ts: int, *, moving: bool = True, **extra: Any) -> None:
        """One plausible reading; ``moving=False`` is someone lying still out of bed."""
        reading: dict[str, Any] = {
            "ts": ts,
            "heart_rate": 74.0,
            "spo2": 97.0,
            "respiration_rate": 15.0,
            "posture": "walking" if moving else "lying",
            "steps": 6 if moving else 0,
            "activity": 2.5 if moving else 1.0,
            "bed_occupied": False,
            **extra,
        }
        self.send("vitals", reading)


class Needs:
    """Every need published for a site (or all sites), decoded with the contract."""

    def __init__(self, broker: Mosquitto, site: str = "+") -> None:
        self.client = MqttTestClient(broker.host, broker.port).connect()
        self.client.subscribe(need_subscription(site))
        self.seen: list[NeedMessage] = []

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                msg = self.client.get(min(left, 0.1))
            except TimeoutError:
                continue
            self.seen.append(decode_need(msg.topic, msg.payload))

    def wait(self, pred: Callable[[NeedMessage], bool], timeout: float = 10.0) -> NeedMessage:
        deadline = time.monotonic() + timeout
        while True:
            for need in self.seen:
                if pred(need):
                    return need
            left = deadline - time.monotonic()
            if left <= 0:
                got = [(n.resident, n.kind, n.state) for n in self.seen]
                raise TimeoutError(f"no such need; seen {got}")
            self.pump(min(left, 0.2))

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def site(unique_topic_root: str) -> str:
    return unique_topic_root


@pytest.fixture
def publisher(mosquitto: Mosquitto) -> Iterator[MqttTestClient]:
    with MqttTestClient(mosquitto.host, mosquitto.port) as client:
        yield client


@pytest.fixture
def needs(mosquitto: Mosquitto) -> Iterator[Needs]:
    watcher = Needs(mosquitto)
    yield watcher
    watcher.close()


@pytest.fixture
def start_scorer() -> Iterator[Callable[[Settings], Scorer]]:
    """Start in-process scorers; every one still running is stopped at teardown."""
    running: list[Scorer] = []

    def start(settings: Settings) -> Scorer:
        scorer = Scorer(settings)
        running.append(scorer)
        return scorer

    yield start
    for scorer in running:
        scorer.stop()


def site_per_partition(root: str, n: int = 2) -> dict[int, str]:
    """One site name per partition of ``n`` (crc32 decides; try names until all are covered)."""
    sites: dict[int, str] = {}
    for i in range(200):
        sites.setdefault(site_partition(f"{root}-{i}", n), f"{root}-{i}")
        if len(sites) == n:
            return sites
    raise AssertionError("no name for every partition")
