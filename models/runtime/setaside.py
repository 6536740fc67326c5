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
import logging
import os
from collections.abc import Callable
from pathlib import Path

from careloop.logs import fields
from models.errors import ModelError, StateError
from models.runtime.engine import ScoringEngine
from people.retention import Retention

log = logging.getLogger(__name__)

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


def restore_or_fresh(path: Path, make: Callable[[], ScoringEngine]) -> tuple[ScoringEngine, bool]:
    """An engine from ``make()`` restored from the snapshot at ``path`` if there is one;
    and whether it was restored.

    Scoring with fresh baselines beats not scoring at all: a snapshot that cannot be read
    is set aside and a fresh engine is returned. Another version's snapshot (after an
    upgrade) is expected, a warning; a corrupt one needs a look, an error.
    """
    engine = make()
    if not path.exists():
        return engine, False
    try:
        engine.restore(path)
        return engine, True
    except ModelError as exc:
        aside, stale = set_aside(path, exc)
        what = "from another careloop version" if stale else "unreadable"
        log.log(
            logging.WARNING if stale else logging.ERROR,
            f"snapshot {what}; starting with empty state",
            extra=fields(error=str(exc)[:300], moved_to=str(aside)),
        )
        return make(), False
