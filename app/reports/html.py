"""One report as a self-contained HTML page (inline SVG and stylesheet): shown as it is in
the dashboard and the app, and drawn into a PDF by :mod:`app.reports.pdf`.

Every word comes from the catalogs in the reader's locale; this module only lays them out,
escaped. What it shows is decided by ``shown`` (the resident's consent for this reader,
:func:`people.consent.disclosure`): without ``health`` there are no vitals, activity, time
in bed or needs, only a sentence saying they are not shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

from app.reports import svg
from app.reports.figures import Figures
from app.reports.findings import summary
from careloop.i18n import Translator
from careloop.wire.measures import VITALS
from people import Resident, Site
from people.consent import Disclosure

CSS = Path(__file__).with_name("report.css")
#: Decimals shown for a vital's usual band (a tenth matters for breathing, SpO2, temperature).
_DIGITS = {
    m.name: 0 if m.name in ("heart_rate", "systolic_bp", "diastolic_bp") else 1 for m in VITALS
}


@dataclass(frozen=True, slots=True)
class ReportView:
    """A report for one reader: the figures, who it is about, what they may see, in which
    locale, and when it was made."""

    site: Site
    resident: Resident
    figures: Figures
    shown: Disclosure
    locale: str
    generated_ms: int


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _section(cls: str, title: str, inner: str) -> str:
    return f'<section class="{cls}"><h2>{escape(title)}</h2>{inner}</section>'


def _p(text: str, cls: str = "") -> str:
    return f'<p class="{cls}">{escape(text)}</p>' if cls else f"<p>{escape(text)}</p>"


def _needs(v: ReportView, t: Translator) -> str:
    n = v.figures.needs
    if not n.alerts:
        return _p(t("report.needs.none"))
    tz = v.figures.week.tz
    rows = []
    for a in n.alerts:
        opened = datetime.fromtimestamp(a.opened_ms / 1000, UTC)
        wait = (
            t(
                "report.needs.minutes",
                minutes=t.format_number((a.accepted_ms - a.opened_ms) / 60_000, 0),
            )
            if a.accepted_ms
            else t("report.needs.not_accepted")
        )
        rows.append(
            [
                t.format_datetime(opened, tz, "short"),
                t(f"need.{a.kind}"),
                t(f"tier.{a.tier}"),
                wait,
                t(f"report.outcome.{a.state}"),
            ]
        )
    head = [t(f"report.needs.col.{c}") for c in ("opened", "kind", "tier", "accepted", "outcome")]
    median = n.median_accept_min
    note = t(
        "report.needs.median",
        minutes=t.format_number(median, 0) if median is not None else "–",
        count=n.breached,
    )
    return _table(head, rows) + _p(note, "note")


def _plan(v: ReportView, t: Translator) -> str:
    if not v.figures.plan:
        return _p(t("report.plan.none"))
    head = [t(f"report.plan.col.{c}") for c in ("name", "expected", "done")]
    return _table(head, [[p.name, str(p.expected), str(p.done)] for p in v.figures.plan])


def _satisfaction(v: ReportView, t: Translator) -> str:
    s = v.figures.satisfaction
    if s is None:
        return _p(t("report.satisfaction.none"))
    return _p(t("report.satisfaction.summary", count=s.answers, mean=t.format_number(s.mean, 1)))


def _vitals(v: ReportView, t: Translator, days: list[str]) -> str:
    f = v.figures
    if not f.vitals:
        return _p(t("report.vitals.none"))
    parts = [_p(t("report.vitals.band_note"), "note")]
    for fig in f.vitals:
        name, unit = t(f"vital.{fig.field}"), t(f"report.unit.{fig.field}")
        digits = _DIGITS.get(fig.field, 1)
        usual = (
            t(
                "report.vitals.usual",
                lo=t.format_number(fig.band.lo, digits),
                hi=t.format_number(fig.band.hi, digits),
                unit=unit,
            )
            if fig.band
            else t("report.vitals.no_band")
        )
        chart = svg.line_chart(fig.points, fig.band, f.week.start_ms, f.week.end_ms, days, name)
        caption = t("report.vitals.caption", vital=name, unit=unit, usual=usual)
        parts.append(f"<figure><figcaption>{escape(caption)}</figcaption>{chart}</figure>")
    return "".join(parts)


def _activity(v: ReportView, t: Translator, days: list[str]) -> str:
    f = v.figures
    parts = []
    for key, figs, digits in (("steps", f.steps, 0), ("bed", f.bed_hours, 1)):
        title = t(f"report.activity.{key}")
        usual = "–" if figs.usual is None else t.format_number(figs.usual, digits)
        parts.append(
            f"<figure><figcaption><b>{escape(title)}</b> "
            f"{escape(t('report.activity.usual', value=usual))}</figcaption>"
            f"{svg.bar_chart(figs.values, figs.usual, days, title)}</figure>"
        )
    head = [t(f"report.activity.col.{c}") for c in ("day", "steps", "bed")]

    def cell(value: float | None, digits: int) -> str:
        return "–" if value is None else t.format_number(value, digits)

    rows = [
        [day, cell(s, 0), cell(b, 1)]
        for day, s, b in zip(days, f.steps.values, f.bed_hours.values, strict=True)
    ]
    return "".join(parts) + _table(head, rows)


def render_html(v: ReportView) -> str:
    """The whole page."""
    t = Translator(v.locale)
    f = v.figures
    week = f.week
    days = [t.format_skeleton("MMMEd", d) for d in week.days()]
    end = week.monday + timedelta(days=6)
    made = datetime.fromtimestamp(v.generated_ms / 1000, UTC)
    title = t("report.title", name=v.resident.display_name)
    findings = "".join(f"<li>{escape(s)}</li>" for s in summary(f, v.shown, t))
    body = [
        f"<header><h1>{escape(title)}</h1>",
        _p(
            t(
                "report.week",
                week=week.label,
                start=t.format_skeleton("yMMMd", week.monday),
                end=t.format_skeleton("yMMMd", end),
            ),
            "week",
        ),
        _p(
            t(
                "report.generated",
                when=t.format_datetime(made, week.tz, "medium"),
                site=v.site.name,
            ),
            "meta",
        ),
        "</header>",
        _section("summary", t("report.section.summary"), f"<ul>{findings}</ul>"),
    ]
    if v.shown.health:
        body.append(_section("needs", t("report.section.needs"), _needs(v, t)))
    body.append(_section("plan", t("report.section.careplan"), _plan(v, t)))
    body.append(_section("satisfaction", t("report.section.satisfaction"), _satisfaction(v, t)))
    if v.shown.health:
        body.append(_section("vitals page", t("report.section.vitals"), _vitals(v, t, days)))
        body.append(_section("activity page", t("report.section.activity"), _activity(v, t, days)))
    else:
        body.append(_p(t("report.withheld"), "withheld"))
    return (
        f'<!doctype html><html lang="{escape(v.locale)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS.read_text(encoding='utf-8')}</style>"
        f'</head><body class="lang-{escape(v.locale)}">' + "".join(body) + "</body></html>"
    )
