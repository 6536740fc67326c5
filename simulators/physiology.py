"""Vital signs from a resident's baseline, their routine, slow body rhythms and episodes.

Each vital is ``baseline + circadian + routine effects + smooth noise`` (a shared
"sympathetic tone" term makes heart rate, blood pressure and breathing move together), then
episode shifts are added, ``to`` targets are blended in, and per-step sensor noise comes last.
Temperature bottoms out around 04:00; heart rate, blood pressure and breathing drop in sleep
and rise with walking, with an exponential recovery afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from simulators.effects import Effects
from simulators.grid import BP, F64, HOUR_MS, HR, RR, SHARED, SPO2, TEMP, Grid
from simulators.noise import normals, smooth
from simulators.routine import STANDING, Routine

VITALS_CH = 21
_TWO_PI_PER_DAY = 2.0 * np.pi / 24.0


@dataclass(frozen=True, eq=False)
class Vitals:
    """Vital signs per cell, already rounded the way devices report them."""

    heart_rate: F64
    spo2: F64
    respiration_rate: F64
    systolic_bp: F64
    diastolic_bp: F64
    temperature: F64
    confused: NDArray[np.bool_]


def _apply(fx: Effects, name: str, value: F64) -> F64:
    """Add episode deltas, then pull towards any episode target."""
    delta = fx.by.get(name)
    if delta is not None:
        value = value + delta
    pair = fx.to.get(name)
    if pair is not None:
        weight, target = pair
        value = value + weight * (target - value)
    return value


def vitals(grid: Grid, rt: Routine, fx: Effects) -> Vitals:
    """Vital signs of every cell of ``grid``."""
    c = grid.cohort
    hours = grid.sod / HOUR_MS
    sm = smooth(grid.t_s[..., None], c.phases)  # (K, R, channel)
    shared = sm[..., SHARED]
    n = normals(c.draw(grid.steps, VITALS_CH, 24, memo=False).reshape(*grid.shape, 6, 4))
    depth, ex = rt.depth, rt.exertion
    standing = (rt.posture == STANDING).astype(np.float64)

    hr = (
        c.resting_hr * (1.0 - 0.1 * depth)
        + 2.0 * np.cos(_TWO_PI_PER_DAY * (hours - 15.0))
        + 22.0 * ex
        + 5.0 * standing
        + 4.0 * rt.meal_after
        + 3.0 * (0.6 * shared + 0.8 * sm[..., HR])
    )
    hr = _apply(fx, "heart_rate", hr) + 1.2 * n[..., 0]

    rr = c.respiration_rate - 1.5 * depth + 5.0 * ex + 0.6 * (0.5 * shared + 0.87 * sm[..., RR])
    rr = _apply(fx, "respiration_rate", rr) + 0.4 * n[..., 1]

    spo2 = c.spo2 - 0.8 * depth - 0.6 * ex + 0.5 * sm[..., SPO2]
    spo2 = _apply(fx, "spo2", spo2) + 0.4 * n[..., 2]

    bp_tone = 0.6 * shared + 0.8 * sm[..., BP]
    sys_bp = (
        c.systolic_bp
        - 10.0 * depth
        + 14.0 * ex
        + 8.0 * rt.surge
        - 5.0 * rt.meal_after
        + 4.0 * bp_tone
    )
    sys_bp = _apply(fx, "systolic_bp", sys_bp) + 3.0 * n[..., 3]
    dia_bp = c.diastolic_bp - 7.0 * depth + 5.0 * ex + 3.0 * rt.surge + 3.0 * bp_tone
    dia_bp = _apply(fx, "diastolic_bp", dia_bp) + 2.0 * n[..., 4]

    temp = (
        c.temperature
        + 0.3 * np.cos(_TWO_PI_PER_DAY * (hours - 16.0))
        + 0.1 * ex
        + 0.06 * sm[..., TEMP]
    )
    temp = _apply(fx, "temperature", temp) + 0.05 * n[..., 5]

    sys_r = np.clip(np.rint(sys_bp), 70.0, 250.0)
    dia_r = np.minimum(np.clip(np.rint(dia_bp), 30.0, 150.0), sys_r - 15.0)
    confused = fx.confused if fx.confused is not None else np.zeros(grid.shape, dtype=np.bool_)
    return Vitals(
        heart_rate=np.clip(np.round(hr, 1), 25.0, 240.0),
        spo2=np.clip(np.rint(spo2), 60.0, 100.0),
        respiration_rate=np.clip(np.round(rr, 1), 4.0, 55.0),
        systolic_bp=sys_r,
        diastolic_bp=dia_r,
        temperature=np.clip(np.round(temp, 1), 32.0, 42.5),
        confused=confused,
    )
