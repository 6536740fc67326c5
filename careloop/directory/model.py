"""The directory's records: frozen value objects, validated on construction.

Ids follow the wire contract (:func:`careloop.wire.check_id`), so every id stored here can be
used in a topic or an InfluxDB tag unchanged. Personal data (names, e-mail, phone) lives only
in these records and in the directory's SQLite file, never in logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from careloop.directory.errors import DirectoryError
from careloop.errors import CareloopError
from careloop.wire import check_id
from models.runtime.careplan import CareProfile

Role = Literal["admin", "coordinator", "volunteer", "device", "public"]
ROLES: tuple[Role, ...] = get_args(Role)


def valid_id(value: str, what: str) -> str:
    """``value`` if it is a valid careloop id, else DirectoryError naming ``what``."""
    try:
        return check_id(value, what)
    except CareloopError as exc:
        raise DirectoryError(f"{what}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Site:
    """A care home, ward or neighbourhood; the unit of access control and retention."""

    id: str
    name: str
    timezone: str = "UTC"
    #: Days of readings kept in InfluxDB (0 = forever); applied by the retention job.
    retention_days: int = 0

    def __post_init__(self) -> None:
        valid_id(self.id, "site")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DirectoryError(f"unknown time zone {self.timezone!r}") from exc
        if self.retention_days < 0:
            raise DirectoryError("retention_days must be >= 0")


@dataclass(frozen=True, slots=True)
class ResidentRecord:
    """A resident: ids, the name carers use (personal data), language and care profile."""

    site: str
    id: str
    display_name: str
    language: str = "en"
    profile: CareProfile = field(default_factory=CareProfile)
    created_at: int = 0

    def __post_init__(self) -> None:
        valid_id(self.site, "site")
        valid_id(self.id, "resident")


@dataclass(frozen=True, slots=True)
class Consent:
    """What a resident (or their representative) agreed to. The default is all False."""

    site: str
    resident: str
    #: Utterance text may be stored (else speech is kept as features only).
    store_utterance_text: bool = False
    #: Volunteers of the site may see the resident's name, language and care profile.
    share_with_volunteers: bool = False
    #: Volunteers of the site may see vitals, events and needs' explanations.
    share_vitals_with_volunteers: bool = False
    updated_at: int = 0
    updated_by: str = ""


@dataclass(frozen=True, slots=True)
class VolunteerRecord:
    """A volunteer or coordinator and how to reach them (personal data)."""

    id: str
    name: str
    sites: tuple[str, ...]
    email: str | None = None
    phone: str | None = None
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ("mqtt",)
    coordinator: bool = False
    active: bool = True

    def __post_init__(self) -> None:
        valid_id(self.id, "volunteer")
        if not self.sites:
            raise DirectoryError("a volunteer belongs to at least one site")
        for site in self.sites:
            valid_id(site, "site")


@dataclass(frozen=True, slots=True)
class RotationRecord:
    """An on-call rotation, as :class:`alerts.roster.Rotation` expresses it."""

    site: str
    name: str
    members: tuple[str, ...]
    start_ms: int
    shift_ms: int
    timezone: str = "UTC"
    #: Daily window "HH:MM-HH:MM" in ``timezone``, or None for all day.
    hours: str | None = None

    def __post_init__(self) -> None:
        valid_id(self.site, "site")
        valid_id(self.name, "rotation")
        if self.shift_ms <= 0:
            raise DirectoryError("shift_ms must be > 0")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DirectoryError(f"unknown time zone {self.timezone!r}") from exc
        self.window()

    def window(self) -> tuple[time, time] | None:
        """``hours`` parsed, or None for all day."""
        if self.hours is None:
            return None
        try:
            begin, end = self.hours.split("-")
            return time.fromisoformat(begin.strip()), time.fromisoformat(end.strip())
        except ValueError as exc:
            raise DirectoryError("hours must be HH:MM-HH:MM, e.g. 20:00-08:00") from exc


@dataclass(frozen=True, slots=True)
class OverrideRecord:
    """``volunteer`` is on call for ``rotation`` in [start_ms, end_ms)."""

    id: int
    site: str
    rotation: str
    volunteer: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token as stored: its SHA-256 hash only, never the token itself."""

    id: str
    role: Role
    subject: str
    #: None = every site (admin only).
    sites: frozenset[str] | None
    created_at: int
    revoked_at: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One read of personal data."""

    id: int
    ts: int
    subject: str
    role: str
    action: str
    site: str
    resident: str | None
    route: str
