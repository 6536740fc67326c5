"""From distances to alarms: per-channel calibration, then one report per episode.

Both pieces are small state machines fed one value per observation, always asked first
(``ratio`` / ``report``, no state change) and told second (``learn``), like the detector:

* :class:`Calibration` turns one window length's novelty distance into a ratio to the usual
  novelty of that length (its ``quantile`` over the last ``history`` distances), so ratios of
  different lengths, units and noise levels can be compared and maximised over;
* :class:`AlarmDiscipline` turns the largest ratio into a report: only the onset of an
  episode, and nothing more for ``refractory`` steps after an alarm unless it escalates.

They are public so that an evaluation can replay several alarm settings over distances
computed once (:mod:`models.stream_anomaly.designs`); the detector uses the very same code.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from models.state import State, StateReader, nest
from models.stream_anomaly.memory import RollingQuantile


class Calibration:
    """Ratio of a distance to the usual distances of its channel, once enough are known.

    The first ``skip`` finite distances are not kept: they come from a nearly empty memory
    and are not the usual novelty. The ratio is 0 until ``warmup`` distances are kept, since a
    99th percentile of a few dozen values is little more than their maximum, and a new channel
    would otherwise alarm on its first ordinary wobble.
    """

    def __init__(self, *, skip: int, history: int, quantile: float, warmup: int) -> None:
        self.skip = skip
        self.quantile = quantile
        self.warmup = warmup
        self._usual = RollingQuantile(history)
        self._skipped = 0

    def __len__(self) -> int:
        return len(self._usual)

    def ratio(self, d: float, floor: float) -> float:
        """``d`` over the usual distance (never below ``floor``); 0 while warming up."""
        if not math.isfinite(d) or len(self._usual) < self.warmup:
            return 0.0
        return d / max(self._usual.quantile(self.quantile), floor)

    def learn(self, d: float) -> None:
        """Keep ``d`` as one of the usual distances (non-finite ones are ignored)."""
        if not math.isfinite(d):
            return
        if self._skipped < self.skip:
            self._skipped += 1
        else:
            self._usual.add(d)

    def state(self) -> State:
        return nest({"skipped": self._skipped}, {"usual": self._usual.state()})

    def load_state(self, state: StateReader) -> None:
        self._skipped = state.integer("skipped", lo=0, hi=self.skip)
        self._usual.load_state(state.scope("usual"))


class AlarmDiscipline:
    """One early report per episode, as a care team and NAB's scoring both want.

    * a ratio is reported only when it beats every ratio of the last ``refractory`` steps, so
      a lasting anomaly reports its onset, not every step it goes on;
    * after an alarm (a report ``>= alarm_ratio``) reports are silenced for ``refractory``
      steps unless the episode becomes ``escalation`` times more novel.
    """

    def __init__(self, *, refractory: int, alarm_ratio: float, escalation: float) -> None:
        self.refractory = refractory
        self.alarm_ratio = alarm_ratio
        self.escalation = escalation
        self._step = 0
        self._recent: deque[tuple[int, float]] = deque()  # (step, raw), raw decreasing
        self._alarm_until = -1
        self._alarm_raw = 0.0

    def report(self, raw: float) -> float:
        """What to report for this step's largest ratio ``raw`` (0 = nothing)."""
        if self._recent and raw <= self._recent[0][1]:
            return 0.0  # not above the recent maximum: the episode was already reported
        if self._step <= self._alarm_until and raw < self.escalation * self._alarm_raw:
            return 0.0
        return raw

    def learn(self, raw: float, reported: float) -> None:
        """Advance one step: keep the running maximum of raw ratios and the alarm state."""
        while self._recent and self._recent[0][0] <= self._step - self.refractory:
            self._recent.popleft()
        while self._recent and self._recent[-1][1] <= raw:
            self._recent.pop()
        if self.refractory > 0:
            self._recent.append((self._step, raw))
        if reported >= self.alarm_ratio:
            self._alarm_until = self._step + self.refractory
            self._alarm_raw = reported
        self._step += 1

    def state(self) -> State:
        doc = {"step": self._step, "alarm_until": self._alarm_until}
        arrays = {
            "recent_step": np.array([s for s, _ in self._recent], dtype=np.int64),
            "recent_raw": np.array([r for _, r in self._recent], dtype=np.float64),
            "alarm_raw": np.array(self._alarm_raw, dtype=np.float64),
        }
        return doc, arrays

    def load_state(self, state: StateReader) -> None:
        steps = state.array("recent_step", np.int64, (None,))
        raws = state.array("recent_raw", np.float64, (len(steps),))
        self._step = state.integer("step", lo=0)
        self._alarm_until = state.integer("alarm_until", lo=-1)
        self._alarm_raw = float(state.array("alarm_raw", np.float64, ()))
        self._recent = deque(zip(steps.tolist(), raws.tolist(), strict=True))
