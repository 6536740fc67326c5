"""A streaming univariate anomaly detector: multi-scale pattern novelty with alarm discipline.

Three stages, each its own module:

1. :class:`~models.stream_anomaly.channels.PatternChannels`: for each window length (a few
   samples up to about a day), the distance of the latest window to the nearest shape seen at
   least ``min_count`` times before it;
2. :class:`~models.stream_anomaly.alarm.Calibration`, one per length: that distance divided by
   the ``quantile`` of the length's own recent distances, so "3" means three times as novel as
   the series usually gets, whatever its units or noise; a length scores only once
   ``warmup`` distances are known. The raw score is the largest ratio over lengths;
3. :class:`~models.stream_anomaly.alarm.AlarmDiscipline`: one early report per episode, no
   repeats for ``refractory`` steps after an alarm (``>= alarm_ratio``) unless it escalates.

The reported ratio ``r`` is returned as ``r / (1 + r)`` in ``[0, 1)``: 0.5 is the usual
99th-percentile novelty, ``alarm_ratio`` 1.5 is 0.6. Observations are dicts with the watched
``field`` (``"value"`` by default, e.g. ``"heart_rate"`` on careloop's wire) and optionally
``"ts"`` (epoch milliseconds, as on the wire), which adds a day-long window once the sampling
interval is known. A missing or non-finite reading scores 0 and is not learned.

The defaults are the ``"multiscale"`` design of :mod:`models.stream_anomaly.designs`, chosen
among a few candidates by leaving whole NAB categories out (docs/evaluation/nab.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from models.base import ModelError, Observation, StreamingDetector
from models.state import State, StateReader, nest
from models.stream_anomaly.alarm import AlarmDiscipline, Calibration
from models.stream_anomaly.channels import Measurement, PatternChannels

Transform = Literal["none", "sqrt", "log1p"]


def read_observation(
    x: Observation, field: str, transform: Transform = "none"
) -> tuple[float, float | None] | None:
    """``(value, epoch ms or None)`` of ``x``; None if the value is missing or not finite.

    ``transform`` stabilises the variance of counts ("sqrt": a Poisson count's noise no longer
    grows with its level, so a quiet night and a busy afternoon are judged on one scale;
    negative values count as 0) or of positive heavy-tailed values ("log1p").
    """
    raw = x.get(field)
    if raw is None or isinstance(raw, bool):
        return None
    v = float(raw)
    if not math.isfinite(v):
        return None
    if transform == "sqrt":
        v = math.sqrt(max(v, 0.0))
    elif transform == "log1p":
        v = math.log1p(max(v, 0.0))
    ts = x.get("ts")
    if isinstance(ts, datetime):
        return v, ts.timestamp() * 1000.0
    return v, (float(ts) if ts is not None else None)


@dataclass(frozen=True)
class _Evaluation:
    measurement: Measurement
    raw: float
    reported: float


class MultiScaleNovelty(StreamingDetector):
    """Multi-scale nearest-pattern novelty with online calibration and alarm suppression."""

    def __init__(
        self,
        *,
        field: str = "value",
        transform: Transform = "none",
        scales: Sequence[int] = (1, 8, 32, 128, 512),
        bins: int = 8,
        day_scale: bool = True,
        radius: float = 0.02,
        min_count: int = 2,
        capacity: int = 3000,
        history: int = 4000,
        quantile: float = 0.99,
        warmup: int = 100,
        alarm_ratio: float = 1.5,
        refractory: int = 300,
        escalation: float = 3.0,
        seed: int = 0,
    ) -> None:
        self.field = field
        self.transform = transform
        self.scales = scales
        self.bins = bins
        self.day_scale = day_scale
        self.radius = radius
        self.min_count = min_count
        self.capacity = capacity
        self.history = history
        self.quantile = quantile
        self.warmup = warmup
        self.alarm_ratio = alarm_ratio
        self.refractory = refractory
        self.escalation = escalation
        self.seed = seed
        self._check()
        self._channels = PatternChannels(
            scales=scales,
            bins=bins,
            day_scale=day_scale,
            radius=radius,
            min_count=min_count,
            capacity=capacity,
            seed=seed,
        )
        self._calibrations = [self._calibration(n) for n in self._channels.lengths]
        self._discipline = AlarmDiscipline(
            refractory=refractory, alarm_ratio=alarm_ratio, escalation=escalation
        )
        self._cached: tuple[tuple[float, float | None], _Evaluation] | None = None

    def _check(self) -> None:
        if not self.scales or any(int(n) != n or n < 1 for n in self.scales):
            raise ModelError(f"scales must be positive integers, got {self.scales!r}")
        if self.bins < 1 or self.capacity < 1 or self.min_count < 1 or self.warmup < 1:
            raise ModelError("bins, capacity, min_count and warmup must be >= 1")
        if self.history < self.warmup:
            raise ModelError(f"history ({self.history}) must be >= warmup ({self.warmup})")
        if not 0.5 <= self.quantile < 1.0 or self.radius < 0 or self.refractory < 0:
            raise ModelError("quantile must be in [0.5, 1), radius and refractory >= 0")
        if self.alarm_ratio <= 0 or self.escalation < 1:
            raise ModelError("alarm_ratio must be > 0 and escalation >= 1")
        if self.transform not in ("none", "sqrt", "log1p"):
            raise ModelError(f"transform must be none, sqrt or log1p, got {self.transform!r}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise ModelError(f"seed must be a non-negative integer, got {self.seed!r}")

    def _calibration(self, length: int) -> Calibration:
        # The first `length` distances come from a nearly empty memory: not the usual novelty.
        return Calibration(
            skip=length, history=self.history, quantile=self.quantile, warmup=self.warmup
        )

    @property
    def window_lengths(self) -> tuple[int, ...]:
        """The window lengths in use, the day window included once it is known."""
        return self._channels.lengths

    @property
    def alarm_score(self) -> float:
        """The score an alarm reaches: ``alarm_ratio`` on the ``[0, 1)`` scale."""
        return self.alarm_ratio / (1.0 + self.alarm_ratio)

    def _read(self, x: Observation) -> tuple[float, float | None] | None:
        return read_observation(x, self.field, self.transform)

    # -- scoring -------------------------------------------------------------------------
    def _evaluate(self, key: tuple[float, float | None]) -> _Evaluation:
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        m = self._channels.measure(key[0])
        raw = 0.0
        for cal, d in zip(self._calibrations, m.distances, strict=True):
            raw = max(raw, cal.ratio(d, m.floor))
        ev = _Evaluation(m, raw, self._discipline.report(raw))
        self._cached = (key, ev)
        return ev

    def score_one(self, x: Observation) -> float:
        key = self._read(x)
        if key is None:
            return 0.0
        r = self._evaluate(key).reported
        return r / (1.0 + r)

    # -- learning ------------------------------------------------------------------------
    def learn_one(self, x: Observation) -> None:
        key = self._read(x)
        if key is None:
            return
        ev = self._evaluate(key)
        self._cached = None
        for cal, d in zip(self._calibrations, ev.measurement.distances, strict=True):
            cal.learn(d)
        self._discipline.learn(ev.raw, ev.reported)
        self._channels.learn(key[0], key[1], ev.measurement)
        for n in self._channels.lengths[len(self._calibrations) :]:  # the day window, once
            self._calibrations.append(self._calibration(n))

    # -- state ---------------------------------------------------------------------------
    def state(self) -> State:
        """Channels, one calibration per window length, the alarm discipline (the cached
        evaluation is not state: :meth:`learn_one` recomputes it if needed)."""
        parts = {f"calibration{i}": c.state() for i, c in enumerate(self._calibrations)}
        parts |= {"channels": self._channels.state(), "discipline": self._discipline.state()}
        return nest({}, parts)

    def load_state(self, state: StateReader) -> None:
        self._channels.load_state(state.scope("channels"))
        self._calibrations = [self._calibration(n) for n in self._channels.lengths]
        for i, cal in enumerate(self._calibrations):
            cal.load_state(state.scope(f"calibration{i}"))
        self._discipline.load_state(state.scope("discipline"))
        self._cached = None
