"""The report's HTML drawn into a PDF by WeasyPrint (Pango lays out the text, so Chinese
needs a CJK font on the machine: scripts/bootstrap installs fonts-wqy-microhei)."""

from __future__ import annotations

import logging

from app.reports.errors import ReportError

# WeasyPrint logs each layout step at INFO; the CLI says what it is doing itself.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def render_pdf(html: str) -> bytes:
    """The PDF bytes of a report page (A4, page numbers at the foot)."""
    try:
        from weasyprint import HTML  # heavy: imported only where a PDF is made
    except OSError as exc:  # WeasyPrint's system libraries (Pango) are missing
        raise ReportError(f"cannot make PDFs here: {exc} (run scripts/bootstrap)") from exc
    pdf = HTML(string=html).write_pdf()
    if not pdf:
        raise ReportError("WeasyPrint produced no PDF")
    return bytes(pdf)
