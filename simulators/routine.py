"""A resident's day: sleep, night-time toilet trips, meals, naps, walks, standing about.

Everything is decided by hashing a time slot, never by carrying state: whether a walk happens
in a given five minutes is a hash of (resident, slot index), its start and length are more
lanes of the same hash, and the recovery after it is computed from the previous slot's walk.
Scenario behaviours (fallen, in bed, wandering) override the routine last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from simulators.effects import FALLEN, IN_BED, WANDERING, Effects
from simulators.grid import DAY_MS, F64, HOUR_MS, I64, MINUTE_MS, Grid
from simulators.noise import normals

#: Hash channels of the routine.
DAY_CH, TRIP_CH, BOUT_CH, STAND_CH, STEP_CH = 11, 12, 13, 14, 15
#: Lanes of the per-day uniforms: wake, bed, three meals, nap (3), two doses, checkup.
DAY_LANES = 11
MED_LANES = (8, 9)
CHECKUP_LANE = 10
MEAL_MS = 40 * MINUTE_MS
BOUT_SLOT_MS = 5 * MINUTE_MS
STAND_SLOT_MS = 5 * MINUTE_MS

#: Posture codes, in the order of ``careloop.wire.POSTURES``.
LYING, SITTING, STANDING, WALKING = 0, 1, 2, 3
_BASE_MET = np.array([1.0, 1.3, 1.8, 2.0])


@dataclass(frozen=True, eq=False)
class Routine:
    """The behavioural state of every cell of a grid."""

    posture: NDArray[np.int8]
    bed: NDArray[np.bool_]
    motion: NDArray[np.bool_]
    steps: I64
    activity: F64
    asleep: NDArray[np.bool_]
    depth: F64
    exertion: F64
    meal_after: F64
    surge: F64
    can_talk: NDArray[np.bool_]
    routine_events: NDArray[np.bool_]
    day_u: F64
    meal_starts: tuple[F64, F64, F64]


def _bouts(grid: Grid, p_bout: F64, tf: F64) -> tuple[NDArray[np.bool_], F64, F64]:
    """Walks: (walking now, intensity, exertion incl. recovery from the previous slot's walk)."""
    walking = np.zeros(grid.shape, dtype=np.bool_)
    intensity = np.zeros(grid.shape)
    exertion = np.zeros(grid.shape)
    for back in (1, 0):
        slot = grid.t // BOUT_SLOT_MS - back
        u = grid.cohort.draw(slot, BOUT_CH, 4)
        dur = (1.0 + 2.0 * u[..., 1]) * MINUTE_MS
        start = slot.astype(np.float64) * BOUT_SLOT_MS + u[..., 2] * (BOUT_SLOT_MS - dur)
        end = start + dur
        level = 0.5 + 0.8 * u[..., 3]
        has = u[..., 0] < p_bout
        during = has & (tf >= start) & (tf < end)
        rise = level * (1.0 - np.exp(-np.maximum(tf - start, 0.0) / 45_000.0))
        peak = level * (1.0 - np.exp(-dur / 45_000.0))
        fall = peak * np.exp(-np.maximum(tf - end, 0.0) / 120_000.0)
        exertion = np.maximum(
            exertion, np.where(during, rise, np.where(has & (tf >= end), fall, 0))
        )
        walking |= during
        intensity = np.where(during, level, intensity)
    return walking, intensity, exertion


def routine(grid: Grid, fx: Effects) -> Routine:
    """The routine of every cell, with scenario overrides applied."""
    c = grid.cohort
    sod = grid.sod
    tf = grid.tf
    dt_min = grid.dt_ms / MINUTE_MS
    ud = c.draw(grid.day, DAY_CH, DAY_LANES)
    up = c.draw(grid.steps, STEP_CH, 7, memo=False)

    # Sleep, with daily jitter; slow decline shortens it from both ends.
    wake = c.wake_ms + (ud[..., 0] - 0.5) * (30 * MINUTE_MS)
    bed_time = c.bed_ms + (ud[..., 1] - 0.5) * (40 * MINUTE_MS)
    trip_p: F64 | float = 0.1
    if fx.sleep_loss_ms is not None:
        wake = wake - 0.4 * fx.sleep_loss_ms
        bed_time = np.minimum(bed_time + 0.6 * fx.sleep_loss_ms, DAY_MS - MINUTE_MS)
        trip_p = 0.1 + 0.08 * fx.sleep_loss_ms / HOUR_MS
    asleep = (sod < wake) | (sod >= bed_time)
    since_bed = np.where(sod >= bed_time, sod - bed_time, sod + DAY_MS - bed_time)
    depth = np.where(asleep, np.minimum(since_bed / (30 * MINUTE_MS), 1.0), 0.0)
    since_wake = sod - wake
    surge = np.where(~asleep & (since_wake < 3 * HOUR_MS), np.exp(-since_wake / HOUR_MS), 0.0)

    # Night-time toilet trips: a few minutes walking in some hours of the night.
    uh = c.draw(grid.t // HOUR_MS, TRIP_CH, 3)
    trip_len = (2.0 + 3.0 * uh[..., 1]) * MINUTE_MS
    trip_at = uh[..., 2] * (HOUR_MS - trip_len)
    in_hour = (grid.t % HOUR_MS).astype(np.float64)
    trip = asleep & (uh[..., 0] < trip_p) & (in_hour >= trip_at) & (in_hour < trip_at + trip_len)

    # Meals in the dining room (out of the bedroom), and their after-effect.
    in_meal = np.zeros(grid.shape, dtype=np.bool_)
    meal_after = np.zeros(grid.shape)
    starts = []
    for m in range(3):
        start = c.meals_ms[m] + (ud[..., 2 + m] - 0.5) * (20 * MINUTE_MS)
        starts.append(start)
        in_meal |= (sod >= start) & (sod < start + MEAL_MS)
        since = sod - start
        meal_after = np.maximum(
            meal_after, np.where((since >= 0) & (since < 3 * HOUR_MS), np.exp(-since / 4e6), 0.0)
        )
    in_meal &= ~asleep

    nap_start = 13.25 * HOUR_MS + ud[..., 5] * (45 * MINUTE_MS)
    nap_end = nap_start + (30.0 + 45.0 * ud[..., 6]) * MINUTE_MS
    nap = (ud[..., 7] < c.nap_probability) & (sod >= nap_start) & (sod < nap_end) & ~asleep
    if fx.activity_scale is not None:
        nap &= fx.activity_scale <= 1.0  # a restless (agitated) resident does not nap

    idle = ~asleep & ~in_meal & ~nap
    scale = c.activity_level if fx.activity_scale is None else c.activity_level * fx.activity_scale
    walking, intensity, exertion = _bouts(grid, np.minimum(0.2 * scale, 0.95), tf)
    walking &= idle
    exertion = np.where(idle, exertion, 0.0)
    walking |= trip
    intensity = np.where(trip, 0.3, intensity)
    exertion = np.maximum(exertion, np.where(trip, 0.3, 0.0))
    stand_u = c.draw(grid.t // STAND_SLOT_MS, STAND_CH, 1)[..., 0]
    standing = idle & ~walking & (stand_u < 0.15)

    lying = (asleep & ~trip) | nap
    posture = np.where(
        walking, WALKING, np.where(standing, STANDING, np.where(lying, LYING, SITTING))
    ).astype(np.int8)
    bed = lying.copy()
    cadence = (60.0 + 40.0 * intensity) * dt_min * (0.85 + 0.3 * up[..., 1])
    steps = np.where(walking, np.rint(cadence), np.where(standing & (up[..., 2] < 0.3), 1.0, 0.0))
    motion_p = np.where(walking | standing, 0.97, np.where(lying, 0.04, 0.35))
    motion = (up[..., 0] < motion_p) & ~in_meal
    met = _BASE_MET[posture] + np.where(walking, 1.6 * intensity, 0.0)
    activity = met * (1.0 + 0.04 * normals(up[..., 3:7]))
    can_talk = ~asleep
    routine_events = np.ones(grid.shape, dtype=np.bool_)

    if fx.behaviour is not None:
        b = fx.behaviour
        fallen, in_bed, wander = b == FALLEN, b == IN_BED, b == WANDERING
        still = fallen | in_bed
        posture = np.where(still, LYING, np.where(wander, WALKING, posture)).astype(np.int8)
        bed = (bed & ~fallen & ~wander) | in_bed
        wander_steps = np.rint(80.0 * dt_min * (0.85 + 0.3 * up[..., 1]))
        steps = np.where(still, 0.0, np.where(wander, wander_steps, steps))
        motion = np.where(fallen, False, np.where(in_bed, up[..., 0] < 0.04, motion | wander))
        rest = 1.0 + 0.04 * normals(up[..., 3:7])
        activity = np.where(still, rest, np.where(wander, 2.8 * rest, activity))
        exertion = np.where(still, 0.0, np.where(wander, 0.5, exertion))
        asleep = np.where(fallen | wander, False, asleep | in_bed)
        depth = np.where(fallen | wander, 0.0, np.where(in_bed, 1.0, depth))
        surge = np.where(b > 0, 0.0, surge)
        can_talk = ~asleep & (b == 0)
        routine_events = ~still

    return Routine(
        posture=posture,
        bed=bed,
        motion=motion,
        steps=np.minimum(steps, 10_000).astype(np.int64),
        activity=np.clip(activity, 0.0, 20.0),
        asleep=asleep,
        depth=depth,
        exertion=exertion,
        meal_after=meal_after,
        surge=surge,
        can_talk=can_talk,
        routine_events=routine_events,
        day_u=ud,
        meal_starts=(starts[0], starts[1], starts[2]),
    )
