"""Each site's retention, applied to what the scorer keeps.

The scorer's state is rolling (baselines, timers, open needs), so nothing in it is old in
itself; what retention bounds is *who* it keeps. A resident whose devices have not been
heard from for longer than their site keeps data is forgotten, exactly as an erasure would
(learned state, open needs, unpublished needs), and the snapshot is rewritten at once. A
snapshot once moved aside as unreadable (``*.corrupt``) goes when it is older than the
strictest site's retention: it belongs to nobody who chose to keep it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from models.runtime.engine import ScoringEngine
from models.runtime.outbox import NeedOutbox
from people.retention import Retention


def expire(engine: ScoringEngine, outbox: NeedOutbox, kept: Retention) -> dict[str, int]:
    """Forget residents unheard since their site's cutoff; how many, per kind of state."""
    gone = engine.expire(kept.cutoffs)
    for site, resident in gone:
        outbox.forget(site, resident)
    return {"residents": len(gone)}


def drop_corrupt(folder: Path, kept: Retention) -> dict[str, int]:
    """Delete set-aside snapshots older than the strictest cutoff; how many."""
    if kept.strictest is None or not folder.is_dir():
        return {"corrupt_snapshots": 0}
    dropped = 0
    for path in folder.glob("*.corrupt"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime * 1000 < kept.strictest:
                path.unlink()
                dropped += 1
    return {"corrupt_snapshots": dropped}
