"""The demo's child processes: ``careloop ingest`` and ``careloop score``, and free ports.

Each child is started with its log in the demo's folder, tied to this process (it dies with
it, even on ``kill -9``) and stopped with SIGTERM when the demo stops (killed after 10 s).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from careloop.files import open_private
from careloop.settings import Settings
from devservers import careloop_command, free_port, tie_to_parent

#: Seconds a child has to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 10.0
#: Children already sent SIGTERM (by :func:`signal_all`).
_SIGNALLED: set[subprocess.Popen[bytes]] = set()


def port(preferred: int) -> int:
    """``preferred`` if nothing listens there, else a free port."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return free_port()


def _common(settings: Settings) -> list[str]:
    return [
        "--site", settings.site,
        "--data-dir", str(settings.data_dir),
        "--mqtt-host", settings.mqtt.host,
        "--mqtt-port", str(settings.mqtt.port),
        "--no-mqtt-tls",  # the demo's own broker, plaintext on loopback (the banner says so)
    ]  # fmt: skip


@contextlib.contextmanager
def child(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``careloop ARGS`` until the block ends (SIGTERM, then SIGKILL after a while)."""
    with open_private(log) as out:
        proc = subprocess.Popen(
            careloop_command(*args), stdout=out, stderr=out, preexec_fn=tie_to_parent()
        )
    try:
        yield proc
    finally:
        if proc.poll() is None and proc not in _SIGNALLED:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def signal_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every child at once, so they stop side by side rather than one by one.

    A second SIGTERM would make a child exit at once, without its clean stop (the runner's
    rule), so each is signalled only once.
    """
    for proc in procs:
        if proc.poll() is None and proc not in _SIGNALLED:
            proc.send_signal(signal.SIGTERM)
            _SIGNALLED.add(proc)


def ingest(
    settings: Settings, metrics_port: int
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """``careloop ingest`` for the demo site (devices are registered in the people database)."""
    args = [
        "ingest", *_common(settings),
        "--influx-url", settings.influx.url,
        "--influx-db", settings.influx.database,
        "--metrics-port", str(metrics_port),
    ]  # fmt: skip
    return child(args, Path(settings.data_dir) / "ingest.log")


def score(
    settings: Settings, metrics_port: int
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """``careloop score`` for the demo site; care profiles come from the people database."""
    args = [
        "score", *_common(settings),
        "--metrics-port", str(metrics_port),
        # simulated time may run ahead of the wall clock (--speed > 1)
        "--max-clock-skew", "0",
    ]  # fmt: skip
    return child(args, Path(settings.data_dir) / "score.log")
