"""Gather one resident's week (people, InfluxDB, the alert store, ratings) into the
figures of a report, and choose what a reader sees.

The figures are computed once per resident and week; the view per reader (their locale and
what the resident's consent lets them see) is cheap, so e-mailing family and coordinators in
their own languages renders the same figures several times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alerts.model import Alert
from alerts.store import AlertStore
from app.reports.errors import ReportError
from app.reports.figures import Figures, figures
from app.reports.html import ReportView
from app.reports.readings import Readings, read
from app.reports.satisfaction import Satisfaction, satisfaction
from app.reports.week import Week, parse_week
from people import Directory, NotFound, Resident, Site
from people.consent import Reader, disclosure
from people.model import zone


@dataclass(frozen=True, slots=True)
class Subject:
    """Who the report is about, and the week it covers."""

    site: Site
    resident: Resident
    week: Week


def subject(directory: Directory, site: str, resident: str, week: str | None,
            now_ms: int | None = None) -> Subject:  # fmt: skip
    """The site, the resident and the week (``YYYY-Www``; None = the last whole week)."""
    try:
        s = directory.site(site)
        r = directory.resident(site, resident)
    except NotFound as exc:
        raise ReportError(str(exc)) from exc
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return Subject(s, r, parse_week(week, zone(s.timezone), now))


def compute(subj: Subject, readings: Readings, alert_db: Path, url: str = "") -> Figures:
    """The figures; the needs and satisfaction come from the alert store (none when there is
    no alert store yet; ``url``: the ``database_url`` setting)."""
    week = subj.week
    alerts: list[Alert] = []
    rated: Satisfaction | None = None
    if url or alert_db.exists():
        with AlertStore(alert_db, url=url) as store:
            alerts = store.resident_alerts(
                subj.site.id, subj.resident.id, week.start_ms, week.end_ms
            )
            rated = satisfaction(store, subj.site.id, subj.resident.id, week.start_ms,
                                 week.end_ms)  # fmt: skip
    return figures(week, readings, alerts, subj.resident.profile, rated)


def gather(
    ask: Callable[[str], dict[str, Any]], subj: Subject, alert_db: Path, url: str = ""
) -> Figures:
    """The figures, reading InfluxDB through ``ask`` (the kernel's client's ``query``)."""
    readings = read(ask, subj.site.id, subj.resident.id, subj.week)
    return compute(subj, readings, alert_db, url)


def view(directory: Directory, subj: Subject, figs: Figures, reader: Reader, locale: str,
         now_ms: int | None = None) -> ReportView:  # fmt: skip
    """The report for one reader, as far as the resident's consent allows; ReportError when
    it allows this reader nothing about the resident at all."""
    shown = disclosure(directory.consent(subj.site.id, subj.resident.id), reader)
    if not shown.identity:
        raise ReportError(
            f"resident {subj.site.id}/{subj.resident.id} has not agreed to share reports "
            f"with {reader} readers"
        )
    made = int(time.time() * 1000) if now_ms is None else now_ms
    return ReportView(subj.site, subj.resident, figs, shown, locale, made)
