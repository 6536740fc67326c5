"""Writing Mosquitto's password and ACL files, and telling the broker to re-read them.

Both files are rewritten whole, atomically (write a temporary file beside it, fsync,
rename), so the broker never reads half a file even if it reloads mid-write. The password
file holds hashes only, but is still created ``0640`` (owner and the broker's group): hashes
invite offline guessing. Mosquitto re-reads both on SIGHUP without dropping connected
clients (:func:`signal_broker`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from pathlib import Path

from app.provision.errors import ProvisionError

FILE_MODE = 0o640


def write_atomic(path: Path, text: str, *, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``text`` in one rename; raises ProvisionError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            os.fchmod(fd, mode)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise ProvisionError(f"cannot write {path}: {exc}") from exc


def signal_broker(pid_file: Path) -> bool:
    """SIGHUP the broker whose pid is in ``pid_file``; False if there is none running.

    A stale pid file (broker gone) is not an error: the broker reads the files when it
    starts. Any other failure (not ours to signal) raises ProvisionError.
    """
    try:
        pid = int(Path(pid_file).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return False
    except OSError as exc:
        raise ProvisionError(f"cannot signal the broker (pid {pid}): {exc}") from exc
    return True
