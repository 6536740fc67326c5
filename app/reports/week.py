"""The week a report covers: an ISO week (``2026-W02``), Monday 00:00 to Monday 00:00 in
the site's time zone, so "Tuesday night" means the resident's Tuesday night."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.reports.errors import ReportError

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
#: How far back the resident's usual band and usual activity look (docs/reports.md).
PRIOR_DAYS = 28


@dataclass(frozen=True, slots=True)
class Week:
    """One ISO week in one time zone."""

    year: int
    number: int
    tz: ZoneInfo

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    def days(self) -> list[date]:
        """The seven local dates, Monday first."""
        return [self.monday + timedelta(days=i) for i in range(7)]

    def at(self, day: date, hour: int = 0) -> int:
        """Epoch ms of ``hour``:00 local on ``day`` (daylight saving included)."""
        local = datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(hours=hour)
        return int(local.timestamp() * 1000)

    @property
    def start_ms(self) -> int:
        return self.at(self.monday)

    @property
    def end_ms(self) -> int:
        return self.at(self.monday + timedelta(days=7))

    @property
    def prior_ms(self) -> int:
        """Where the usual band's four weeks begin."""
        return self.at(self.monday - timedelta(days=PRIOR_DAYS))

    def local_day(self, ts_ms: int) -> date:
        return datetime.fromtimestamp(ts_ms / 1000, self.tz).date()

    def local_hour(self, ts_ms: int) -> int:
        return datetime.fromtimestamp(ts_ms / 1000, self.tz).hour


def parse_week(text: str | None, tz: ZoneInfo, now_ms: int) -> Week:
    """``YYYY-Www``, or None for the last whole week before ``now_ms`` (local time)."""
    if text is None:
        today = datetime.fromtimestamp(now_ms / 1000, tz).date()
        year, number, _ = (today - timedelta(days=7)).isocalendar()
        return Week(year, number, tz)
    found = _WEEK.match(text.strip())
    if not found:
        raise ReportError(f"week {text!r}: use YYYY-Www, e.g. 2026-W02")
    year, number = int(found[1]), int(found[2])
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise ReportError(f"week {text!r}: {year} has no week {number}") from exc
    return Week(year, number, tz)
