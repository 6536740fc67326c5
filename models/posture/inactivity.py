"""Inactivity of a resident, streamed over careloop's ``posture`` / ``activity`` fields.

:class:`InactivityDetector` (one per resident) scores the time since the resident last moved,
weighted by how rarely they lie down at that hour, plus a term for lying at an hour they
usually do not. Night sleep scores low because the resident's own hour-of-day lying profile
says it is usual.
"""

from __future__ import annotations

import numpy as np

from models.base import ModelError, Observation, StreamingDetector
from models.state import State, StateReader

_HOUR_MS = 3_600_000


class InactivityDetector(StreamingDetector):
    """Per resident: long stillness at hours they are usually up, and unusual lying.

    Observations carry ``ts`` (epoch ms) and careloop's ``posture``; ``steps`` > 0 or
    ``activity`` >= ``moving_met`` also count as moving. Score (higher = more concerning):
    ``(1 - p) * hours_still / still_limit_h + (1 - p if lying else 0)``, where ``p`` is the
    resident's smoothed share of readings lying at this local hour (``prior`` pseudo-readings
    at 0.5) and ``hours_still`` the time since the last movement.
    """

    def __init__(
        self,
        still_limit_h: float = 3.0,
        prior: float = 4.0,
        moving_met: float = 2.0,
        utc_offset_h: float = 0.0,
    ) -> None:
        self.still_limit_h = still_limit_h
        self.prior = prior
        self.moving_met = moving_met
        self.utc_offset_h = utc_offset_h
        if still_limit_h <= 0 or prior <= 0:
            raise ModelError("still_limit_h and prior must be > 0")
        self._lying = np.zeros(24)
        self._seen = np.zeros(24)
        self._last_move_ms: float | None = None

    def _hour(self, ts_ms: float) -> int:
        return int(((ts_ms / _HOUR_MS) + self.utc_offset_h) % 24)

    def _moving(self, x: Observation) -> bool:
        if x.get("posture") == "walking":
            return True
        steps, met = x.get("steps"), x.get("activity")
        return bool(
            (steps is not None and steps > 0) or (met is not None and met >= self.moving_met)
        )

    def lying_share(self, ts_ms: float) -> float:
        """The resident's smoothed share of readings lying at the local hour of ``ts_ms``."""
        h = self._hour(ts_ms)
        return float((self._lying[h] + 0.5 * self.prior) / (self._seen[h] + self.prior))

    def hours_still(self, x: Observation) -> float:
        """Hours since the last movement before ``x`` (0 if ``x`` moves or nothing seen yet)."""
        if self._moving(x) or self._last_move_ms is None:
            return 0.0
        return max(0.0, (float(x["ts"]) - self._last_move_ms) / _HOUR_MS)

    def score_one(self, x: Observation) -> float:
        """Stillness at an unusual hour plus unusual lying."""
        unusual = 1.0 - self.lying_share(float(x["ts"]))
        lying = unusual if x.get("posture") == "lying" else 0.0
        return unusual * self.hours_still(x) / self.still_limit_h + lying

    def learn_one(self, x: Observation) -> None:
        """Update the hour-of-day lying profile and the last movement time."""
        ts = float(x["ts"])
        h = self._hour(ts)
        self._seen[h] += 1
        self._lying[h] += x.get("posture") == "lying"
        if self._moving(x) or self._last_move_ms is None:
            self._last_move_ms = ts

    def state(self) -> State:
        doc = {"last_move_ms": self._last_move_ms}
        return doc, {"lying": self._lying.copy(), "seen": self._seen.copy()}

    def load_state(self, state: StateReader) -> None:
        self._last_move_ms = state.optional_number("last_move_ms")
        self._lying = state.array("lying", np.float64, (24,))
        self._seen = state.array("seen", np.float64, (24,))
