"""Persistence of a condition over time, vectorised: the shared shape of most vital rules.

A rule's condition must hold for ``hold_ms`` before it fires, so one noisy reading is not a
need. Short gaps (up to ``grace_ms`` without the condition, e.g. one reading just under the
threshold during a fever) do not restart the clock; a longer gap does, and re-arms the rule.
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


def persist_fields(rules: tuple[Rule, ...]) -> tuple[Field, ...]:
    """Per resident: when each rule's current run began, when it last held, and if it fired."""
    n = len(rules)
    return (
        Field("run_since", np.int64, (n,), 0),
        Field("run_last", np.int64, (n,), 0),
        Field("run_fired", np.bool_, (n,), False),
    )


def advance(
    table: Table,
    k: int,
    rule: Rule,
    rows: NDArray[np.int64],
    ts: NDArray[np.int64],
    cond: NDArray[np.bool_],
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Advance rule ``k`` for resident ``rows`` at times ``ts``; returns (fires now, onset).

    ``rows`` must be distinct (one reading per resident per call).
    """
    since = table["run_since"][rows, k]
    last = table["run_last"][rows, k]
    fired = table["run_fired"][rows, k]
    broken = (since == 0) | (ts - last > rule.grace_ms)
    since = np.where(cond, np.where(broken, ts, since), since)
    fired = np.where(broken & cond, False, fired)
    last = np.where(cond, ts, last)
    fire = cond & ~fired & (ts - since >= rule.hold_ms)
    fired = fired | fire
    expired = ~cond & (ts - last > rule.grace_ms)
    table["run_since"][rows, k] = np.where(expired, 0, since)
    table["run_last"][rows, k] = last
    table["run_fired"][rows, k] = np.where(expired, False, fired)
    return fire, since
