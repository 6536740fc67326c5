"""A resident's own rule thresholds: what a clinician or coordinator sets where the scorer's
defaults do not fit this person (a night owl's night, a resident who naps in the armchair
for hours, a chronic tachycardia the care team knows about).

Every field is optional: ``None`` means "the scorer's default", so a default improved later
reaches every resident who never set that threshold (a stored profile keeps only what was
set). The defaults, their units and the rule each one belongs to are one table in the scorer
(``models/runtime/thresholds.py``) and in docs/runtime.md.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def hhmm_minutes(value: str) -> int:
    """``"HH:MM"`` (24 h) as minutes after local midnight."""
    hh, _, mm = value.partition(":")
    return int(hh) * 60 + int(mm)


def _check_hhmm(value: str | None) -> str | None:
    if value is None:
        return None
    hh, sep, mm = value.partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
        raise ValueError("must be HH:MM (24 h)")
    return value


class RuleThresholds(BaseModel):
    """Per-resident overrides of the scorer's rule thresholds (``None``: the default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Night for wandering, local "HH:MM" (the window may wrap past midnight).
    night_start: str | None = None
    night_end: str | None = None
    #: Daytime for "still out of bed for hours", local "HH:MM" (may wrap, for night shifts).
    day_start: str | None = None
    day_end: str | None = None
    #: Out of bed and still this long in the daytime is inactivity (minutes).
    still_day_min: Annotated[int, Field(ge=30, le=16 * 60)] | None = None
    #: Lying still out of bed this long is inactivity (minutes).
    lying_out_min: Annotated[int, Field(ge=5, le=6 * 60)] | None = None
    #: Walking minutes (leaky, half-life 15 min) out of bed at night that are wandering.
    night_walk_min: Annotated[float, Field(ge=2, le=240)] | None = None
    #: Still in bed this many minutes past the learned getting-up time (at least).
    late_margin_min: Annotated[float, Field(ge=15, le=6 * 60)] | None = None
    #: Seconds of stillness after a fall event before it is an emergency.
    fall_confirm_s: Annotated[int, Field(ge=10, le=600)] | None = None
    #: SpO2 at or below this (%) can be hypoxia (scale-1 chart: 91).
    hypoxia_spo2: Annotated[float, Field(ge=70, le=96)] | None = None
    #: Heart rate at or above / at or below this (bpm) can be abnormal.
    heart_rate_high: Annotated[float, Field(ge=80, le=220)] | None = None
    heart_rate_low: Annotated[float, Field(ge=25, le=70)] | None = None
    #: Blood pressure at or above this (mmHg) can be a hypertensive crisis.
    systolic_crisis: Annotated[float, Field(ge=140, le=260)] | None = None
    diastolic_crisis: Annotated[float, Field(ge=90, le=160)] | None = None
    #: Temperature at or above this (°C) can be fever.
    fever_c: Annotated[float, Field(ge=37.0, le=40.0)] | None = None

    @field_validator("night_start", "night_end", "day_start", "day_end")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        return _check_hhmm(value)

    @model_validator(mode="after")
    def _windows(self) -> RuleThresholds:
        for a, b in (("night_start", "night_end"), ("day_start", "day_end")):
            x, y = getattr(self, a), getattr(self, b)
            if x is not None and y is not None and x == y:
                raise ValueError(f"{a} and {b} must differ (an empty or whole-day window)")
        return self
