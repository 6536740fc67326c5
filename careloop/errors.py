"""The careloop exception tree.

Every package raises errors that derive from one base, so callers can catch careloop's own
failures without swallowing bugs::

    CareloopError
    ├── WireError            a payload or topic breaks the wire contract (careloop.wire)
    ├── SettingsError        a setting is missing, malformed or a placeholder (careloop.settings)
    ├── ServerError          a child server (mosquitto, influxd) failed (devservers)
    └── (each package adds its own base below this one: EdgeError, IngestError, ...)

Lower-level errors (pydantic, paho, sqlite3, httpx) are translated at the boundary with
``raise ... from exc`` so the original stays attached for debugging.
"""

from __future__ import annotations


class CareloopError(Exception):
    """Base of every careloop error."""


class SettingsError(CareloopError):
    """A setting is missing, malformed, or still a placeholder."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"setting {name!r}: {reason}")
