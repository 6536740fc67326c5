"""What the active episodes do to a grid: shifts, blends, behaviour overrides, schedule changes.

Most cells have no active episode, so every field stays ``None`` until an episode touches
it, and the routine and physiology skip the work. Overlapping episodes on one resident add
their ``by`` shifts; for ``to`` blends and behaviours the later episode in the list wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from simulators.episodes import Episode
from simulators.grid import F64, HOUR_MS, Grid
from simulators.scenarios import BEHAVIOURS

#: Behaviour codes in :attr:`Effects.behaviour` (0 = follow the routine).
BEHAVIOUR_CODE: dict[str, int] = {name: i + 1 for i, name in enumerate(BEHAVIOURS)}
FALLEN, IN_BED, WANDERING = (BEHAVIOUR_CODE[b] for b in ("fallen", "in_bed", "wandering"))


@dataclass(eq=False)
class Effects:
    """Per-cell modifiers for one grid; ``None`` means "no episode changes this"."""

    shape: tuple[int, int]
    by: dict[str, F64] = field(default_factory=dict)
    to: dict[str, tuple[F64, F64]] = field(default_factory=dict)
    activity_scale: F64 | None = None
    sleep_loss_ms: F64 | None = None
    behaviour: NDArray[np.int8] | None = None
    confused: NDArray[np.bool_] | None = None
    active: list[tuple[Episode, int]] = field(default_factory=list)

    def _zeros(self) -> F64:
        return np.zeros(self.shape)

    def add_by(self, measure: str, col: int, values: F64) -> None:
        arr = self.by.get(measure)
        if arr is None:
            arr = self.by[measure] = self._zeros()
        arr[:, col] += values

    def set_to(self, measure: str, col: int, weight: F64, target: float) -> None:
        pair = self.to.get(measure)
        if pair is None:
            pair = self.to[measure] = (self._zeros(), self._zeros())
        w, tgt = pair
        on = weight > 0
        w[on, col] = weight[on]
        tgt[on, col] = target

    def mask(self, name: str) -> NDArray[np.bool_]:
        arr = getattr(self, name)
        if arr is None:
            arr = np.zeros(self.shape, dtype=np.bool_)
            setattr(self, name, arr)
        return arr


def effects_for(grid: Grid, episodes: Sequence[Episode]) -> Effects:
    """Collect what ``episodes`` do to ``grid``'s cells."""
    fx = Effects(grid.shape)
    lo, hi = grid.span
    columns = grid.cohort.columns
    t = grid.t[:, 0]
    for ep in episodes:
        col = columns.get(ep.resident)
        if col is None or not ep.active(lo, hi):
            continue
        fx.active.append((ep, col))
        sc = ep.scenario
        env = ep.envelope(t)
        inside = (t >= ep.start) & (t < ep.end)
        for measure, delta in ep.by:
            fx.add_by(measure, col, env * delta)
        for measure, target in ep.to:
            fx.set_to(measure, col, env, target)
        if sc.behaviour is not None:
            if fx.behaviour is None:
                fx.behaviour = np.zeros(fx.shape, dtype=np.int8)
            fx.behaviour[inside, col] = BEHAVIOUR_CODE[sc.behaviour]
        if sc.activity_scale != 1.0:
            if fx.activity_scale is None:
                fx.activity_scale = np.ones(fx.shape)
            fx.activity_scale[:, col] *= 1.0 + (sc.activity_scale - 1.0) * env
        if sc.sleep_loss_h:
            if fx.sleep_loss_ms is None:
                fx.sleep_loss_ms = fx._zeros()
            fx.sleep_loss_ms[:, col] += sc.sleep_loss_h * HOUR_MS * env
        if sc.confusion_after is not None:
            cut = ep.start + sc.confusion_after * (ep.end - ep.start)
            fx.mask("confused")[:, col] |= inside & (t >= cut)
    return fx
