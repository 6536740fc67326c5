"""Per-resident vital-sign baselines: is this reading unusual *for this resident, at this hour*?

A resident whose heart rate is usually 95 is not an alarm at 95; one whose usual is 60 is.
:class:`ResidentBaseline` keeps, per vital and per time-of-day bin (plus an all-day
estimate), a robust location and scale learned online, and scores a reading by its robust z
against them. One detector per resident; the streaming runtime keeps 10,000 of them, so the
whole state is one small float array (see :meth:`ResidentBaseline.state_nbytes`).

Estimation: an online Huber M-estimator. Each update moves the location by
``alpha * scale * clip(r, -c, c)`` and the log-scale by ``alpha * (clip(r)^2 / kappa - 1) / 2``,
where ``r`` is the residual in scale units and ``kappa = E[clip(Z)^2]`` makes the scale a
standard deviation at the normal. ``alpha = max(1/n, 1/memory)``: an exact running mean at
first, an exponential forgetting of about ``memory`` readings per bin later. Clipping bounds
the influence of any one reading, so a fever does not drag the baseline with it.

Time of day: ``bins`` equal bins of the resident's local day (``utc_offset_min``). A young
bin is shrunk towards the all-day estimate with weight ``n_bin / (n_bin + bin_warmup)``, so a
new resident is judged against the all-day estimate until the bin has its own. Nothing is
scored (0) until ``warmup`` readings of that vital were learned.

Direction: low SpO2 is bad, high SpO2 is not, so SpO2 scores ``max(0, -z)``; every other vital
scores ``|z|`` (too slow and too fast are both news). A reading's score is the largest vital
score in it; :meth:`ResidentBaseline.zscores_one` gives the signed z of each vital.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from models.base import ModelError, Observation, StreamingDetector
from models.state import State, StateReader

Direction = Literal["both", "low", "high"]
_DAY_MIN = 24 * 60


@dataclass(frozen=True, slots=True)
class VitalSpec:
    """How one vital is scored: which deviations count, the starting and the smallest scale."""

    name: str
    direction: Direction
    prior_scale: float
    min_scale: float


#: The vitals a baseline learns, with careloop's wire names and units. ``prior_scale`` is a
#: typical within-resident spread (the scale before any data); ``min_scale`` about the
#: device's resolution, so a very steady resident does not turn noise into huge z.
VITALS: tuple[VitalSpec, ...] = (
    VitalSpec("heart_rate", "both", 8.0, 2.0),
    VitalSpec("spo2", "low", 1.5, 0.8),
    VitalSpec("respiration_rate", "both", 2.5, 1.0),
    VitalSpec("systolic_bp", "both", 12.0, 4.0),
    VitalSpec("diastolic_bp", "both", 8.0, 3.0),
    VitalSpec("temperature", "both", 0.3, 0.1),
)
_INDEX = {v.name: i for i, v in enumerate(VITALS)}
_LOC, _SCALE, _N = 0, 1, 2


def huber_kappa(c: float) -> float:
    """``E[min(Z^2, c^2)]`` for a standard normal Z: the consistency factor of the scale."""
    phi = math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    inside = math.erf(c / math.sqrt(2.0))  # P(|Z| < c)
    return inside - 2.0 * c * phi + c * c * (1.0 - inside)


def robust_update(
    loc: Any,
    scale: Any,
    n: Any,
    x: Any,
    *,
    memory: float,
    clip: float,
    kappa: float,
    min_scale: Any,
    prior_scale: Any,
    prior_weight: float = 0.0,
) -> tuple[Any, Any, Any]:
    """One online Huber step: the new (location, scale, count) after seeing ``x``.

    The first value sets the location and ``prior_scale`` the scale; ``prior_weight`` counts
    the prior scale as that many extra observations (for short series, e.g. days). Works on
    floats and element-wise on numpy arrays alike: the streaming runtime updates thousands of
    residents' baselines in one call with exactly this step.
    """
    n = n + 1.0
    first = n == 1.0
    alpha = np.maximum(1.0 / n, 1.0 / memory)
    alpha_scale = np.maximum(1.0 / (n + prior_weight), 1.0 / memory)
    safe = np.where(first, 1.0, scale)  # the scale is 0 before the first value
    psi = np.clip((x - loc) / safe, -clip, clip)
    new_loc = np.where(first, x, loc + alpha * safe * psi)
    grown = safe * np.exp(0.5 * alpha_scale * (psi * psi / kappa - 1.0))
    new_scale = np.where(first, np.maximum(prior_scale, min_scale), grown)
    return new_loc, np.maximum(new_scale, min_scale), n


def as_number(value: Any) -> float | None:
    """A finite float, or None for anything missing (None, NaN, a non-number)."""
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


class ResidentBaseline(StreamingDetector):
    """Robust per-resident, per-time-of-day baseline of the vitals; score = robust z.

    Parameters are stored unchanged; see the module docstring for what each one does.
    ``memory`` counts readings of one vital in one bin (the all-day estimate forgets
    ``bins`` times slower, so both span about the same days).
    """

    def __init__(
        self,
        bins: int = 6,
        warmup: int = 144,
        bin_warmup: int = 24,
        memory: int = 2000,
        clip: float = 2.5,
        utc_offset_min: int = 0,
    ) -> None:
        self.bins = bins
        self.warmup = warmup
        self.bin_warmup = bin_warmup
        self.memory = memory
        self.clip = clip
        self.utc_offset_min = utc_offset_min
        self._check()
        self._kappa = huber_kappa(float(clip))
        # [location | scale | count] x vital x (bins..., all-day): one array, one allocation.
        self._state = np.zeros((3, len(VITALS), bins + 1), dtype=np.float64)

    def _check(self) -> None:
        if not (isinstance(self.bins, int) and 1 <= self.bins <= 48):
            raise ModelError(f"bins must be an int in 1..48, not {self.bins!r}")
        for name in ("warmup", "bin_warmup"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 0):
                raise ModelError(f"{name} must be an int >= 0")
        if not self.memory >= 2:
            raise ModelError(f"memory must be >= 2, not {self.memory!r}")
        if not self.clip > 0:
            raise ModelError(f"clip must be > 0, not {self.clip!r}")

    # -- time of day -------------------------------------------------------------------------
    def _bin(self, x: Observation) -> int | None:
        ts = as_number(x.get("ts"))
        if ts is None:
            return None
        minute = (ts / 60_000.0 + self.utc_offset_min) % _DAY_MIN
        return min(int(minute * self.bins // _DAY_MIN), self.bins - 1)

    def _estimate(self, i: int, b: int | None) -> tuple[float, float]:
        s = self._state
        loc, scale = float(s[_LOC, i, -1]), float(s[_SCALE, i, -1])
        if b is None or self.bins == 1:
            return loc, scale
        n_bin = float(s[_N, i, b])
        if n_bin == 0.0:
            return loc, scale
        w = n_bin / (n_bin + self.bin_warmup)
        return (
            w * float(s[_LOC, i, b]) + (1.0 - w) * loc,
            w * float(s[_SCALE, i, b]) + (1.0 - w) * scale,
        )

    # -- the detector --------------------------------------------------------------------------
    def zscores_one(self, x: Observation) -> dict[str, float]:
        """Signed robust z of each vital in ``x`` against this resident's baseline.

        Vitals absent from ``x`` are absent here; a vital still warming up gives 0.
        """
        b = self._bin(x)
        out: dict[str, float] = {}
        for spec in VITALS:
            v = as_number(x.get(spec.name))
            if v is None:
                continue
            i = _INDEX[spec.name]
            if self._state[_N, i, -1] < max(self.warmup, 1):
                out[spec.name] = 0.0
                continue
            loc, scale = self._estimate(i, b)
            out[spec.name] = (v - loc) / scale
        return out

    def score_one(self, x: Observation) -> float:
        """The largest direction-aware robust z among the vitals in ``x`` (0 when none)."""
        worst = 0.0
        for name, z in self.zscores_one(x).items():
            direction = VITALS[_INDEX[name]].direction
            s = abs(z) if direction == "both" else (-z if direction == "low" else z)
            worst = max(worst, s)
        return worst

    def learn_one(self, x: Observation) -> None:
        b = self._bin(x)
        s = self._state
        for spec in VITALS:
            v = as_number(x.get(spec.name))
            if v is None:
                continue
            i = _INDEX[spec.name]
            targets = [(-1, float(self.memory * self.bins))]
            if b is not None and self.bins > 1:
                targets.append((b, float(self.memory)))
            for j, memory in targets:
                loc, scale, n = robust_update(
                    float(s[_LOC, i, j]),
                    float(s[_SCALE, i, j]),
                    float(s[_N, i, j]),
                    v,
                    memory=memory,
                    clip=self.clip,
                    kappa=self._kappa,
                    min_scale=spec.min_scale,
                    prior_scale=spec.prior_scale,
                )
                s[_LOC, i, j], s[_SCALE, i, j], s[_N, i, j] = loc, scale, n

    # -- introspection -----------------------------------------------------------------------
    def baseline(self, vital: str, *, hour: float | None = None) -> tuple[float, float, int]:
        """(location, scale, readings learned) of ``vital``, all-day or at a local ``hour``."""
        if vital not in _INDEX:
            raise ModelError(f"unknown vital {vital!r}; one of {list(_INDEX)}")
        i = _INDEX[vital]
        b = None if hour is None else min(int((hour % 24) * self.bins // 24), self.bins - 1)
        loc, scale = self._estimate(i, b)
        return loc, scale, int(self._state[_N, i, -1])

    def state_nbytes(self) -> int:
        """Bytes of learned state held in memory (the one float array's data)."""
        return int(self._state.nbytes)

    def state(self) -> State:
        return {}, {"baseline": self._state.copy()}

    def load_state(self, state: StateReader) -> None:
        self._state = state.array("baseline", np.float64, self._state.shape)
