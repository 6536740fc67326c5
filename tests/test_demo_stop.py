"""Ctrl-C stops the demo promptly even after a long, loaded run.

The simulated home is run far faster than the machine can keep up with (60 residents at
50 simulated seconds per wall second, a reading a simulated second), so its edge agents
always have readings to generate and publish when the signal comes: the state in which the
demo once went on computing readings for minutes after "stopping ...". The one service
runner must end every loop on the first signal, in seconds, with a clean exit code, and
take every server and child process with it.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from devservers import careloop_command, free_port
from tests.helpers.procs import alive, children_of, interrupt

pytestmark = pytest.mark.slow

#: How long the demo runs loaded before the signal, and how long it may take to stop.
RUN_S = 60
STOP_WITHIN_S = 30


def test_ctrl_c_stops_a_loaded_demo_within_seconds(tmp_path):
    ports = [str(free_port()) for _ in range(3)]
    proc = subprocess.Popen(
        careloop_command(
            "demo", "--data-dir", str(tmp_path), "--residents", "60", "--speed", "50",
            "--interval", "1", "--no-browser", "--broker-port", ports[0],
            "--influx-port", ports[1], "--http-port", ports[2],
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        banner = ""
        deadline = time.monotonic() + 90
        while "Press Ctrl-C" not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            assert line, f"demo exited early:\n{banner}"
            banner += line
        assert "Press Ctrl-C" in banner, banner
        children = children_of(proc.pid)
        assert len(children) == 4, children  # broker, InfluxDB, ingest, scorer
        time.sleep(RUN_S)
        busy = _cpu_seconds(proc.pid)
        time.sleep(2)
        assert _cpu_seconds(proc.pid) - busy > 0.5, "the demo was not busy: not a loaded run"
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    rest, took = interrupt(proc, timeout=STOP_WITHIN_S)
    print(f"\nstopped {took:.1f} s after SIGINT; last lines:\n{rest[-600:]}")
    assert proc.returncode == 0, rest
    assert "without a clean stop" not in rest, rest
    assert took < STOP_WITHIN_S
    time.sleep(0.5)
    left = [pid for pid in children if alive(pid)]
    assert not left, f"outlived the demo: {left}"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (clock ticks)."""
    import os

    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":  # pragma: no cover - manual runs
    sys.exit(pytest.main([__file__, "-s"]))
