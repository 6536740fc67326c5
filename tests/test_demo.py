"""``careloop demo`` end to end: 20 residents' live vitals on its broker; Ctrl-C cleans up."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from careloop.servers import free_port
from careloop.wire import subscription
from tests.helpers.readings import ReadingCollector

pytestmark = pytest.mark.slow


def children_of(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc), to prove nothing is left behind."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(entry))
    return kids


def stored_residents(port: int) -> set[str]:
    q = 'SHOW TAG VALUES FROM vitals WITH KEY = "resident"'
    url = f"http://127.0.0.1:{port}/query?" + urllib.parse.urlencode({"db": "careloop", "q": q})
    with urllib.request.urlopen(url, timeout=10) as resp:
        series = json.load(resp)["results"][0].get("series", [])
    return {row[1] for s in series for row in s["values"]}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_demo_shows_20_residents_and_stops_cleanly(tmp_path):
    broker_port, http_port, influx_port = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "careloop",
            "demo",
            "--data-dir",
            str(tmp_path),
            "--broker-port",
            str(broker_port),
            "--influx-port",
            str(influx_port),
            "--http-port",
            str(http_port),
            "--interval",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = ""
        deadline = time.monotonic() + 60
        while "Press Ctrl-C" not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"demo exited early:\n{banner}"
            banner += line
        assert f"mqtt://127.0.0.1:{broker_port}" in banner
        assert re.search(r"started in [\d.]+ s", banner)
        servers = children_of(proc.pid)
        assert len(servers) == 3  # mosquitto, influxd and careloop ingest
        with ReadingCollector(
            "127.0.0.1", broker_port, subscription(kind="vitals"), client_id="demo-watch"
        ) as sub:
            time.sleep(4)
        terminals = sub.data.devices  # one vitals terminal per resident
        assert len(terminals) == 20, terminals
        assert not sub.data.rejected
        # ... and careloop ingest stored them: every resident has vitals in InfluxDB.
        assert f"http://127.0.0.1:{influx_port} " in banner, banner
        stored = stored_residents(influx_port)
        assert len(stored) == 20, stored
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    for pid in servers:  # broker, InfluxDB and ingest are gone (or at most unreaped zombies)
        assert not alive(pid), f"server {pid} outlived the demo"
