"""Fault injection with real processes: a 30 s broker outage and kill -9 of the agent.

Each test checks with a real subscriber that every reading the sensor wrote arrived, that
the first copy of each arrived in order, and reports duplicates (allowed: at least once).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from careloop.wire import Topic, subscription
from tests.helpers.feed import Feed, vitals_line
from tests.helpers.mqtt import MqttTestClient
from tests.helpers.readings import ReadingCollector, assert_complete_and_ordered

pytestmark = pytest.mark.slow


def start_agent(broker, site: str, data_dir: Path, src: Path, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "app",
        "edge",
        "--adapter",
        "replay",
        "--replay",
        str(src),
        "--follow",
        "--device",
        "term-x1",
        "--resident",
        "rx1",
        "--site",
        site,
        "--data-dir",
        str(data_dir),
        "--mqtt-host",
        broker.host,
        "--mqtt-port",
        str(broker.port),
        "--log-format",
        "json",
        *extra,
    ]
    env = {
        **os.environ,
        "CARELOOP_MQTT__BACKOFF_INITIAL": "0.2",
        "CARELOOP_MQTT__BACKOFF_MAX": "2",
        "CARELOOP_EDGE__SYNCHRONOUS": "normal",
    }
    log = (data_dir / "agent.log").open("ab")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=log)


def wait_connected(data_dir: Path, times: int, timeout: float = 20) -> None:
    """Wait until the agents' logs show ``times`` connections in total."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = (data_dir / "agent.log").read_text()
        if text.count('"msg": "connected"') >= times:
            return
        time.sleep(0.05)
    raise TimeoutError(f"agent did not connect {times} times")


def stop_agent(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0


def test_outbox_carries_readings_through_a_30s_broker_outage(
    private_mosquitto, tmp_path, unique_topic_root
):
    broker, site = private_mosquitto, unique_topic_root
    with ReadingCollector(
        broker.host, broker.port, subscription(site=site), client_id=f"sub-{site}"
    ) as sub:
        feed = Feed(tmp_path / "sensor.jsonl", rate_hz=50).start()
        agent = start_agent(broker, site, tmp_path, feed.path)
        wait_connected(tmp_path, 1)
        time.sleep(3)
        before = len(sub.data.unique())
        broker.stop()
        time.sleep(30)
        during = feed.written
        broker.start()
        time.sleep(3)
        feed.stop()
        expected = feed.timestamps()
        sub.wait_for(set(expected), 60)
        stop_agent(agent)
    data = sub.data
    print(
        f"\noutage: {len(expected)} written, {before} before the outage, "
        f"~{during - before} buffered during 30 s, {len(data.unique())} received, "
        f"{data.duplicates()} duplicates"
    )
    assert before > 50
    assert during - before > 1000  # ~50 Hz for 30 s went into the outbox
    assert_complete_and_ordered(data, expected)


def test_kill_9_of_the_agent_loses_nothing(mosquitto, tmp_path, unique_topic_root):
    site = unique_topic_root
    src = tmp_path / "sensor.jsonl"
    backlog = 20_000
    src.write_text("".join(vitals_line(i) for i in range(backlog)))
    status_topic = str(Topic(site, "term-x1", "status"))
    with ReadingCollector(
        mosquitto.host, mosquitto.port, subscription(site=site), client_id=f"sub-{site}"
    ) as sub:
        progress = []
        for kills in range(1, 4):
            agent = start_agent(mosquitto, site, tmp_path, src, "--max-batch", "5")
            wait_connected(tmp_path, kills)
            time.sleep(0.3)
            agent.kill()  # SIGKILL: no clean shutdown, no offline status of its own
            agent.wait()
            progress.append(len(sub.data.unique()))
        with MqttTestClient(mosquitto.host, mosquitto.port) as ctl:
            ctl.subscribe(status_topic)
            will = json.loads(ctl.get().payload)
        agent = start_agent(mosquitto, site, tmp_path, src)
        wait_connected(tmp_path, 4)
        expected = [1_764_000_000_000 + i * 1000 for i in range(backlog)]
        sub.wait_for(set(expected), 60)
        stop_agent(agent)
    data = sub.data
    print(
        f"\nkill -9 x3: {backlog} readings, received after each kill {progress}, "
        f"{len(data.unique())} in the end, {data.duplicates()} duplicates"
    )
    assert 0 < progress[0] < progress[1] < progress[2] < backlog  # kills hit mid-stream
    assert (will["state"], will["reason"]) == ("offline", "lost")  # the last will fired
    assert_complete_and_ordered(data, expected)


def test_kill_9_of_a_simulated_device_resumes_where_it_stopped(
    mosquitto, tmp_path, unique_topic_root
):
    """The simulator's cursor is stored with its readings: after kill -9 the agent resumes at
    the next step, so the subscriber sees exactly the readings the simulation defines."""
    from simulators import CareHome

    site, start_ms, steps = unique_topic_root, 1_764_000_000_000, 4000
    home = CareHome(3, seed=11, site=site, start_ms=start_ms)
    expected = [
        e.reading["ts"]
        for step in range(steps)
        for e in home.resident_emissions(1, step)
        if e.kind == "vitals"
    ]
    cmd = [
        sys.executable,
        "-m",
        "app",
        "edge",
        "--adapter",
        "simulated",
        "--speed",
        "0",
        "--steps",
        str(steps),
        "--sim-residents",
        "3",
        "--sim-index",
        "1",
        "--seed",
        "11",
        "--start-ms",
        str(start_ms),
        "--max-batch",
        "5",
        "--site",
        site,
        "--data-dir",
        str(tmp_path),
        "--mqtt-host",
        mosquitto.host,
        "--mqtt-port",
        str(mosquitto.port),
        "--log-format",
        "json",
    ]
    env = {**os.environ, "CARELOOP_EDGE__SYNCHRONOUS": "normal"}

    def start() -> subprocess.Popen:
        log = (tmp_path / "agent.log").open("ab")
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=log)

    with ReadingCollector(
        mosquitto.host,
        mosquitto.port,
        subscription(site=site),
        client_id=f"sub-{site}",
        kinds=("vitals",),  # subscribe to every kind (else the device keeps it), count vitals
    ) as sub:
        for kills in range(1, 3):
            agent = start()
            wait_connected(tmp_path, kills)
            time.sleep(0.3)
            agent.kill()
            agent.wait()
        at_kill = len(sub.data.unique())
        agent = start()
        sub.wait_for(set(expected), 60)
        stop_agent(agent)
    print(
        f"\nsimulated kill -9 x2: {len(expected)} vitals readings, {at_kill} before the last "
        f"restart, {len(sub.data.unique())} in the end, {sub.data.duplicates()} duplicates"
    )
    assert 0 < at_kill < len(expected)
    assert_complete_and_ordered(sub.data, expected)
