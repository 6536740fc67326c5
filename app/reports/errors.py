"""The reports' one error: a report that cannot be made for a clear, stated reason."""

from __future__ import annotations

from careloop.errors import CareloopError


class ReportError(CareloopError):
    """No such week, resident or consent to share; the PDF could not be written."""
