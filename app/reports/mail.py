"""E-mail the weekly report to the resident's coordinators and family, each in their own
language, each with what the resident agreed to share with them.

Recipients: the site's active coordinators with an e-mail address (staff: the whole
report), and the family contacts of the resident's care profile, only where the resident
agreed (``share_reports_with_family``; health details only with
``share_vitals_with_family``). Each e-mail is the summary as text and the PDF attached,
sent through the alert service's SMTP sender (the same TLS and login rules). A failed
delivery is reported per recipient and does not stop the others. Logs carry counts, never
addresses or names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage

from alerts.channels import SmtpSender
from alerts.errors import DeliveryError
from app.reports.build import Subject, view
from app.reports.figures import Figures
from app.reports.findings import summary
from app.reports.html import render_html
from app.reports.pdf import render_pdf
from careloop.i18n import Translator, resolve_locale
from people import Directory
from people.consent import Reader, disclosure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    locale: str
    reader: Reader


@dataclass(frozen=True, slots=True)
class Delivery:
    recipient: Recipient
    error: str | None = None


def recipients(directory: Directory, subj: Subject) -> list[Recipient]:
    """Who gets this resident's report: coordinators of the site, and family where the
    resident consented."""
    site = subj.site.id
    out = []
    volunteers, _ = directory.volunteers(frozenset({site}), limit=None)
    for v in volunteers:
        if v.coordinator and v.active and v.email:
            language = v.languages[0] if v.languages else None
            out.append(Recipient(v.email, resolve_locale(language), "staff"))
    consent = directory.consent(site, subj.resident.id)
    if disclosure(consent, "family").identity:
        for contact in subj.resident.profile.family:
            out.append(Recipient(contact.email, resolve_locale(contact.language), "family"))
    return out


def message(
    subj: Subject, figs: Figures, to: Recipient, pdf: bytes, text: list[str]
) -> EmailMessage:
    """The e-mail: subject and body in the reader's locale, the PDF attached."""
    t = Translator(to.locale)
    name, week = subj.resident.display_name, subj.week.label
    msg = EmailMessage()
    msg["To"] = to.email
    msg["Subject"] = t("report.email.subject", name=name, week=week)
    summary_text = "\n".join(f"- {line}" for line in text)
    msg.set_content(t("report.email.body", name=name, week=week, summary=summary_text))
    filename = f"careloop-{subj.site.id}-{subj.resident.id}-{week}-{to.locale}.pdf"
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return msg


def send_reports(directory: Directory, subj: Subject, figs: Figures,
                 sender: SmtpSender) -> list[Delivery]:  # fmt: skip
    """Render and send one e-mail per recipient; one PDF per (reader, locale)."""
    rendered: dict[tuple[Reader, str], tuple[bytes, list[str]]] = {}
    out = []
    for to in recipients(directory, subj):
        key = (to.reader, to.locale)
        if key not in rendered:
            v = view(directory, subj, figs, to.reader, to.locale)
            text = summary(figs, v.shown, Translator(to.locale))
            rendered[key] = (render_pdf(render_html(v)), text)
        pdf, text = rendered[key]
        try:
            sender.send_message(message(subj, figs, to, pdf, text))
            out.append(Delivery(to))
        except DeliveryError as exc:
            out.append(Delivery(to, exc.reason))
    sent = sum(1 for d in out if d.error is None)
    log.info("report e-mails sent=%d failed=%d site=%s", sent, len(out) - sent, subj.site.id)
    return out
