"""Ingest fixtures: settings for a test broker/database, a registry, and a real ``careloop
ingest`` subprocess with helpers to read its JSON log and count points in InfluxDB."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from careloop.settings import Settings, load_settings
from devservers import InfluxDB
from ingest import Ingestor
from people import Device, DeviceRegistry
from tests.helpers.feed import T0


def ingest_settings(
    broker, influx, db: str, data_dir: Path, people=None, database_url: str = "", **ingest
) -> Settings:
    """Settings for an in-process Ingestor: a share group of its own, fast timers; its
    relational stores on PostgreSQL when ``database_url`` names one."""
    return load_settings(
        data_dir=str(data_dir),
        database_url=database_url,
        people=people or {},
        mqtt={
            "host": broker.host,
            "port": broker.port,
            "backoff_initial": 0.1,
            "backoff_max": 1.0,
        },
        influx={"url": influx.url, "database": db},
        ingest={
            "client_id": f"ingest-{uuid.uuid4().hex[:8]}",
            "share_group": f"g{uuid.uuid4().hex[:8]}",
            "max_delay": 0.05,
            "stats_interval": 0,
            "session_expiry": 60,
            **ingest,
        },
    )


def register(data_dir: Path, site: str, *devices: tuple[str, str], url: str = "") -> None:
    """Register ``(device, resident)`` pairs at ``site`` in DATA_DIR/people.sqlite3 (or the
    PostgreSQL database at ``url``)."""
    with DeviceRegistry(data_dir / "people.sqlite3", url=url) as registry:
        registry.add([Device(d, site, r) for d, r in devices])


def count(influx: InfluxDB, db: str, measurement: str, field: str, where: str = "") -> int:
    """``SELECT count(field)``: the number of distinct points (same series+time is one)."""
    q = f'SELECT count("{field}") FROM "{measurement}"' + (f" WHERE {where}" if where else "")
    series = influx.query(q, db)["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def wait_count(influx, db, measurement, field, expected, timeout=60.0, where="") -> int:
    """Poll until the count reaches ``expected`` (or time out); returns the last count."""
    deadline = time.monotonic() + timeout
    n = -1
    while time.monotonic() < deadline:
        n = count(influx, db, measurement, field, where)
        if n >= expected:
            time.sleep(0.5)  # a few more seconds of writes must not add any
            return count(influx, db, measurement, field, where)
        time.sleep(0.25)
    return n


def vitals(device: str, resident: str, seq: int, *timestamps: int, **fields) -> bytes:
    readings = [{"ts": ts, "heart_rate": 70.0, **fields} for ts in timestamps]
    body = {"v": 1, "device": device, "resident": resident, "seq": seq, "ts": T0}
    return json.dumps({**body, "readings": readings}).encode()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """CLI tests call careloop's main(), which points the root logger at pytest's captured
    stderr; put the handlers back so later tests do not log into a closed stream."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def ingestor(mosquitto, influxdb, influx_db, tmp_path) -> Iterator[Ingestor]:
    """An in-process Ingestor on the shared servers, connected before the test starts."""
    with Ingestor(ingest_settings(mosquitto, influxdb, influx_db, tmp_path)) as ingest:
        wait_until(lambda: ingest.connected, 10, "ingest did not connect")
        time.sleep(0.2)  # SUBACK
        yield ingest


def wait_until(check, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(message)
        time.sleep(0.05)


class IngestProcess:
    """``python -m careloop ingest`` as a child process, with its JSON log in a file."""

    def __init__(self, broker, influx, db: str, data_dir: Path, *extra: str, name="ingest"):
        self.data_dir = data_dir
        self.log_path = data_dir / f"{name}.log"
        self.args = [
            sys.executable,
            "-m",
            "app",
            "ingest",
            "--mqtt-host",
            broker.host,
            "--mqtt-port",
            str(broker.port),
            "--influx-url",
            influx.url,
            "--influx-db",
            db,
            "--data-dir",
            str(data_dir),
            "--log-format",
            "json",
            "--stats-interval",
            "0",
            *extra,
        ]
        self.env = {
            **os.environ,
            "CARELOOP_MQTT__BACKOFF_INITIAL": "0.2",
            "CARELOOP_MQTT__BACKOFF_MAX": "2",
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> IngestProcess:
        data = self.data_dir
        data.mkdir(parents=True, exist_ok=True)
        before = self.count('"msg": "connected"')
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)
        wait_until(
            lambda: self.count('"msg": "connected"') > before or self.proc.poll() is not None,
            20,
            "ingest did not connect",
        )
        assert self.proc.poll() is None, self.log_path.read_text()[-2000:]
        return self

    def count(self, needle: str) -> int:
        try:
            return self.log_path.read_text().count(needle)
        except FileNotFoundError:
            return 0

    def records(self, msg: str) -> list[dict]:
        out = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("msg") == msg:
                    out.append(record)
        return out

    def stop(self) -> dict:
        """SIGTERM, expect exit 0; returns the final "ingest stopped" counts."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(40) == 0, self.log_path.read_text()[-2000:]
        return self.records("ingest stopped")[-1]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class EdgeProcess:
    """``careloop edge --adapter replay --follow``: a real device agent in a child process."""

    def __init__(self, broker, site: str, device: str, resident: str, src: Path, data_dir: Path):
        self.log_path = data_dir / f"edge-{device}.log"
        self.args = [
            sys.executable, "-m", "app", "edge", "--adapter", "replay",
            "--replay", str(src), "--follow", "--device", device, "--resident", resident,
            "--site", site, "--data-dir", str(data_dir), "--mqtt-host", broker.host,
            "--mqtt-port", str(broker.port), "--log-format", "json",
        ]  # fmt: skip
        self.env = {
            **os.environ,
            "CARELOOP_MQTT__BACKOFF_INITIAL": "0.2",
            "CARELOOP_MQTT__BACKOFF_MAX": "2",
            "CARELOOP_EDGE__SYNCHRONOUS": "normal",
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> EdgeProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
