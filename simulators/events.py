"""Terminal events: the daily schedule (doors at meals, medication, checkups) and scenario events.

An event is emitted by the step whose interval ``[t, t + dt)`` contains the event's time, and
carries that exact time as its ``ts``. Scheduled times are drawn per day and scenario streams
per slot, so which step emits an event never depends on what was computed before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulators.effects import Effects
from simulators.episodes import Episode
from simulators.grid import DAY_MS, MINUTE_MS, Grid
from simulators.noise import keyed, uniforms
from simulators.routine import CHECKUP_LANE, MEAL_MS, MED_LANES, Routine

#: One emitted reading: (grid row, grid column, reading).
Hit = tuple[int, int, dict[str, Any]]

STREAM_CH, START_CH = 31, 32
CHECKUP_SPREAD_MS = 45 * MINUTE_MS


def _scheduled(grid: Grid, rt: Routine, fx: Effects) -> list[Hit]:
    c = grid.cohort
    midnight = (grid.day * DAY_MS).astype(np.float64)
    b0, _, d0 = rt.meal_starts
    table: list[tuple[str, str, Any]] = []
    for start in rt.meal_starts:
        table.append(("door", "room_door", start))
        table.append(("door", "room_door", start + MEAL_MS))
    for lane, meal in zip(MED_LANES, (b0, d0), strict=True):
        offset = (5.0 + 15.0 * rt.day_u[..., lane]) * MINUTE_MS
        table.append(("medication_taken", "dispenser", meal + MEAL_MS + offset))
    checkup = c.checkup_ms + rt.day_u[..., CHECKUP_LANE] * CHECKUP_SPREAD_MS
    table.append(("checkup_done", "daily_round", checkup))

    when = np.floor(midnight[..., None] + np.stack([sod for _, _, sod in table], axis=-1))
    t = grid.t[..., None]
    ok = (rt.routine_events & ~rt.asleep)[..., None]
    rows, cols, kinds = np.nonzero((when >= t) & (when < t + grid.dt_ms) & ok)
    hits: list[Hit] = []
    for k, r, e in zip(rows.tolist(), cols.tolist(), kinds.tolist(), strict=True):
        kind, detail, _ = table[e]
        ts = int(when[k, r, e])
        if kind == "checkup_done" and _suppressed(fx, r, ts):
            continue
        hits.append((k, r, {"ts": ts, "type": kind, "detail": detail}))
    return hits


def _suppressed(fx: Effects, col: int, ts: int) -> bool:
    """Whether a missed-checkup episode on this column covers ``ts``."""
    return any(
        ep.scenario.suppress_checkup and c == col and ep.start <= ts < ep.end for ep, c in fx.active
    )


def _episode_events(grid: Grid, ep: Episode, col: int) -> list[Hit]:
    t = grid.t[:, 0]
    key = np.array([ep.key], dtype=np.uint64)
    hits: list[Hit] = []
    for n, spec in enumerate(ep.scenario.events):
        if spec.at_start:
            rows = np.nonzero((ep.start >= t) & (ep.start < t + grid.dt_ms))[0]
            for k in rows.tolist():
                reading: dict[str, Any] = {"ts": ep.start, "type": spec.type, "detail": spec.detail}
                if spec.confidence is not None:
                    draw = float(uniforms(keyed(key, n, START_CH), 1)[0, 0])
                    lo, hi = spec.confidence
                    reading["confidence"] = round(lo + (hi - lo) * draw, 2)
                hits.append((k, col, reading))
        if spec.every_s > 0:
            period = spec.every_s * 1000.0
            first = np.floor((t - ep.start) / period)
            for j in (first, first + 1):
                u = uniforms(keyed(key, j, STREAM_CH + n), 2)
                when = np.floor(ep.start + (j + u[..., 0]) * period)
                hit = (
                    (when >= t)
                    & (when < t + grid.dt_ms)
                    & (when >= ep.start)
                    & (when < ep.end)
                    & (u[..., 1] < spec.probability)
                )
                for k in np.nonzero(hit)[0].tolist():
                    reading = {"ts": int(when[k]), "type": spec.type, "detail": spec.detail}
                    hits.append((k, col, reading))
    return hits


def events(grid: Grid, rt: Routine, fx: Effects) -> list[Hit]:
    """Every event reading the grid's steps emit."""
    hits = _scheduled(grid, rt, fx)
    for ep, col in fx.active:
        if ep.scenario.events:
            hits.extend(_episode_events(grid, ep, col))
    return hits
