"""A resident's weekly health report as a page (text/html) or a PDF (docs/reports.md).

``GET /api/v1/residents/{site}/{resident}/report?week=YYYY-Www&lang=&format=html|pdf``.

Access is the resident page's: staff of the site; volunteers only for a resident who shares
with volunteers (else 404, as if there were none); a family token only for its own resident
who shares reports with the family (``share_reports_with_family``, else 404). What the page
then carries is the resident's consent for this reader (:func:`app.reports.view`): a
family without ``share_vitals_with_family`` gets no vitals, activity or needs; a volunteer without
``share_vitals_with_volunteers`` gets the name, care plan and satisfaction and one sentence
saying the rest is not shared. Every answer is an audit row.

The language is ``lang`` if given, else the caller's own (their volunteer record's first
language), else their browser's ``Accept-Language``, else English. The PDF is drawn in a
worker thread (WeasyPrint takes a second or more; the event loop keeps serving).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from app.api.audit import audited
from app.api.auth import Principal, require
from app.api.deps import DirectoryDep, InfluxDep, SettingsDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.residents import visible_resident
from app.reports import ReportError, compute, read_async, render_html, render_pdf, subject, view
from careloop.i18n import resolve_locale
from people import Directory, NotFound
from people.consent import Reader

router = APIRouter(prefix="/api/v1/residents", tags=["reports"], responses=PROBLEM_RESPONSES)

#: The page is the report's own self-contained HTML (inline stylesheet and SVG, no script):
#: it may style itself and nothing else, and may not be framed by another site.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)

Week = Annotated[
    str | None,
    Query(
        max_length=16, description="ISO week YYYY-Www in the site's time zone (default: last week)"
    ),
]
Lang = Annotated[
    str | None, Query(max_length=35, description="en, zh-Hant, zh-Hans (default: yours)")
]
Format = Annotated[Literal["html", "pdf"], Query(description="html (default) or pdf")]
#: Staff, volunteers, and a family token for its own resident.
ReaderDep = Annotated[Principal, Depends(require("admin", "coordinator", "volunteer", "family"))]


#: The consent reader of each role that is not the site's staff.
READERS: dict[str, Reader] = {"volunteer": "volunteer", "family": "family"}


def reader_of(principal: Principal) -> Reader:
    """Whose consent applies: coordinators and admins are the site's staff."""
    return READERS.get(principal.role, "staff")


def locale_for(
    principal: Principal, directory: Directory, lang: str | None, accept: str | None
) -> str:
    """``lang``, else the caller's profile language, else their browser's, else English."""
    if lang:
        return resolve_locale(lang)
    profile: str | None = None
    if principal.role in ("coordinator", "volunteer"):
        try:
            languages = directory.volunteer(principal.subject).languages
        except NotFound:  # a token for someone with no volunteer record
            languages = ()
        profile = languages[0] if languages else None
    return resolve_locale(profile, accept)


@router.get(
    "/{site}/{resident}/report",
    response_class=Response,
    responses={
        200: {
            "content": {"text/html": {}, "application/pdf": {}},
            "description": "the report page, or its PDF with ?format=pdf",
        },
        422: {"description": "a malformed week (the reason says how to write one)"},
    },
)
async def read_report(
    site: str,
    resident: str,
    request: Request,
    principal: ReaderDep,
    directory: DirectoryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    week: Week = None,
    lang: Lang = None,
    format: Format = "html",  # the query parameter's public name
) -> Response:
    """One resident's weekly report (vitals against their usual band, activity, needs,
    care plan, satisfaction, summary) in the caller's language, as far as consent allows."""
    if principal.role == "family" and resident != principal.subject:
        raise HTTPException(404, "not found")  # another family's resident: as if none
    visible_resident(principal, directory, site, resident)
    try:
        subj = subject(directory, site, resident, week)
    except ReportError as exc:  # the resident exists (checked above): the week is wrong
        raise HTTPException(422, str(exc)) from exc
    locale = locale_for(principal, directory, lang, request.headers.get("accept-language"))
    readings = await read_async(
        lambda q: influx.query(q, epoch="ms", sites=[site]), site, resident, subj.week
    )
    paths = settings.paths
    # The alert store and the ratings: blocking reads (SQLite, PostgreSQL) off the event loop.
    figs = await asyncio.to_thread(compute, subj, readings, paths.alerts, settings.store_url)
    try:
        page = view(directory, subj, figs, reader_of(principal), locale)
    except ReportError as exc:  # consent lets this reader see nothing of the resident
        raise HTTPException(404, "not found") from exc
    audited(request, principal, "read_report", site, resident)
    html = render_html(page)
    headers = {"Content-Language": locale, "Cache-Control": "no-store"}
    if format == "pdf":
        pdf = await asyncio.to_thread(render_pdf, html)
        name = f"report-{site}-{resident}-{subj.week.label}.pdf"
        headers["Content-Disposition"] = f'inline; filename="{name}"'
        return Response(pdf, media_type="application/pdf", headers=headers)
    headers["Content-Security-Policy"] = REPORT_CSP
    return Response(html, media_type="text/html; charset=utf-8", headers=headers)
