"""A worn tag's samples through the edge agent: cut into contract windows, stored in the
durable outbox and published on the ``motion`` topic of a real broker, every sample once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from careloop.wire import MotionMessage, Topic, decode
from edge.adapters import SampleBatch, SensorAdapter
from edge.agent import EdgeAgent
from edge.motion import motion_samples
from tests.edge.conftest import edge_settings
from tests.helpers.feed import T0
from tests.helpers.mqtt import MqttTestClient


class TagAdapter(SensorAdapter):
    """A tag whose reader hands over a backlog of samples at once."""

    def __init__(self, device: str, resident: str, batch: SampleBatch) -> None:
        super().__init__(device, resident)
        self.batch = batch

    async def batches(self, cursor: str | None) -> AsyncIterator[SampleBatch]:
        if cursor is None:
            yield self.batch


def tag_samples(seconds: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    t = T0 + np.cumsum(rng.uniform(0.5, 1.5, int(seconds * rate_hz)) * 1000 / rate_hz)
    acc = np.array([0.1, 0.98, 0.02]) + rng.normal(0, 0.05, (len(t), 3))
    return t.astype(np.int64), acc, np.linalg.norm(acc, axis=1) + 0.1


def test_windows_respect_the_contracts_limits() -> None:
    t, acc, peak = tag_samples(600, 4.0)
    acc[5] = [20.0, 0.0, 0.0]  # a saturated axis is clipped, as the sensor would
    five_min = motion_samples(t, acc, peak_g=peak, window_ms=300_000)
    # 1,024 samples come before 5 minutes at 4 Hz: the sample bound cuts first
    assert [len(s.reading["t_ms"]) for s in five_min][:2] == [1024, 1024]
    assert sum(len(s.reading["t_ms"]) for s in five_min) == len(t)
    assert five_min[0].reading["acc_mg"][5][0] == 16_000
    short = motion_samples(t[::-1], acc[::-1], rate_hz=4.0)  # out of order: sorted first
    assert all(s.reading["t_ms"][-1] < 30_000 for s in short)
    assert [s.reading["start"] for s in short] == sorted(s.reading["start"] for s in short)
    for s in short:
        assert s.reading["ts"] == s.reading["start"] + s.reading["t_ms"][-1]
    with pytest.raises(ValueError):
        motion_samples(t, acc, window_ms=300_001)


def test_a_tag_publishes_its_windows_through_the_outbox(mosquitto, unique_topic_root, tmp_path):
    site = unique_topic_root
    t, acc, peak = tag_samples(300, 2.0)
    samples = motion_samples(t, acc, peak_g=peak, rate_hz=2.0)
    settings = edge_settings(mosquitto, site, tmp_path)
    got: list[MotionMessage] = []
    with MqttTestClient(mosquitto.host, mosquitto.port) as sub:
        sub.subscribe(str(Topic(site, "tag-r1", "motion")))

        async def run() -> EdgeAgent:
            adapter = TagAdapter("tag-r1", "r1", SampleBatch(samples, cursor="all"))
            async with EdgeAgent(settings, adapter) as agent, asyncio.timeout(20):
                await agent.wait_drained()
                return agent

        agent = asyncio.run(run())
        while sum(len(m.readings) for m in got) < len(samples):
            msg = sub.get(10)
            _, decoded = decode(msg.topic, msg.payload)
            assert isinstance(decoded, MotionMessage)
            got.append(decoded)
    assert agent.stats.invalid == 0 and agent.pending == 0
    windows = [w for m in got for w in m.readings]
    sent = np.concatenate([w.start + np.array(w.t_ms) for w in windows])
    assert sent.tolist() == t.tolist()  # every sample once, in order
    assert all(len(m.model_dump_json()) < 64 * 1024 for m in got)
    assert [m.seq for m in got] == sorted(m.seq for m in got)


def test_a_simulated_tag_sends_a_valid_window_every_30_simulated_seconds() -> None:
    import math

    from careloop.wire import data_message
    from edge.adapters import SimulatedAdapter
    from simulators import CareHome

    home = CareHome(2, seed=7, site="demo")
    tag = SimulatedAdapter(home, 1, "tag", speed=math.inf, steps=30)
    assert tag.device == home.profiles[1].devices.tag

    async def collect() -> list[dict]:
        return [s.reading async for b in tag.batches(None) for s in b.samples]

    windows = asyncio.run(collect())
    per = round(30 / home.interval_s)
    assert len(windows) == 30 // per
    for k, w in enumerate(windows):
        assert w["start"] == home.time_ms(k * per)
        assert w["ts"] < home.time_ms((k + 1) * per)
        data_message("motion", device=tag.device, resident=tag.resident, seq=k, ts=w["ts"],
                     readings=[w])  # fmt: skip


def test_a_windows_activity_follows_the_terminals_postures() -> None:
    from simulators.motion import activity_of

    assert activity_of(["sitting", "lying"], fell=True) == "fall"
    assert activity_of(["sitting", None, "lying"], fell=False) == "lie_down"
    assert activity_of(["lying", "lying"], fell=False) == "lying"
    assert activity_of(["walking", "standing", "sitting"], fell=False) == "walking"
    assert activity_of(["sitting", "walking"], fell=False) == "sitting"
    assert activity_of([None], fell=False) == "sitting"
