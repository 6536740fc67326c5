"""Child processes of the tests' commands: starting a real ``careloop alerts``, who is still
alive, and stopping them for sure."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from devservers import Mosquitto, careloop_command


def start_alerts(
    broker: Mosquitto,
    data_dir: Path,
    log: Path,
    *,
    client_id: str,
    site: str | None = None,
    roster: Path | None = None,
    clock_offset_file: Path | None = None,
    lease: float | None = None,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """A real ``careloop alerts`` process (``python -m app alerts``) on ``broker``.

    The alert service of ``site`` (None: ``--all-sites``), its files under ``data_dir``, JSON
    logs appended to ``log``, deadlines checked every 50 ms. ``clock_offset_file`` moves its
    clock (tests jump over a step without sleeping), ``lease`` shortens the outbox lease so a
    replica killed with rows leased hands them over quickly. ``database_url`` sets
    CARELOOP_DATABASE_URL ("" = SQLite files) in ``env`` (default: this process's
    environment); ``args`` are more options (``--metrics-port``).
    """
    cmd = careloop_command(
        "alerts",
        *(["--site", site] if site is not None else ["--all-sites"]),
        "--data-dir", str(data_dir), "--mqtt-host", broker.host, "--mqtt-port", str(broker.port),
        "--client-id", client_id, "--tick-interval", "0.05", "--log-format", "json",
    )  # fmt: skip
    if roster is not None:
        cmd += ["--roster", str(roster)]
    if clock_offset_file is not None:
        cmd += ["--clock-offset-file", str(clock_offset_file)]
    if lease is not None:
        cmd += ["--lease", str(lease)]
    environ = dict(os.environ if env is None else env)
    if database_url is not None:
        environ["CARELOOP_DATABASE_URL"] = database_url
    with log.open("ab") as out:
        return subprocess.Popen([*cmd, *args], stdout=out, stderr=out, env=environ)


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


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def interrupt(proc: subprocess.Popen[str], timeout: float) -> tuple[str, float]:
    """SIGINT ``proc`` (Ctrl-C) and wait for it; (the rest of its output, seconds it took).

    If it is still running after ``timeout`` it is killed (so no test leaves it behind)
    and TimeoutError says how long it was given.
    """
    import time

    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        rest, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.communicate()
        raise TimeoutError(f"still running {timeout:.0f} s after SIGINT") from exc
    return rest or "", time.monotonic() - started
