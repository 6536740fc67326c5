"""Each site's retention, applied to what the scorer keeps.

The scorer's state is rolling (baselines, timers, open needs), so nothing in it is old in
itself; what retention bounds is *who* it keeps. A resident whose devices have not been
heard from for longer than their site keeps data is forgotten, exactly as an erasure would
(learned state, open needs, unpublished needs), and the snapshot is rewritten at once.
Snapshots set aside unread go by :func:`models.runtime.setaside.drop_set_aside`.
"""

from __future__ import annotations

from models.runtime.engine import ScoringEngine
from models.runtime.outbox import NeedOutbox
from people.retention import Retention


def expire(engine: ScoringEngine, outbox: NeedOutbox, kept: Retention) -> dict[str, int]:
    """Forget residents unheard since their site's cutoff; how many, per kind of state."""
    gone = engine.expire(kept.cutoffs)
    for site, resident in gone:
        outbox.forget(site, resident)
    return {"residents": len(gone)}
