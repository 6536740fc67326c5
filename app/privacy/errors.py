"""Privacy's exceptions::

    CareloopError
    └── PrivacyError         a store could not be read or erased, or a rule was broken
        └── ReceiptNotFound  no erasure receipt with that id

Only the API turns these into HTTP statuses (404, 500).
"""

from __future__ import annotations

from careloop.errors import CareloopError


class PrivacyError(CareloopError):
    """Base of privacy's errors."""


class ReceiptNotFound(PrivacyError):
    """No erasure receipt ``receipt_id``."""

    def __init__(self, receipt_id: str) -> None:
        self.receipt_id = receipt_id
        super().__init__(f"no erasure receipt {receipt_id!r}")
