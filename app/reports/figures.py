"""The figures of one report, computed from its readings, alerts and care plan.

The resident's **usual band** for a vital is the median ± the interquartile range of its
hourly means over the four weeks before the report's week, from their own readings in
InfluxDB (at least two days of hourly means, else no band). A **night** is 00:00-06:00
local; a night is "higher than usual" when its mean is above the band. **Time in bed** is
counted 20:00-08:00 from the bed sensor (the share of readings with ``bed_occupied``, an
hour at a time), and **usual** activity and time in bed are the means of the days and nights
of the same four weeks.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, timedelta

from alerts.model import Alert
from app.reports.readings import PLOTTED, Readings
from app.reports.satisfaction import Satisfaction
from app.reports.week import HOUR_MS, Week
from people import CareProfile

#: Fewest hourly means (two days) that make a usual band.
MIN_BAND_HOURS = 48
NIGHT_HOURS = range(0, 6)
#: The bed window starts at 20:00 on the night's date and ends at 08:00 the next morning.
BED_FROM, BED_HOURS = 20, 12
#: A night with bed readings in fewer of its hours than this is incomplete and not counted.
BED_MIN_HOURS = 9


@dataclass(frozen=True, slots=True)
class Band:
    lo: float
    mid: float
    hi: float


@dataclass(frozen=True, slots=True)
class VitalFigure:
    field: str
    band: Band | None
    #: Hourly means in the week.
    points: list[tuple[int, float]]
    #: Night mean per day of the week (None: no readings that night).
    nights: list[float | None]
    higher_nights: int
    lower_nights: int


@dataclass(frozen=True, slots=True)
class DayFigures:
    """Per day of the week, with the prior four weeks' mean for comparison."""

    values: list[float | None]
    usual: float | None

    @property
    def mean(self) -> float | None:
        known = [v for v in self.values if v is not None]
        return statistics.fmean(known) if known else None


@dataclass(frozen=True, slots=True)
class PlanFigure:
    name: str
    event: str
    expected: int
    done: int


@dataclass(frozen=True, slots=True)
class NeedsFigure:
    alerts: list[Alert]
    #: Median minutes from opening to a volunteer's acceptance (accepted alerts only).
    median_accept_min: float | None
    breached: int


@dataclass(frozen=True, slots=True)
class Figures:
    week: Week
    vitals: list[VitalFigure]
    steps: DayFigures
    bed_hours: DayFigures
    needs: NeedsFigure
    plan: list[PlanFigure]
    satisfaction: Satisfaction | None


def band(values: list[float]) -> Band | None:
    """Median ± IQR of ``values``, or None when there are too few of them."""
    if len(values) < MIN_BAND_HOURS:
        return None
    q1, q2, q3 = statistics.quantiles(values, n=4)
    iqr = q3 - q1
    return Band(q2 - iqr, q2, q2 + iqr)


def vital(week: Week, name: str, series: list[tuple[int, float]]) -> VitalFigure:
    prior = [v for ts, v in series if ts < week.start_ms]
    points = [(ts, v) for ts, v in series if ts >= week.start_ms]
    usual = band(prior)
    by_night: dict[date, list[float]] = {}
    for ts, v in points:
        if week.local_hour(ts) in NIGHT_HOURS:
            by_night.setdefault(week.local_day(ts), []).append(v)
    nights = [statistics.fmean(by_night[d]) if d in by_night else None for d in week.days()]
    known = [n for n in nights if n is not None]
    higher = sum(1 for n in known if usual and n > usual.hi)
    lower = sum(1 for n in known if usual and n < usual.lo)
    return VitalFigure(name, usual, points, nights, higher, lower)


def _per_day(week: Week, totals: dict[date, float]) -> DayFigures:
    this = [totals.get(d) for d in week.days()]
    prior = [v for d, v in totals.items() if d < week.monday]
    return DayFigures(this, statistics.fmean(prior) if prior else None)


def steps(week: Week, series: list[tuple[int, float]]) -> DayFigures:
    totals: dict[date, float] = {}
    for ts, v in series:
        day = week.local_day(ts)
        totals[day] = totals.get(day, 0.0) + v
    return _per_day(week, totals)


def bed_hours(week: Week, bed: dict[int, tuple[int, int]]) -> DayFigures:
    """Hours in bed per night (the night belongs to the date it starts on); a night with
    too few hours of bed readings (the edge of the data) is left out, not counted short."""
    totals: dict[date, float] = {}
    hours: dict[date, int] = {}
    for ts, (inside, total) in bed.items():
        hour = week.local_hour(ts)
        if hour >= BED_FROM:
            night = week.local_day(ts)
        elif hour < (BED_FROM + BED_HOURS) % 24:
            night = week.local_day(ts) - timedelta(days=1)
        else:
            continue
        totals[night] = totals.get(night, 0.0) + inside / total
        hours[night] = hours.get(night, 0) + 1
    return _per_day(week, {d: v for d, v in totals.items() if hours[d] >= BED_MIN_HOURS})


def needs(alerts: list[Alert]) -> NeedsFigure:
    waits = [(a.accepted_ms - a.opened_ms) / 60_000 for a in alerts if a.accepted_ms]
    breached = sum(1 for a in alerts if a.respond_breached or a.resolve_breached)
    return NeedsFigure(alerts, statistics.median(waits) if waits else None, breached)


def plan(week: Week, profile: CareProfile, events: dict[str, list[int]]) -> list[PlanFigure]:
    """For each expectation of the care plan: how often it was due this week and how often
    its event came inside its window (local time, the site's zone)."""
    out = []
    for exp in profile.expectations:
        expected = done = 0
        seen = events.get(exp.event, [])
        for day in week.days():
            if not exp.occurs_on((day - date(1970, 1, 1)).days):
                continue
            expected += 1
            opens = week.at(day) + exp.open_min * 60_000
            closes = opens + exp.window_min * 60_000
            done += any(opens <= ts <= closes for ts in seen)
        out.append(PlanFigure(exp.name, exp.event, expected, done))
    return out


def figures(
    week: Week,
    readings: Readings,
    alerts: list[Alert],
    profile: CareProfile,
    satisfaction: Satisfaction | None,
) -> Figures:
    """Everything a report shows, before consent decides what its reader gets."""
    vitals = [vital(week, f, readings.hourly[f]) for f in PLOTTED if readings.hourly.get(f)]
    return Figures(
        week=week,
        vitals=[v for v in vitals if v.points],
        steps=steps(week, readings.hourly.get("steps", [])),
        bed_hours=bed_hours(week, readings.bed),
        needs=needs(alerts),
        plan=plan(week, profile, readings.events),
        satisfaction=satisfaction,
    )


__all__ = ["HOUR_MS", "Band", "DayFigures", "Figures", "PlanFigure", "VitalFigure", "figures"]
