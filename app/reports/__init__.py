"""Weekly health reports per resident (docs/reports.md): vitals against the resident's own
usual band, activity and time in bed, needs and how fast they were answered, care-plan
adherence, satisfaction, and a plain-language summary; HTML, PDF, and e-mail to
coordinators and (with consent) family, each in their own language. Public surface::

    Week, parse_week                 week.py        the ISO week in the site's zone
    Readings, queries, read,         readings.py    what InfluxDB is asked, and its answers
    read_async
    Figures, figures                 figures.py     bands, nights, steps, bed, needs, plan
    Satisfaction, satisfaction       satisfaction.py ratings (none until they exist)
    summary                          findings.py    the summary's sentences (catalogs)
    ReportView, render_html          html.py        the page, as far as consent allows
    render_pdf                       pdf.py         the page as PDF (WeasyPrint)
    Subject, subject, gather,        build.py       people + InfluxDB + alerts -> figures;
    compute, view                                   the view for one reader
    Recipient, recipients,           mail.py        coordinators and consenting family
    send_reports
    ReportError                      errors.py
"""

from app.reports.build import Subject, compute, gather, subject, view
from app.reports.errors import ReportError
from app.reports.figures import Figures, figures
from app.reports.findings import summary
from app.reports.html import ReportView, render_html
from app.reports.mail import Delivery, Recipient, recipients, send_reports
from app.reports.pdf import render_pdf
from app.reports.readings import Readings, queries, read, read_async
from app.reports.satisfaction import Satisfaction, satisfaction
from app.reports.week import Week, parse_week

__all__ = [
    "Delivery",
    "Figures",
    "Readings",
    "Recipient",
    "ReportError",
    "ReportView",
    "Satisfaction",
    "Subject",
    "Week",
    "compute",
    "figures",
    "gather",
    "parse_week",
    "queries",
    "read",
    "read_async",
    "recipients",
    "render_html",
    "render_pdf",
    "satisfaction",
    "send_reports",
    "subject",
    "summary",
    "view",
]
