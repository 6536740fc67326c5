"""A resident's care profile: what the runtime and the people who care need to know beyond
the readings (language, local time, NEWS2 scale, the care plan's expectations, and the rule
thresholds set for this resident: :mod:`people.thresholds`).

It is people data, owned here and stored with the resident (``PUT
/api/v1/residents/{site}/{id}/care-profile``); the scorer's care planner
(``models/runtime/careplan.py``) reads it through :mod:`people` and judges each
:class:`Expectation` ("daily check-up around 09:30", "video call every Wednesday at 18:00",
"diabetes check-up every 90 days, within 14 days of 2026-03-02", "flu shot every 365 days";
docs/careplan.md).
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from careloop.wire import EVENT_TYPES
from careloop.wire.needs import Tier
from people.thresholds import RuleThresholds

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MIN_MS = 60_000
_DAY_MIN = 24 * 60
#: The longest period a plan may name (ten years: a yearly flu shot is every_days=365).
MAX_PERIOD_DAYS = 3660
#: The steps an escalation chain knows: the resident's family contacts (e-mail, as their
#: consent ``notify_family`` allows), the next on-call volunteers, the site's coordinators,
#: the site's emergency webhook. The alert policy's chains (``alerts/policy.py``) use the
#: same names, so a care plan's own chain is checked here, where it is written.
EscalationStep = Literal["family", "volunteers", "coordinator", "webhook"]


@functools.lru_cache(maxsize=4096)
def _minutes(at: str) -> int:
    hh, _, mm = at.partition(":")
    return int(hh) * 60 + int(mm)


class Expectation(BaseModel):
    """One recurring thing in a care plan, of any period.

    An occurrence's window opens at ``at`` (local time) on each day the plan names and
    lasts ``window_min`` minutes, or ``window_days`` days when that is set (a check-up due
    "within two weeks"). Days are every ``every_days`` counted from ``start`` (or from
    1970-01-01 when no start is given, as older plans were), or only the listed
    ``weekdays``. A period shorter than its window would make occurrences overlap, so it is
    refused, as are weekdays together with a period.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=80)]
    event: str
    #: Local time the window opens, "HH:MM".
    at: str
    #: Minutes after ``at`` it may still happen (ignored when ``window_days`` is set).
    window_min: Annotated[int, Field(ge=1, le=_DAY_MIN)] = 60
    #: Days after ``at`` it may still happen (0: the window is ``window_min``).
    window_days: Annotated[int, Field(ge=0, le=366)] = 0
    #: Every N days (counted from ``start``, else 1970-01-01 local), or only on these weekdays.
    every_days: Annotated[int, Field(ge=1, le=MAX_PERIOD_DAYS)] = 1
    weekdays: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = ()
    #: The first day of a periodic plan, "YYYY-MM-DD" (local); nothing is due before it.
    start: date | None = None
    #: The reminder is spoken this long before the window closes (at the latest when it
    #: opens; 0: no reminder).
    remind_before_min: Annotated[int, Field(ge=0, le=366 * _DAY_MIN)] = 15
    #: The IANA zone ``at`` is meant in, if the writer wants it checked: it must be the
    #: site's zone (the API refuses another); times are read in the profile's offset.
    zone: Annotated[str, Field(max_length=64)] | None = None
    tier: Tier = "general"
    #: Who is told, in order, when an occurrence is missed (``["family", "coordinator"]``);
    #: None: the alert policy's chain for ``missed_care_plan`` (docs/careplan.md).
    escalate: Annotated[tuple[EscalationStep, ...], Field(min_length=1, max_length=8)] | None = None

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

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("escalate")
    @classmethod
    def _once_each(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        # volunteers may be paged in several waves; everyone else is told once
        for step in ("family", "coordinator", "webhook"):
            if value is not None and value.count(step) > 1:
                raise ValueError(f"{step!r} is named more than once")
        return value

    @model_validator(mode="after")
    def _possible(self) -> Self:
        if self.weekdays and (self.every_days != 1 or self.start is not None):
            raise ValueError("name weekdays or a period (every_days, start), not both")
        window = self.window_days * _DAY_MIN if self.window_days else self.window_min
        period = 7 * _DAY_MIN if self.weekdays else self.every_days * _DAY_MIN
        if self.weekdays and window > _DAY_MIN:
            raise ValueError("a weekday plan's window is at most a day")
        if window > period:
            raise ValueError(
                f"the window ({window // _DAY_MIN} days) is longer than the period "
                f"({self.every_days} days): occurrences would overlap"
            )
        return self

    @property
    def open_min(self) -> int:
        """Minutes after local midnight the window opens."""
        return _minutes(self.at)

    @property
    def window_ms(self) -> int:
        """How long an occurrence's window stays open."""
        minutes = self.window_days * _DAY_MIN if self.window_days else self.window_min
        return minutes * _MIN_MS

    @property
    def anchor(self) -> int:
        """Local day (days since 1970-01-01) periods are counted from."""
        return self.start.toordinal() - _EPOCH if self.start is not None else 0

    def occurs_on(self, day: int) -> bool:
        """Whether the plan expects this on local day ``day`` (days since 1970-01-01)."""
        if self.weekdays:
            return _WEEKDAYS[(day + 3) % 7] in self.weekdays  # 1970-01-01 was a Thursday
        return day >= self.anchor and (day - self.anchor) % self.every_days == 0

    def occurrences(self, today: int) -> list[int]:
        """Local days whose occurrence may still be open on ``today`` or closed since
        yesterday (oldest first): what a planner has to look at, without walking every day
        of a long window."""
        span = -(-self.window_ms // (_DAY_MIN * _MIN_MS)) + 1  # whole days, plus yesterday
        first = today - span
        if self.weekdays:
            return [d for d in range(first, today + 1) if self.occurs_on(d)]
        if today < self.anchor:
            return []
        last = today - (today - self.anchor) % self.every_days
        days = range(last, max(first, self.anchor) - 1, -self.every_days)
        return sorted(days)

    def next_on_or_after(self, day: int) -> int:
        """The first local day >= ``day`` the plan expects this (for "due soon" lists)."""
        if self.weekdays:
            return next(d for d in range(day, day + 7) if self.occurs_on(d))
        if day <= self.anchor:
            return self.anchor
        return day + (-(day - self.anchor)) % self.every_days


_EPOCH = date(1970, 1, 1).toordinal()


class FamilyContact(BaseModel):
    """Someone in the resident's family who gets the weekly report by e-mail, in their own
    language, as far as the resident's consent allows (``share_reports_with_family``), and
    is told of a missed care-plan item where the plan's chain names ``family``
    (``notify_family``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    language: Annotated[str, Field(max_length=16)] = "en"


class CareProfile(BaseModel):
    """What the runtime needs to know about a resident beyond the readings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: Annotated[str, Field(max_length=16)] = "en"
    utc_offset_min: Annotated[int, Field(ge=-14 * 60, le=14 * 60)] = 0
    #: NEWS2 SpO2 scale 2 only where a clinician set it (hypercapnic respiratory failure).
    spo2_scale: Literal[1, 2] = 1
    expectations: tuple[Expectation, ...] = ()
    #: Family contacts for the weekly report (docs/reports.md); personal data.
    family: Annotated[tuple[FamilyContact, ...], Field(max_length=10)] = ()
    #: Where a volunteer finds them: room, flat or street address (shown only where the
    #: resident consented to share their identity with volunteers).
    room: Annotated[str, Field(max_length=200)] = ""
    #: What helps them, in a carer's words ("hard of hearing: speak on the left", "key safe
    #: code from the coordinator"): shown to volunteers with the same consent.
    helps: Annotated[tuple[Annotated[str, Field(max_length=200)], ...], Field(max_length=10)] = ()
    #: Volunteers the resident knows and prefers (ids, best first): paged before anyone else
    #: of the site for this resident's alerts, when on call (a lonely elder hears a familiar
    #: voice).
    preferred_volunteers: Annotated[tuple[str, ...], Field(max_length=10)] = ()
    #: This resident's own rule thresholds where the scorer's defaults do not fit.
    thresholds: RuleThresholds = RuleThresholds()

    def expectation_at(self, event: str, opens_ms: int) -> Expectation | None:
        """The plan's expectation whose occurrence for ``event`` opened at ``opens_ms`` (the
        time a ``missed_care_plan`` need's evidence carries): same event, same local opening
        time, due that day. How the alert service finds a miss's own escalation without the
        need naming it; None when the plan changed since."""
        local = opens_ms + self.utc_offset_min * _MIN_MS
        day, minute = divmod(local // _MIN_MS, _DAY_MIN)
        for exp in self.expectations:
            if exp.event == event and exp.open_min == minute and exp.occurs_on(day):
                return exp
        return None
