"""Slow decline over days: a one-sided CUSUM on daily aggregates, against the resident's own
baseline.

A decline (resting heart rate creeping up, less daytime activity, shorter nights) is invisible
in any single reading and even in any single day; it shows as days that are *consistently*
a little worse than this resident's usual. :class:`DeclineDetector` folds readings into one
row per care day, standardises each daily aggregate by the resident's own robust baseline of
past days, and accumulates the evidence with a one-sided CUSUM per aggregate and one on their
standardised sum. Higher score = more evidence of decline (in baseline standard deviations,
accumulated over days).

* **Care day** = noon to noon in the resident's local time (``utc_offset_min``), so one day
  holds an afternoon, a whole night and a morning. A day closes when the first reading of a
  later day arrives.
* **Daily aggregates** (worse direction in brackets): resting heart rate, the mean heart rate
  while ``activity`` < ``rest_met`` [up]; daytime activity, the mean ``activity`` 08:00-20:00
  [down]; night in bed, the share of 22:00-07:00 readings with ``bed_occupied`` [down]. An
  aggregate with fewer than ``min_readings`` readings in a day is skipped for that day.
* **CUSUM**: ``S = max(0, S + min(z, z_cap) - k)`` with ``k`` the allowance in baseline SDs;
  capping z means one odd day (an outing, a bad night) cannot raise an alarm alone.
* **Warm-up**: each aggregate's first ``warmup_days`` valid days only build its baseline;
  the score is 0 until then.
* **Hysteresis**: the baseline learns a day only while the score is below ``freeze``, so a
  decline is not absorbed into "normal" while it is being accumulated. The CUSUM resets by
  itself (to 0, at ``k`` per day) when days come back to the baseline. If a carer decides
  the change is the resident's new normal, :meth:`DeclineDetector.rebaseline` forgets the
  baseline and the evidence and starts a new warm-up.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.base import ModelError, Observation, StreamingDetector
from models.baseline import as_number, huber_kappa, robust_update
from models.state import State, StateReader

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000

#: name, worse direction (+1 up, -1 down), prior day-to-day SD, smallest SD.
AGGREGATES: tuple[tuple[str, float, float, float], ...] = (
    ("resting_hr", +1.0, 2.5, 1.0),
    ("day_activity", -1.0, 0.08, 0.03),
    ("night_in_bed", -1.0, 0.06, 0.02),
)
_F = len(AGGREGATES)
# Accumulator columns of the open day: (sum, count) per aggregate.
_SUM, _CNT = 0, 1


def daily_terms(
    hour: NDArray[np.float64],
    hr: NDArray[np.float64],
    act: NDArray[np.float64],
    bed: NDArray[np.float64],
    *,
    rest_met: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """What each reading adds to its day's aggregates: ``(sums, counts)``, shape (n, 3).

    ``hour`` is the local hour of day; missing values are NaN; ``bed`` is 0/1. Resting heart
    rate counts readings with ``activity < rest_met``; daytime activity 08:00-20:00; night in
    bed 22:00-07:00.
    """
    rest = ~np.isnan(hr) & ~np.isnan(act) & (act < rest_met)
    day = ~np.isnan(act) & (hour >= 8.0) & (hour < 20.0)
    night = ~np.isnan(bed) & ((hour >= 22.0) | (hour < 7.0))
    counts = np.stack([rest, day, night], axis=1).astype(np.float64)
    sums = np.stack(
        [np.where(rest, hr, 0.0), np.where(day, act, 0.0), np.where(night, bed, 0.0)], axis=1
    )
    return sums, counts


def care_day(ts_ms: Any, utc_offset_min: Any) -> Any:
    """The care day (noon to noon, local) of ``ts_ms``; works on arrays too."""
    return (ts_ms + utc_offset_min * 60_000 - 12 * _HOUR_MS) // _DAY_MS


class DeclineDetector(StreamingDetector):
    """One-sided CUSUM on a resident's daily aggregates; see the module docstring."""

    def __init__(
        self,
        warmup_days: int = 4,
        k: float = 0.5,
        z_cap: float = 3.0,
        freeze: float = 2.0,
        memory_days: int = 28,
        min_readings: int = 12,
        rest_met: float = 1.4,
        utc_offset_min: int = 0,
    ) -> None:
        self.warmup_days = warmup_days
        self.k = k
        self.z_cap = z_cap
        self.freeze = freeze
        self.memory_days = memory_days
        self.min_readings = min_readings
        self.rest_met = rest_met
        self.utc_offset_min = utc_offset_min
        if not (isinstance(warmup_days, int) and warmup_days >= 1):
            raise ModelError(f"warmup_days must be an int >= 1, not {warmup_days!r}")
        if not (k >= 0 and z_cap > k and freeze > 0 and memory_days >= 2):
            raise ModelError("need k >= 0, z_cap > k, freeze > 0 and memory_days >= 2")
        self._kappa = huber_kappa(2.5)
        self._day = -1  # care-day index of the open day (-1: none yet)
        self._acc = np.zeros((2, _F), dtype=np.float64)  # the open day's sums and counts
        self._base = np.zeros((3, _F), dtype=np.float64)  # location, scale, days learned
        self._cusum = np.zeros(_F + 1, dtype=np.float64)  # per aggregate, then the joint one
        self.days_closed = 0

    # -- time -----------------------------------------------------------------------------
    def _local_ms(self, ts: float) -> float:
        return ts + self.utc_offset_min * 60_000.0

    def _care_day(self, ts: float) -> int:
        return int(care_day(ts, self.utc_offset_min))

    # -- the detector -----------------------------------------------------------------------
    def score_one(self, x: Observation) -> float:
        """The current evidence of decline: the largest CUSUM (0 during warm-up)."""
        return float(self._cusum.max())

    def learn_one(self, x: Observation) -> None:
        ts = as_number(x.get("ts"))
        if ts is None:
            return  # a reading without a time cannot be put in a day
        day = self._care_day(ts)
        if day > self._day:
            if self._day >= 0:
                self._close_day()
            self._day = day
            self._acc[:] = 0.0
        elif day < self._day:
            return  # a late reading of a closed day: its day is already judged
        self._accumulate(x, self._local_ms(ts))

    def _accumulate(self, x: Observation, local_ms: float) -> None:
        hr, act = as_number(x.get("heart_rate")), as_number(x.get("activity"))
        bed = x.get("bed_occupied")
        sums, counts = daily_terms(
            np.array([(local_ms % _DAY_MS) / _HOUR_MS]),
            np.array([np.nan if hr is None else hr]),
            np.array([np.nan if act is None else act]),
            np.array([float(bed) if isinstance(bed, bool) else np.nan]),
            rest_met=self.rest_met,
        )
        self._acc[_SUM] += sums[0]
        self._acc[_CNT] += counts[0]

    def close_day(self, day: int, sums: NDArray[np.float64], counts: NDArray[np.float64]) -> None:
        """Close care day ``day`` from its aggregate sums and counts (see :func:`daily_terms`).

        The streaming runtime accumulates the day for thousands of residents in arrays and
        hands each detector its day here, so the judging is the same code either way.
        """
        if day <= self._day:
            return  # already judged
        self._day = day
        self._acc[_SUM], self._acc[_CNT] = sums, counts
        self._close_day()
        self._acc[:] = 0.0

    def _close_day(self) -> None:
        """Standardise the open day's aggregates, update the CUSUMs, then maybe the baseline."""
        self.days_closed += 1
        learn = self._cusum.max() < self.freeze
        zs: list[float] = []
        for f, (_, sign, prior, floor) in enumerate(AGGREGATES):
            if self._acc[_CNT, f] < self.min_readings:
                continue
            value = float(self._acc[_SUM, f] / self._acc[_CNT, f])
            loc, scale, n = (float(v) for v in self._base[:, f])
            if n >= self.warmup_days:
                z = min(sign * (value - loc) / scale, self.z_cap)
                self._cusum[f] = max(0.0, self._cusum[f] + z - self.k)
                zs.append(z)
            if learn or n < self.warmup_days:
                self._base[:, f] = robust_update(
                    loc,
                    scale,
                    n,
                    value,
                    memory=float(self.memory_days),
                    clip=2.5,
                    kappa=self._kappa,
                    min_scale=floor,
                    prior_scale=prior,
                    prior_weight=float(self.warmup_days),
                )
        if zs:
            joint = min(sum(zs) / math.sqrt(len(zs)), self.z_cap)
            self._cusum[-1] = max(0.0, self._cusum[-1] + joint - self.k)

    # -- care actions and introspection -----------------------------------------------------
    def rebaseline(self) -> None:
        """Accept the present as the new normal: forget the baseline and the evidence."""
        self._base[:] = 0.0
        self._cusum[:] = 0.0

    def evidence(self) -> dict[str, float]:
        """The CUSUM of each daily aggregate and of their standardised sum ("joint")."""
        names = [name for name, *_ in AGGREGATES] + ["joint"]
        return {name: float(v) for name, v in zip(names, self._cusum, strict=True)}

    def state_nbytes(self) -> int:
        """Bytes of learned state held in arrays (plus two Python ints)."""
        return int(self._acc.nbytes + self._base.nbytes + self._cusum.nbytes)

    def state(self) -> State:
        doc = {"day": self._day, "days_closed": self.days_closed}
        return doc, {
            "day_sums": self._acc.copy(),
            "base": self._base.copy(),
            "cusum": self._cusum.copy(),
        }

    def load_state(self, state: StateReader) -> None:
        self._day = state.integer("day", lo=-1)
        self.days_closed = state.integer("days_closed", lo=0)
        self._acc = state.array("day_sums", np.float64, self._acc.shape)
        self._base = state.array("base", np.float64, self._base.shape)
        self._cusum = state.array("cusum", np.float64, self._cusum.shape)
