"""NAB's ``windowedGaussian`` detector, re-implemented to check the NAB scorer against NAB.

numenta/NAB publishes this simple detector's scores on every file; its definition is exact
(a Gaussian fitted to the last 6400 values, refitted every 100), so running it here and
scoring it with :mod:`models.evaluation.nab_scoring` must give NAB's published numbers. It is
a reference for the scorer, not a detector careloop uses.
"""

from __future__ import annotations

import math

import numpy as np

from models.base import ModelError, Observation, StreamingDetector
from models.state import State, StateReader


class WindowedGaussian(StreamingDetector):
    """Two-sided Gaussian tail of the value against a sliding window (NAB's definition)."""

    def __init__(self, *, field: str = "value", window: int = 6400, step: int = 100) -> None:
        self.field = field
        self.window = window
        self.step = step
        if not 1 <= step <= window:
            raise ModelError(f"step must be in [1, window], got step={step}, window={window}")
        # the fitted values, oldest first, in a preallocated array (no list -> array per refit)
        self._data = np.empty(window)
        self._n = 0
        self._buffer: list[float] = []
        self._mean = 0.0
        self._std = 1.0

    def score_one(self, x: Observation) -> float:
        if self._n == 0:
            return 0.0
        v = float(x[self.field])
        z = abs(v - self._mean) / self._std  # NAB mirrors values below the mean
        return 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0))

    def learn_one(self, x: Observation) -> None:
        v = float(x[self.field])
        if self._n < self.window:
            self._data[self._n] = v
            self._n += 1
            self._refit()
            return
        self._buffer.append(v)
        if len(self._buffer) == self.step:
            self._data[: -self.step] = self._data[self.step :]
            self._data[-self.step :] = self._buffer
            self._buffer = []
            self._refit()

    def _refit(self) -> None:
        data = self._data[: self._n]
        self._mean = float(np.mean(data))
        self._std = float(np.std(data)) or 0.000001

    def state(self) -> State:
        arrays = {
            "data": self._data[: self._n].copy(),
            "buffer": np.array(self._buffer, dtype=np.float64),
            "fit": np.array([self._mean, self._std]),
        }
        return {}, arrays

    def load_state(self, state: StateReader) -> None:
        data = state.array("data", np.float64, (None,))
        buffer = state.array("buffer", np.float64, (None,))
        if (
            len(data) > self.window
            or len(buffer) >= self.step
            or (len(buffer) and len(data) < self.window)
        ):
            state.fail(f"window of {len(data)} values and {len(buffer)} pending do not fit")
        self._n = len(data)
        self._data = np.empty(self.window)
        self._data[: self._n] = data
        self._buffer = buffer.tolist()
        self._mean, self._std = (float(v) for v in state.array("fit", np.float64, (2,)))
