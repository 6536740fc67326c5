"""Synthetic ``motion`` windows of a chest-worn tag: upright, walking, lying, and a fall.

No recorded data is copied: each window is built from the physics the posture model and the
fall rule read (docs/wire.md's axes: frontal, vertical, lateral, in milli-g; upright is
about [0, 1000, 0], lying on the back [1000, 0, 0]) plus seeded sensor noise, at an
irregular 1-4 Hz like a tag read only when powered:

* ``sitting``: upright, leaning back 10-25°, tiny sway;
* ``walking``: upright with the 1.5-2 Hz vertical bounce of steps (±150-300 mg) and sway;
* ``lying``: on the back or a side, still (a window that starts lying: going from upright
  to lying between two windows would be a jump no body makes, use ``lie_down``);
* ``lie_down``: upright for a third of the window, lying down over 3-5 s, then still;
* ``fall``: upright for the first third, then an impact (2-3 g, also in ``peak_mg``) and
  lying still to the end: what :class:`~models.posture.FallRule` calls a candidate.

:func:`motion_window` gives one reading as the wire contract has it, ready for
:func:`careloop.wire.data_message`; the tests, the bench and the demo use it.
:func:`activity_of` picks a window's activity from a simulated resident's postures over the
window and whether they fell in it, so a simulated tag tells the same story as the
resident's terminal (``edge.adapters.SimulatedAdapter``, role ``tag``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Activity = Literal["sitting", "walking", "lying", "lie_down", "fall"]
ACTIVITIES: tuple[str, ...] = ("sitting", "walking", "lying", "lie_down", "fall")


def _tilted(n: int, deg: float, rng: np.random.Generator, noise_mg: float) -> np.ndarray:
    """``n`` samples of gravity seen by a chest leaning ``deg`` back from vertical."""
    a = np.radians(deg)
    base = np.array([1000.0 * np.sin(a), 1000.0 * np.cos(a), 0.0])
    return base + rng.normal(0.0, noise_mg, (n, 3))


def motion_window(
    activity: Activity,
    start_ms: int,
    *,
    seconds: float = 30.0,
    rate_hz: float = 2.0,
    seed: int = 0,
) -> dict[str, Any]:
    """One window (a ``motion`` reading) of ``activity`` from ``start_ms``, ``seconds`` long."""
    rng = np.random.default_rng([seed, start_ms % 2**32, ACTIVITIES.index(activity)])
    n = max(2, round(seconds * rate_hz))
    # irregular sampling: steps of 0.5-1.5 times the nominal interval, first sample at 0
    gaps = rng.uniform(0.5, 1.5, n - 1) * (1000.0 / rate_hz)
    t = np.r_[0.0, np.cumsum(gaps)]
    t = np.round(t * (seconds * 1000.0 / max(t[-1], 1.0))).astype(np.int64)
    peak: np.ndarray | None = None
    if activity == "sitting":
        acc = _tilted(n, rng.uniform(10, 25), rng, 8.0)
    elif activity == "walking":
        acc = _tilted(n, rng.uniform(0, 10), rng, 40.0)
        phase = 2 * np.pi * rng.uniform(1.5, 2.0) * t / 1000.0
        acc[:, 1] += rng.uniform(150, 300) * np.sin(phase)
        acc[:, 0] += 80.0 * np.sin(phase / 2)
    elif activity == "lying":
        acc = _lying(n, rng)
    elif activity == "lie_down":
        acc = _lie_down(t, rng)
    else:
        acc, peak = _fall(n, rng)
    acc = np.clip(np.round(acc), -16_000, 16_000).astype(np.int64)
    if peak is None:
        peak = np.linalg.norm(acc, axis=1)
    window: dict[str, Any] = {
        "ts": int(start_ms + t[-1]),
        "start": int(start_ms),
        "rate_hz": float(rate_hz),
        "t_ms": t.tolist(),
        "acc_mg": acc.tolist(),
        "peak_mg": np.clip(np.round(peak), 0, 16_000).astype(np.int64).tolist(),
    }
    return window


def _lying(n: int, rng: np.random.Generator) -> np.ndarray:
    side = rng.integers(0, 3)  # back, left side, right side
    base = [np.array([990.0, 60.0, 40.0]), np.array([80.0, 60.0, 990.0])]
    b = base[0] if side == 0 else base[1] * (1 if side == 1 else np.array([1, 1, -1]))
    return b + rng.normal(0.0, 6.0, (n, 3))


def _fall(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Upright for a third of the window, an impact, then lying still."""
    k = max(2, n // 3)
    acc = np.vstack([_tilted(k, rng.uniform(0, 10), rng, 30.0), _lying(n - k, rng)])
    impact = np.array([rng.uniform(1200, 2000), rng.uniform(1500, 2300), rng.uniform(-400, 400)])
    acc[k] = impact
    peak = np.linalg.norm(acc, axis=1)
    peak[k] = max(peak[k], rng.uniform(2200, 3000))
    return acc, peak


def _lie_down(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Upright, then a smooth turn to lying over 3-5 s (no impact), then still."""
    n = len(t)
    up, down = _tilted(n, rng.uniform(0, 15), rng, 10.0), _lying(n, rng)
    t0 = t[-1] / 3.0
    w = np.clip((t - t0) / rng.uniform(3000, 5000), 0.0, 1.0)[:, None]
    mix = (1 - w) * up + w * down
    return mix * (1000.0 / np.maximum(np.linalg.norm(mix, axis=1), 1.0))[:, None]


def activity_of(postures: Sequence[str | None], fell: bool) -> Activity:
    """The window's activity from the postures of its readings (``careloop`` posture
    values, None where a reading had none) and whether a fall happened in it."""
    if fell:
        return "fall"
    known = [p for p in postures if p is not None]
    if not known:
        return "sitting"
    if known[-1] == "lying":
        return "lie_down" if known[0] != "lying" else "lying"
    walking = sum(p in ("walking", "standing") for p in known)
    return "walking" if walking * 2 > len(known) else "sitting"
