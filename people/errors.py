"""The people package's exceptions::

    CareloopError
    └── PeopleError          the people database failed, or a request breaks its rules
        ├── NotFound         no such site, resident, volunteer, rotation, device, token ...
        ├── Conflict         it exists already, or another row still needs it
        └── RosterError      a roster file to import is malformed (names the bad entry)

Only the API turns these into HTTP statuses (404, 409, 422, 500).
"""

from __future__ import annotations

from careloop.errors import CareloopError


class PeopleError(CareloopError):
    """Base of the people package's errors."""


class NotFound(PeopleError):
    """The named record does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} {key!r}")


class Conflict(PeopleError):
    """The record exists already, or removing it would break another one."""

    def __init__(self, kind: str, key: str, reason: str) -> None:
        self.kind = kind
        self.key = key
        self.reason = reason
        super().__init__(f"{kind} {key!r}: {reason}")


class RosterError(PeopleError):
    """A roster file is malformed; ``where`` names the entry, ``reason`` what is wrong."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"roster {where}: {reason}")
