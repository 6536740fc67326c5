"""The load fleet against a real broker: every message acknowledged, decodable, delivered."""

from __future__ import annotations

import time

from careloop.settings import load_settings
from careloop.wire import subscription
from simulators.load import run_fleet
from tests.helpers.readings import ReadingCollector


def test_fleet_publishes_every_device_every_tick(mosquitto, unique_topic_root):
    site = unique_topic_root
    settings = load_settings(site=site, mqtt={"host": mosquitto.host, "port": mosquitto.port})
    expected = 300 * 5  # devices x ticks (rate 10 Hz for 0.5 s)
    with ReadingCollector(
        mosquitto.host, mosquitto.port, subscription(site=site), client_id=f"sub-{site}"
    ) as sub:
        result = run_fleet(
            settings,
            n_devices=300,
            seed=3,
            rate=10,
            duration=0.5,
            connections=3,
            start_ms=1_764_000_000_000,
        )
        deadline = time.monotonic() + 10
        while sub.data.messages < expected and time.monotonic() < deadline:
            time.sleep(0.05)
    assert result.messages == result.acknowledged == expected
    assert sub.data.messages == expected
    assert len(sub.data.devices) == 300
    assert not sub.data.rejected
