"""Each resident's rule thresholds as arrays: the care profile's value, else the default.

The defaults are one declarative table (:data:`DEFAULTS`; docs/runtime.md prints it). A care
profile's :class:`people.RuleThresholds` overrides any of them for one resident. The arrays
are rebuilt only when the directory changes (a new resident, a changed profile); while every
resident uses the same value, :meth:`Thresholds.get` returns that one number, so the usual
case costs no gather on the hot path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.runtime.residents import Slots
from people.thresholds import hhmm_minutes


@dataclass(frozen=True, slots=True)
class Threshold:
    """One threshold: its default (in the profile's unit) and how the runtime stores it."""

    name: str
    default: float | str
    unit: str
    rule: str
    #: Profile value -> the number the rules compare with (ms, minute of the day, ...).
    convert: Callable[[Any], float] = float


def _minutes_ms(v: Any) -> float:
    return float(v) * 60_000.0


def _seconds_ms(v: Any) -> float:
    return float(v) * 1000.0


def _clock(v: Any) -> float:
    return float(hhmm_minutes(str(v)))


#: Every per-resident threshold, its default and where it is used.
DEFAULTS: tuple[Threshold, ...] = (
    Threshold("night_start", "23:00", "HH:MM", "night_wandering", _clock),
    Threshold("night_end", "05:00", "HH:MM", "night_wandering", _clock),
    Threshold("night_walk_min", 12.0, "min", "night_wandering"),
    Threshold("day_start", "08:00", "HH:MM", "inactivity", _clock),
    Threshold("day_end", "21:00", "HH:MM", "inactivity", _clock),
    Threshold("still_day_min", 240, "min", "inactivity", _minutes_ms),
    Threshold("lying_out_min", 30, "min", "inactivity", _minutes_ms),
    Threshold("late_margin_min", 45.0, "min", "not_out_of_bed"),
    Threshold("fall_confirm_s", 60, "s", "fall", _seconds_ms),
    Threshold("hypoxia_spo2", 91.0, "%", "hypoxia"),
    Threshold("heart_rate_high", 120.0, "bpm", "heart_rate_abnormal"),
    Threshold("heart_rate_low", 45.0, "bpm", "heart_rate_abnormal"),
    Threshold("systolic_crisis", 180.0, "mmHg", "hypertensive_crisis"),
    Threshold("diastolic_crisis", 120.0, "mmHg", "hypertensive_crisis"),
    Threshold("fever_c", 37.8, "°C", "fever"),
)
_BY_NAME = {t.name: t for t in DEFAULTS}

Value = float | NDArray[np.float64]


def default(name: str) -> float:
    """The default of ``name`` in the runtime's unit (ms, minute of the day, ...)."""
    t = _BY_NAME[name]
    return t.convert(t.default)


class Thresholds:
    """Per-resident thresholds of the residents in ``directory``, by slot."""

    def __init__(self, directory: Slots) -> None:
        self.directory = directory
        self._version = -1
        self._values: dict[str, Value] = {}

    def _refresh(self) -> None:
        if self._version == self.directory.version:
            return
        values: dict[str, Value] = {}
        for t in DEFAULTS:
            fallback = t.convert(t.default)
            per = [
                fallback if v is None else t.convert(v)
                for v in (getattr(r.profile.thresholds, t.name) for r in self.directory.residents)
            ]
            if all(v == fallback for v in per):
                values[t.name] = fallback
            else:
                values[t.name] = np.asarray(per, dtype=np.float64)
        self._values = values
        self._version = self.directory.version

    def get(self, name: str, rows: NDArray[np.int64] | int) -> Value:
        """The threshold for residents ``rows`` (a slot or an array of slots): one number
        when every resident has the default, else one value per row."""
        self._refresh()
        v = self._values[name]
        if isinstance(v, float):
            return v
        return v[rows]

    def upto(self, name: str, rows: int) -> Value:
        """The threshold for slots ``0..rows-1`` (the timers' view of every resident)."""
        self._refresh()
        v = self._values[name]
        return v if isinstance(v, float) else v[:rows]


def in_window(minute: Any, start: Value, end: Value) -> Any:
    """Whether local minute(s) of the day lie in ``[start, end)``, wrapping past midnight
    when ``start > end`` (a night 23:00-05:00)."""
    inside = (minute >= start) & (minute < end)
    wrapped = (minute >= start) | (minute < end)
    return np.where(np.asarray(start > end), wrapped, inside)
