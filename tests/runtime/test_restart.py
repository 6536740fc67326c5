"""kill -9 of a ``careloop score`` process: the restarted one resumes from its snapshot."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from devservers import Mosquitto
from models.runtime import ScoringEngine
from tests.runtime.conftest import T0, Device, S


def start(broker: Mosquitto, data_dir: Path, site: str, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "app", "score", "--sites", site,
        "--data-dir", str(data_dir), "--mqtt-host", broker.host, "--mqtt-port", str(broker.port),
        "--snapshot-every", "0.2", "--max-delay", "0.02", "--tick-every", "0.5",
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=out)


def wait_for_line(log: Path, pattern: str, timeout: float = 20.0) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(re.finditer(pattern, log.read_text() if log.exists() else ""))
        if found:
            return found[-1]
        time.sleep(0.05)
    raise TimeoutError(f"{pattern!r} not in the log:\n{log.read_text()}")


def snapshot_readings(path: Path) -> int:
    if not path.exists():
        return -1
    engine = ScoringEngine()
    engine.restore(path)
    return engine.readings


def wait_snapshot(path: Path, readings: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while snapshot_readings(path) != readings:
        assert time.monotonic() < deadline, f"snapshot has {snapshot_readings(path)} readings"
        time.sleep(0.05)


def test_kill_9_then_restart_restores_state(
    mosquitto, tmp_path, site, publisher, needs, unique_topic_root
):
    log = tmp_path / "score.log"
    snapshot = tmp_path / "score" / f"{site}.snapshot"
    proc = start(mosquitto, tmp_path, site, log)
    try:
        wait_for_line(log, r"score started .*restored=False")
        wait_for_line(log, r"connected")
        dev = Device(publisher, site, "r1", tmp_path / "people.sqlite3")
        for k in range(30):
            dev.vitals(T0 + k * 10 * S)
        wait_snapshot(snapshot, 30)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    for k in range(30, 40):  # sent while no scorer runs: its persistent session queues them
        dev.vitals(T0 + k * 10 * S)

    proc = start(mosquitto, tmp_path, site, log)
    try:
        started = wait_for_line(log, r"score started .*restored=True .*readings=(\d+)")
        assert int(started.group(1)) == 30  # the learned state came back
        for k in range(40, 50):
            dev.vitals(T0 + k * 10 * S)
        dev.send("event", {"ts": T0 + 501 * S, "type": "sos_button"})
        need = needs.wait(lambda n: n.site == site and n.kind == "sos", timeout=15)
        assert need.resident == "r1"
        # 30 restored + 10 queued while down + 10 after (engine.readings counts vitals)
        wait_snapshot(snapshot, 50)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0, log.read_text()
    assert "score stopped" in log.read_text()
