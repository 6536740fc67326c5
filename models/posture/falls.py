"""Fall candidates: a sharp impact out of an upright posture, then lying still.

The older adults' data has no falls, so this is a rule, stated in physical units and checked
on synthetic windows (``tests/models/test_posture_falls.py``) and for false alarms on the
data's real lie-downs (``docs/evaluation/adl.md``). A **fall candidate** is:

1. **a sharp event** at sample ``j``: the acceleration magnitude (or the device's ``peak_g``
   since the previous sample, when it sends one) reaches ``impact_g``, or the acceleration
   changes by at least ``jolt_g`` from a sample at most ``jolt_window_s`` earlier. Turning the
   body alone cannot do that: a 90° rotation of 1 g changes the vector by √2 = 1.41 g, so the
   default 1.5 g needs an impact on top;
2. **out of upright**: some sample in the ``before_s`` seconds before ``j`` is upright (tilt
   from vertical at most ``upright_deg``);
3. **into lying**: a lying sample (tilt at least ``lying_deg``) within ``transition_s`` after
   ``j``;
4. **then lying still**: from that sample to the end of the window, every sample is lying and
   moves less than ``still_g`` from the one before, no gap exceeds ``max_gap_s``, and the still
   stretch lasts at least ``still_s``.

A slow sampler (the RFID tag updates about once a second) mostly misses an impact's peak
(100-odd ms): that is what ``peak_g`` is for, a maximum the device keeps at its own rate. On
the data's 4.7 hours of scripted activity (about 70 lie-downs on a bed, no falls) these
defaults give no candidate; with ``jolt_g`` 1.0 they give one (a brisk lie-down after a
walk). A candidate is for the scorer to weigh (with the device's own
``fall_detected`` event, the time of day, and whether the resident then gets up), not an alarm
by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.base import ModelError


@dataclass(frozen=True)
class FallCandidate:
    """Where the rule fired: the sharp sample's time and size, and how long stillness lasted."""

    onset_s: float
    peak_g: float
    jolt_g: float
    still_s: float


def tilt_deg(acc: NDArray[Any]) -> NDArray[np.float64]:
    """Angle (degrees) between each sample's vertical axis and its acceleration: ~0 upright,
    ~90 lying."""
    a = np.asarray(acc, dtype=float)
    mag = np.linalg.norm(a, axis=1)
    return np.degrees(np.arccos(np.clip(a[:, 1] / np.maximum(mag, 1e-6), -1.0, 1.0)))


@dataclass(frozen=True)
class FallRule:
    """The thresholds of a fall candidate (see the module docstring)."""

    impact_g: float = 1.8
    jolt_g: float = 1.5
    jolt_window_s: float = 1.5
    before_s: float = 3.0
    upright_deg: float = 45.0
    lying_deg: float = 60.0
    transition_s: float = 3.0
    still_s: float = 10.0
    still_g: float = 0.15
    max_gap_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 <= self.upright_deg < self.lying_deg <= 180:
            raise ModelError("need 0 <= upright_deg < lying_deg <= 180")
        if min(self.impact_g, self.jolt_g, self.still_s, self.still_g, self.max_gap_s) <= 0:
            raise ModelError("fall rule thresholds must be > 0")

    def lying(self, acc: NDArray[Any]) -> NDArray[np.bool_]:
        """Which samples (g, frontal/vertical/lateral) are lying: tilt from vertical at
        least ``lying_deg``."""
        return np.asarray(tilt_deg(acc) >= self.lying_deg)

    def check(
        self, t_s: NDArray[Any], acc: NDArray[Any], peak_g: NDArray[Any] | None = None
    ) -> FallCandidate | None:
        """The latest fall candidate in a window of samples (time order), or None.

        ``peak_g`` (optional, per sample): the largest magnitude the device measured since the
        previous sample.
        """
        t = np.asarray(t_s, dtype=float)
        a = np.asarray(acc, dtype=float)
        if len(t) < 2:
            return None
        mag = np.linalg.norm(a, axis=1)
        peak = mag if peak_g is None else np.maximum(mag, np.asarray(peak_g, dtype=float))
        tilt = tilt_deg(a)
        lying = tilt >= self.lying_deg
        step = np.r_[0.0, np.linalg.norm(np.diff(a, axis=0), axis=1)]
        # the still stretch at the end: lying samples, small steps, no long gap
        still = lying & (step < self.still_g)
        still[1:] &= np.diff(t) <= self.max_gap_s
        start = len(t) - 1
        if not lying[start]:
            return None
        while start > 0 and still[start]:
            start -= 1
        # `start` is the first lying sample of the stretch (its own step may be the fall)
        if not lying[start]:
            start += 1
        if t[-1] - t[start] < self.still_s:
            return None
        for j in range(start, -1, -1):  # latest sharp event first
            if t[start] - t[j] > self.transition_s:
                break
            jolt = self._jolt(t, a, j)
            if peak[j] < self.impact_g and jolt < self.jolt_g:
                continue
            before = (t >= t[j] - self.before_s) & (t < t[j])
            if np.any(before & (tilt <= self.upright_deg)):
                return FallCandidate(float(t[j]), float(peak[j]), jolt, float(t[-1] - t[start]))
        return None

    def _jolt(self, t: NDArray[np.float64], a: NDArray[np.float64], j: int) -> float:
        near = np.flatnonzero((t >= t[j] - self.jolt_window_s) & (np.arange(len(t)) < j))
        if len(near) == 0:
            return 0.0
        return float(np.max(np.linalg.norm(a[near] - a[j], axis=1)))
