"""careloop's directory: who and what the service knows about, in one SQLite file.

Public surface::

    Directory                        store.py    sites, residents, consents, volunteers,
                                                 rotations, overrides, API tokens, audit
    Site, ResidentRecord, Consent,   model.py    the records (frozen, validated)
    VolunteerRecord, RotationRecord,
    OverrideRecord, TokenRecord,
    AuditRow, Role, ROLES
    DirectoryError, NotFound,        errors.py
    Conflict
"""

from careloop.directory.errors import Conflict, DirectoryError, NotFound
from careloop.directory.model import (
    ROLES,
    AuditRow,
    Consent,
    OverrideRecord,
    ResidentRecord,
    Role,
    RotationRecord,
    Site,
    TokenRecord,
    VolunteerRecord,
)
from careloop.directory.store import Directory, default_path, hash_token

__all__ = [
    "ROLES",
    "AuditRow",
    "Conflict",
    "Consent",
    "Directory",
    "DirectoryError",
    "NotFound",
    "OverrideRecord",
    "ResidentRecord",
    "Role",
    "RotationRecord",
    "Site",
    "TokenRecord",
    "VolunteerRecord",
    "default_path",
    "hash_token",
]
