"""The plain-language summary: what changed this week, as whole sentences from the catalogs
(``report.finding.*``) filled in with the figures. No words here, only the rules that pick
a sentence and its numbers.
"""

from __future__ import annotations

from app.reports.figures import Figures
from careloop.i18n import Translator
from people.consent import Disclosure

#: A change in daily steps worth a sentence (a fraction of the usual).
STEPS_CHANGE = 0.2
#: A change in nightly hours in bed worth a sentence.
BED_CHANGE_H = 1.0


def _health(f: Figures, t: Translator) -> list[str]:
    out = []
    for v in f.vitals:
        name = t(f"vital.{v.field}")
        if v.higher_nights:
            out.append(t("report.finding.higher_nights", vital=name, count=v.higher_nights))
        if v.lower_nights:
            out.append(t("report.finding.lower_nights", vital=name, count=v.lower_nights))
    banded = [v for v in f.vitals if v.band is not None]
    if banded and not any(v.higher_nights or v.lower_nights for v in banded):
        out.append(t("report.finding.steady"))
    mean, usual = f.steps.mean, f.steps.usual
    if mean is not None and usual:
        change = mean / usual - 1
        if abs(change) >= STEPS_CHANGE:
            key = "report.finding.steps_up" if change > 0 else "report.finding.steps_down"
            out.append(t(key, percent=t.format_number(abs(change) * 100, 0)))
    mean, usual = f.bed_hours.mean, f.bed_hours.usual
    if mean is not None and usual is not None and abs(mean - usual) >= BED_CHANGE_H:
        key = "report.finding.bed_more" if mean > usual else "report.finding.bed_less"
        out.append(t(key, hours=t.format_number(abs(mean - usual), 1)))
    if not f.vitals and f.steps.mean is None and f.bed_hours.mean is None:
        out.append(t("report.finding.no_readings"))
    count = len(f.needs.alerts)
    if count:
        out.append(t("report.finding.needs", count=count))
        if f.needs.median_accept_min is not None:
            minutes = t.format_number(f.needs.median_accept_min, 0)
            out.append(t("report.finding.accept", minutes=minutes))
    else:
        out.append(t("report.finding.needs_none"))
    return out


def summary(f: Figures, shown: Disclosure, t: Translator) -> list[str]:
    """The summary's sentences for a reader who may see ``shown``: health findings only
    where the resident agreed to share them with this reader."""
    out = _health(f, t) if shown.health else []
    missed = [p for p in f.plan if p.done < p.expected]
    for p in missed:
        out.append(t("report.finding.missed", name=p.name, done=p.done, expected=p.expected))
    if f.plan and not missed:
        out.append(t("report.finding.plan_kept"))
    return out
