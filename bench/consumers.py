"""The consumers under test as child processes: careloop ingest and the naive bridge.

Both run as ``python -m ...`` children of the benchmark so each is measured the same way: its
own interpreter and GIL, its CPU read from ``/proc``, its start-up (imports, stores, CONNECT)
left out of the timed window, which opens when the child logs that it is connected.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from devservers import ServerError

#: What each consumer writes to its log once its MQTT session is up.
INGEST_CONNECTED = '"msg": "connected"'
NAIVE_CONNECTED = "connected"


class ConsumerProcess:
    """One consumer child; its stdout and stderr go to ``log_path``."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, marker: str) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.marker = marker
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise ServerError(f"{self.name} is not running")
        return self.proc.pid

    def start(self) -> float:
        """Spawn the child and return the moment it logged ``marker`` (perf_counter)."""
        # careloop settings come from CARELOOP_* variables too: a stray one in the caller's
        # shell (say CARELOOP_INGEST__WRITERS) would silently change what is measured.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOOP_")}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env
            )
        deadline = self.started_at + 60.0
        while True:
            if self.marker in self._log():
                return time.perf_counter()
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                self.kill()
                raise ServerError(f"{self.name} did not connect; log tail:\n{self.tail()}")
            time.sleep(0.005)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM (a graceful stop) and wait; SIGKILL after ``timeout``. The exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, n: int = 20) -> str:
        return "\n".join(self._log().splitlines()[-n:])

    def log_lines(self) -> list[str]:
        return self._log().splitlines()


def ingest_argv(
    *,
    mqtt_host: str,
    mqtt_port: int,
    influx_url: str,
    database: str,
    data_dir: Path,
    client_id: str,
    share_group: str,
    extra: Sequence[str] = (),
) -> list[str]:
    """``careloop ingest`` with the benchmark's broker, database and session, metrics off."""
    return [
        sys.executable, "-m", "app", "ingest",
        "--mqtt-host", mqtt_host, "--mqtt-port", str(mqtt_port),
        "--influx-url", influx_url, "--influx-db", database,
        "--data-dir", str(data_dir),
        "--client-id", client_id, "--share-group", share_group,
        "--session-expiry", "600", "--metrics-port", "0", "--stats-interval", "0",
        "--log-format", "json", "--log-level", "INFO",
        *extra,
    ]  # fmt: skip


def naive_argv(
    *,
    mqtt_host: str,
    mqtt_port: int,
    influx_url: str,
    database: str,
    client_id: str,
    topic_filter: str,
) -> list[str]:
    """``python -m bench.naive_bridge`` with the benchmark's broker, database and session."""
    return [
        sys.executable, "-m", "bench.naive_bridge",
        "--host", mqtt_host, "--port", str(mqtt_port),
        "--client-id", client_id, "--topic", topic_filter,
        "--influx-url", influx_url, "--db", database,
    ]  # fmt: skip


def find_py_spy() -> str | None:
    """py-spy on PATH or next to this interpreter (a venv's bin), if installed."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


class Profiler:
    """``py-spy record`` attached to a running consumer, writing collapsed stacks (raw).

    ``--nonblocking`` so the consumer is never paused (its rate drops only by the sampler's
    CPU on the shared cores); ``--threads`` so the MQTT thread and the writers stay apart;
    ``--gil`` (default) samples only the thread holding the GIL, i.e. Python work: without
    it, py-spy counts short socket waits of the writer threads as busy.
    """

    def __init__(
        self, py_spy: str, pid: int, output: Path, rate: int = 100, *, gil: bool = True
    ) -> None:
        self.output = output
        self.argv = [
            py_spy, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking",
            "--threads", "--format", "raw", "--output", str(output),
        ]  # fmt: skip
        if gil:
            self.argv.append("--gil")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def stop(self) -> None:
        """SIGINT makes py-spy write its output and exit."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
