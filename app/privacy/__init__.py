"""Privacy: consent-driven storage (enforced in ingest), retention per site, erasure.

See docs/privacy.md. The public names::

    Eraser, Stores                      erasure.py   one resident out of every store
    ReceiptStore, seal, verify          receipts.py  sealed erasure receipts
    apply_retention, policies, sources  retention.py site_<id> retention policies
    PrivacyError, ReceiptNotFound       errors.py
"""

from app.privacy.erasure import Eraser, Stores
from app.privacy.errors import PrivacyError, ReceiptNotFound
from app.privacy.receipts import ReceiptStore, seal, verify
from app.privacy.retention import Policy, apply_retention, policies, rp_name, sources

__all__ = [
    "Eraser",
    "Policy",
    "PrivacyError",
    "ReceiptNotFound",
    "ReceiptStore",
    "Stores",
    "apply_retention",
    "policies",
    "rp_name",
    "seal",
    "sources",
    "verify",
]
