"""Files that hold personal data are the owner's alone.

Snapshots, outboxes and logs carry residents' ids, vitals and need kinds. A file created
with the default umask is readable by every account on the machine, so each writer here
creates its file ``0600`` and tightens one a previous version left open.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

PRIVATE_MODE = 0o600


def tighten(path: Path) -> None:
    """Make an existing file owner-only (a file left ``0644`` by an older version)."""
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            path.chmod(PRIVATE_MODE)


def open_private(path: Path, *, append: bool = True) -> BinaryIO:
    """Open ``path`` for binary writing, created owner-only (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_MODE)
    tighten(path)
    return os.fdopen(fd, "ab" if append else "wb")


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temp file, fsync, rename), owner-only."""
    tmp = path.with_name(path.name + ".tmp")
    with open_private(tmp, append=False) as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def read_or_create_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    """The secret in ``path``; on first use ``make()`` one and keep it there, owner-only.

    Two processes starting together (the API and the alert service share a data folder) get
    the same secret: the new file is written whole under a temporary name and linked into
    place, which fails if another process got there first, and then that one is read.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        pass
    else:
        tighten(path)
        if data:
            return data
    tmp = path.with_name(f"{path.name}.{os.getpid()}.new")
    write_private(tmp, make())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()
