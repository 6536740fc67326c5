"""The directory's exceptions::

    CareloopError
    └── DirectoryError       the directory database failed or a request breaks its rules
        ├── NotFound         no such site, resident, volunteer, rotation, token ...
        └── Conflict         it exists already, or another row still needs it

Only the API turns these into HTTP statuses (404, 409, 500).
"""

from __future__ import annotations

from careloop.errors import CareloopError


class DirectoryError(CareloopError):
    """Base of the directory's errors."""


class NotFound(DirectoryError):
    """The named record does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} {key!r}")


class Conflict(DirectoryError):
    """The record exists already, or removing it would break another one."""

    def __init__(self, kind: str, key: str, reason: str) -> None:
        self.kind = kind
        self.key = key
        self.reason = reason
        super().__init__(f"{kind} {key!r}: {reason}")
