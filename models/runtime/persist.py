"""Persistence of a condition over time, vectorised: the shared shape of most vital rules.

A rule's condition must hold for ``hold_ms`` before it fires, so one noisy reading is not a
need. Short gaps (up to ``grace_ms`` without the condition, e.g. one reading just under the
threshold during a fever) do not restart the clock; a longer gap does, and re-arms the rule.

**Confirmation.** Grace alone lets a condition that holds on one reading in three (a
resident whose SpO2 flickers between 92 and 91 while asleep, a pulse that touches 120 on
each flight of stairs) run for minutes and fire. A rule with ``min_share`` also needs the
condition to have held on that share of the readings since the run began, weighted towards
the last minute (an exponential average with a time constant of :data:`SHARE_TAU_MS`,
starting at 0): a condition that holds on every reading passes within the hold time it
already waits (0.865 after 2 min, whatever the reading rate), so a real, sustained
emergency is not paged later; a flickering one never is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.runtime.table import Field, Table


@dataclass(frozen=True, slots=True)
class Rule:
    """One persistent-condition rule."""

    name: str
    kind: str
    tier: str
    hold_ms: int
    grace_ms: int
    #: Share of the recent readings (time-weighted) the condition must hold on to fire.
    min_share: float = 0.0


#: Time constant of the "recent share" average: about the last minute of readings.
SHARE_TAU_MS = 60_000.0


def persist_fields(rules: tuple[Rule, ...], prefix: str = "run") -> tuple[Field, ...]:
    """Per resident: when each rule's current run began, when it last held, and if it fired.

    A family of rules added later keeps its own ``prefix``, so a snapshot written before it
    existed still loads (its arrays keep their shape; the new ones start empty)."""
    n = len(rules)
    return (
        Field(f"{prefix}_since", np.int64, (n,), 0),
        Field(f"{prefix}_last", np.int64, (n,), 0),
        Field(f"{prefix}_fired", np.bool_, (n,), False),
        # time-weighted share of recent readings the condition held on, and when last judged
        Field(f"{prefix}_share", np.float32, (n,), 0.0),
        Field(f"{prefix}_seen", np.int64, (n,), 0),
    )


def advance(
    table: Table,
    k: int,
    rule: Rule,
    rows: NDArray[np.int64],
    ts: NDArray[np.int64],
    cond: NDArray[np.bool_],
    prefix: str = "run",
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Advance rule ``k`` for resident ``rows`` at times ``ts``; returns (fires now, onset).

    ``rows`` must be distinct (one reading per resident per call).
    """
    since_a, last_a, fired_a = (table[f"{prefix}_{x}"] for x in ("since", "last", "fired"))
    since = since_a[rows, k]
    last = last_a[rows, k]
    fired = fired_a[rows, k]
    broken = (since == 0) | (ts - last > rule.grace_ms)
    since = np.where(cond, np.where(broken, ts, since), since)
    fired = np.where(broken & cond, False, fired)
    last = np.where(cond, ts, last)
    fire = cond & ~fired & (ts - since >= rule.hold_ms)
    if rule.min_share > 0:
        # only residents in a run (few): the share is of the readings since it began
        live = np.nonzero(since > 0)[0]
        if len(live):
            fire[live] &= _confirmed(table, prefix, k, rule, rows[live], ts[live], cond[live],
                                     (broken & cond)[live])  # fmt: skip
    fired = fired | fire
    expired = ~cond & (ts - last > rule.grace_ms)
    since_a[rows, k] = np.where(expired, 0, since)
    last_a[rows, k] = last
    fired_a[rows, k] = np.where(expired, False, fired)
    return fire, since


def _confirmed(
    table: Table,
    prefix: str,
    k: int,
    rule: Rule,
    rows: NDArray[np.int64],
    ts: NDArray[np.int64],
    cond: NDArray[np.bool_],
    start: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Update the time-weighted share of readings the condition held on since the run began
    (0 at its first reading) for residents ``rows``; True where it reaches ``min_share``."""
    share_a, seen_a = table[f"{prefix}_share"], table[f"{prefix}_seen"]
    seen = seen_a[rows, k]
    # a reading older than the last one seen (late, or a clock stepped back) weighs like one
    # at the same instant: exp of a negative age would overflow and poison the share (NaN
    # never reaches min_share, so the emergency would never be confirmed in this run)
    keep = np.exp(-np.maximum(ts - seen, 0) / SHARE_TAU_MS)
    share = np.where(start, 0.0, keep * share_a[rows, k] + (1.0 - keep) * cond)
    share_a[rows, k] = share
    seen_a[rows, k] = np.maximum(seen, ts)
    return share >= rule.min_share
