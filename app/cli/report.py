"""``careloop report``: one resident's weekly health report as PDF and/or HTML, or e-mailed
to their coordinators and (where the resident consented) family (docs/reports.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from careloop.settings import Settings


def register(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="a resident's weekly health report (PDF, HTML, or e-mailed)",
        description="Write one resident's weekly health report: vitals against their usual "
        "band (median ± IQR of the four weeks before), activity and time in bed, needs and "
        "how fast they were answered, care-plan adherence, satisfaction, and a plain-language "
        "summary. Readings come from InfluxDB (CARELOOP_INFLUX__*), needs from the alert "
        "store, people and consent from the people database. A family reader sees only what "
        "the resident agreed to share with family.",
        epilog="example: careloop report r001 --site demo-home --week 2026-W02 --lang zh-Hant "
        "--pdf r001.pdf",
    )
    p.add_argument("resident", help="resident id")
    p.add_argument("--week", help="ISO week YYYY-Www in the site's time zone (default: last week)")
    p.add_argument(
        "--lang",
        help="the reader's language: en, zh-Hant, zh-Hans (default: the resident's language)",
    )
    p.add_argument(
        "--reader",
        choices=("staff", "family"),
        default="staff",
        help="who reads it: staff see everything, family what the resident consented to (staff)",
    )
    p.add_argument("--pdf", type=Path, metavar="FILE", help="write the PDF here")
    p.add_argument("--html", type=Path, metavar="FILE", help="write the HTML page here")
    p.add_argument(
        "--email",
        action="store_true",
        help="e-mail it to the site's coordinators and consenting family, each in their "
        "language (SMTP: CARELOOP_ALERTS__SMTP_*)",
    )
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.channels import SmtpSender
    from app.reports import ReportError, gather, render_html, render_pdf, send_reports, subject
    from app.reports import view as report_view
    from careloop.i18n import resolve_locale
    from careloop.shards import connect_sharded
    from people import Directory

    if not (args.pdf or args.html or args.email):
        raise ReportError("nothing to do: give --pdf FILE, --html FILE and/or --email")
    paths = settings.paths
    began = time.perf_counter()
    with (
        Directory(paths.people, url=settings.store_url) as directory,
        connect_sharded(settings.influx) as influx,
    ):
        subj = subject(directory, settings.site, args.resident, args.week)
        print(
            f"report {subj.site.id}/{subj.resident.id} {subj.week.label}: reading", file=sys.stderr
        )
        site = subj.site.id
        figs = gather(
            lambda q: influx.query(q, epoch="ms", sites=[site]),
            subj,
            paths.alerts,
            settings.store_url,
        )
        locale = resolve_locale(args.lang or subj.resident.language)
        if args.pdf or args.html:
            html = render_html(report_view(directory, subj, figs, args.reader, locale))
            if args.html:
                args.html.write_text(html, encoding="utf-8")
                print(f"wrote {args.html}", file=sys.stderr)
            if args.pdf:
                args.pdf.write_bytes(render_pdf(html))
                print(f"wrote {args.pdf} ({args.pdf.stat().st_size} bytes)", file=sys.stderr)
        failed = 0
        if args.email:
            if not settings.alerts.smtp_host:
                raise ReportError("--email needs an SMTP server: set CARELOOP_ALERTS__SMTP_HOST")
            sender = SmtpSender.from_settings(settings.alerts)
            deliveries = send_reports(directory, subj, figs, sender)
            failed = sum(1 for d in deliveries if d.error)
            for d in deliveries:
                status = "sent" if d.error is None else f"failed: {d.error}"
                print(
                    f"e-mail {d.recipient.reader} ({d.recipient.locale}): {status}", file=sys.stderr
                )
            if not deliveries:
                print("e-mail: nobody to send to (no coordinator with an e-mail address, "
                      "no consenting family contact)", file=sys.stderr)  # fmt: skip
    print(f"done in {time.perf_counter() - began:.2f} s", file=sys.stderr)
    return 1 if failed else 0
