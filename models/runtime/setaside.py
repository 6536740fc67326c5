"""Snapshots the scorer could not read: moved aside (never deleted at once), then bounded.

A snapshot that is not read never stops the scorer (fresh baselines beat no scoring), but
the file may hold residents' state, so it is kept under a suffix that says why, for a look,
and retention deletes it once it is older than the strictest site keeps data:

* ``<name>.old``: intact, written by another careloop version (after an upgrade; in
  particular every pickle-based snapshot from before issue 11, which is never read);
* ``<name>.corrupt``: anything else (truncated, doctored, not a snapshot at all).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from models.errors import ModelError, StateError
from people.retention import Retention

#: Suffix of a set-aside snapshot, by whether it is only another version's (stale).
SUFFIXES = {True: ".old", False: ".corrupt"}


def set_aside(path: Path, error: ModelError) -> tuple[Path, bool]:
    """Move the snapshot at ``path`` that ``error`` refused; where it went, and whether it
    was only stale (another version's file) rather than unreadable."""
    stale = isinstance(error, StateError) and error.stale
    aside = path.with_name(path.name + SUFFIXES[stale])
    os.replace(path, aside)
    return aside, stale


def drop_set_aside(folder: Path, kept: Retention) -> dict[str, int]:
    """Delete set-aside snapshots (either suffix) older than the strictest cutoff; how many."""
    if kept.strictest is None or not folder.is_dir():
        return {"set_aside_snapshots": 0}
    dropped = 0
    for suffix in SUFFIXES.values():
        for path in folder.glob(f"*{suffix}"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime * 1000 < kept.strictest:
                    path.unlink()
                    dropped += 1
    return {"set_aside_snapshots": dropped}
