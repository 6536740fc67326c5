"""Care plans: what should happen for a resident, and when it did not.

A resident's :class:`CareProfile` lists :class:`Expectation` items ("daily check-up around
09:30", "medication after breakfast", "video call with grandson every Wednesday at 18:00"),
each fulfilled by an event type on the wire (``checkup_done``, ``medication_taken``,
``video_call``). For every occurrence the planner raises a **reminder** ``remind_before_min``
before its window closes if it has not happened yet, and a **need** (``missed_care_plan``)
when the window closes without it. Occurrences before the resident was first seen are never
judged, so a restart or a new resident does not flood the board with old misses.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from careloop.wire import EVENT_TYPES
from careloop.wire.needs import Evidence, Tier
from models.runtime.findings import Finding

_MIN = 60_000
_DAY = 1440 * _MIN
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


@dataclass(slots=True)
class _Progress:
    """Per resident and expectation: the last fulfilling event and what was already said."""

    done: list[int] = field(default_factory=list)
    #: Local day of the last occurrence reminded about / flagged as missed.
    reminded: int = -(2**31)
    missed: int = -(2**31)


class CarePlanner:
    """Reminders and misses for every resident with a care plan."""

    def __init__(self) -> None:
        self.progress: dict[int, list[_Progress]] = {}

    def _of(self, slot: int, profile: CareProfile) -> list[_Progress]:
        got = self.progress.get(slot)
        if got is None or len(got) != len(profile.expectations):
            got = self.progress[slot] = [_Progress() for _ in profile.expectations]
        return got

    def event(self, slot: int, profile: CareProfile, event_type: str, ts: int) -> None:
        """An event arrived: remember it for the expectations it fulfils."""
        for exp, prog in zip(profile.expectations, self._of(slot, profile), strict=True):
            if exp.event == event_type:
                prog.done.append(ts)
                del prog.done[:-8]

    def tick(self, slot: int, profile: CareProfile, now: int, first_seen: int) -> list[Finding]:
        """Reminders and misses due at ``now`` for one resident."""
        if not profile.expectations or first_seen <= 0:
            return []
        off = profile.utc_offset_min * _MIN
        today = (now + off) // _DAY
        out: list[Finding] = []
        for exp, prog in zip(profile.expectations, self._of(slot, profile), strict=True):
            for day in (today - 1, today):
                if not exp.occurs_on(day):
                    continue
                opens = day * _DAY + exp.open_min * _MIN - off
                closes = opens + exp.window_min * _MIN
                if opens < first_seen or now < opens:
                    continue
                # early by up to half the window still counts (a check-up a bit ahead of time)
                done = any(opens - exp.window_min * _MIN // 2 <= d < closes for d in prog.done)
                if done:
                    continue
                remind_at = closes - exp.remind_before_min * _MIN
                if exp.remind_before_min > 0 and remind_at <= now < closes and prog.reminded < day:
                    prog.reminded = day
                    out.append(self._finding(slot, exp, now, opens, closes, reminder=True))
                if now >= closes and prog.missed < day:
                    prog.missed = day
                    out.append(self._finding(slot, exp, now, opens, closes, reminder=False))
        return out

    def _finding(
        self, slot: int, exp: Expectation, now: int, opens: int, closes: int, *, reminder: bool
    ) -> Finding:
        minutes = exp.window_min
        if reminder:
            left = max(0, (closes - now) // _MIN)
            summary = (
                f"Reminder: {exp.name} is due (from {exp.at}, {minutes} min window) and has "
                f"not happened yet; {left} min left."
            )
        else:
            summary = (
                f"Missed: {exp.name} was due at {exp.at} and did not happen within {minutes} min."
            )
        return Finding(
            slot,
            "care_plan_reminder" if reminder else "missed_care_plan",
            exp.tier,
            now,
            opens,
            0.5 if reminder else 1.0,
            summary,
            [
                Evidence(
                    measure=exp.event,
                    value=False,
                    rule=f"care plan: {exp.name[:60]} at {exp.at}, window {minutes} min",
                    ts=opens,
                )
            ],
            reminder=reminder,
        )
