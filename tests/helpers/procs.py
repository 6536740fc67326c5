"""Child processes of the tests' commands: who is still alive, and stopping them for sure."""

from __future__ import annotations

import os
import signal
import subprocess


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
