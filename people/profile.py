"""A resident's care profile: what the runtime and the people who care need to know beyond
the readings (language, local time, NEWS2 scale, the care plan's expectations, and the rule
thresholds set for this resident: :mod:`people.thresholds`).

It is people data, owned here and stored with the resident (``PUT
/api/v1/residents/{site}/{id}/care-profile``); the scorer's care planner
(``models/runtime/careplan.py``) reads it through :mod:`people` and judges each
:class:`Expectation` ("daily check-up around 09:30", "video call every Wednesday at 18:00").
"""

from __future__ import annotations

import functools
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from careloop.wire import EVENT_TYPES
from careloop.wire.needs import Tier
from people.thresholds import RuleThresholds

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@functools.lru_cache(maxsize=4096)
def _minutes(at: str) -> int:
    hh, _, mm = at.partition(":")
    return int(hh) * 60 + int(mm)


class Expectation(BaseModel):
    """One recurring thing in a care plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=80)]
    event: str
    #: Local time the window opens, "HH:MM".
    at: str
    #: Minutes after ``at`` it may still happen.
    window_min: Annotated[int, Field(ge=1, le=24 * 60)] = 60
    #: Every N days (counted from 1970-01-01 local), or only on these weekdays.
    every_days: Annotated[int, Field(ge=1, le=365)] = 1
    weekdays: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = ()
    remind_before_min: Annotated[int, Field(ge=0, le=24 * 60)] = 15
    tier: Tier = "general"

    @field_validator("event")
    @classmethod
    def _known_event(cls, value: str) -> str:
        if value not in EVENT_TYPES:
            raise ValueError(f"must be one of {', '.join(EVENT_TYPES)}")
        return value

    @field_validator("at")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        hh, sep, mm = value.partition(":")
        if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise ValueError("must be HH:MM (24 h)")
        return value

    @property
    def open_min(self) -> int:
        """Minutes after local midnight the window opens."""
        return _minutes(self.at)

    def occurs_on(self, day: int) -> bool:
        """Whether the plan expects this on local day ``day`` (days since 1970-01-01)."""
        if self.weekdays:
            return _WEEKDAYS[(day + 3) % 7] in self.weekdays  # 1970-01-01 was a Thursday
        return day % self.every_days == 0


class CareProfile(BaseModel):
    """What the runtime needs to know about a resident beyond the readings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: Annotated[str, Field(max_length=16)] = "en"
    utc_offset_min: Annotated[int, Field(ge=-14 * 60, le=14 * 60)] = 0
    #: NEWS2 SpO2 scale 2 only where a clinician set it (hypercapnic respiratory failure).
    spo2_scale: Literal[1, 2] = 1
    expectations: tuple[Expectation, ...] = ()
    #: This resident's own rule thresholds where the scorer's defaults do not fit.
    thresholds: RuleThresholds = RuleThresholds()
