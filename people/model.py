"""People's records: frozen value objects, validated on construction, defined once.

Every part of careloop that knows about a site, a resident, a volunteer, a rotation or an
override uses these classes (the API's schemas, the alert service's routing, the scorer's
care plans): there is no second "Resident" or "Rotation" elsewhere. Ids follow the wire
contract (:func:`careloop.wire.check_id`), so every id stored here can be used in a topic or
an InfluxDB tag unchanged. Personal data (names, e-mail, phone, locations) lives only in
these records and in the people database, never in logs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from careloop.errors import CareloopError
from careloop.wire import check_id
from people.errors import PeopleError
from people.profile import CareProfile

#: ``family``: a family member of one resident (the token's subject is that resident's id,
#: its one site theirs): raises tickets for them and rates how they were handled.
Role = Literal["admin", "coordinator", "volunteer", "device", "family", "public"]
ROLES: tuple[Role, ...] = get_args(Role)
#: How a volunteer can be reached for a page: their MQTT app, e-mail, Web Push to the installed
#: app (any subscription the app made also counts), SMS through the configured gateway.
CHANNELS = ("mqtt", "email", "push", "sms")

Location = tuple[float, float]


def valid_id(value: str, what: str) -> str:
    """``value`` if it is a valid careloop id, else PeopleError naming ``what``."""
    try:
        return check_id(value, what)
    except CareloopError as exc:
        raise PeopleError(f"{what}: {exc}") from exc


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or PeopleError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PeopleError(f"unknown time zone {name!r}") from exc


@functools.lru_cache(maxsize=1024)
def parse_hours(hours: str) -> tuple[time, time]:
    """A daily window "HH:MM-HH:MM" (may cross midnight, e.g. "20:00-08:00")."""
    try:
        begin, end = hours.split("-")
        return time.fromisoformat(begin.strip()), time.fromisoformat(end.strip())
    except ValueError as exc:
        raise PeopleError("hours must be HH:MM-HH:MM, e.g. 20:00-08:00") from exc


def _location(value: Location | None) -> None:
    if value is not None and not (-90 <= value[0] <= 90 and -180 <= value[1] <= 180):
        raise PeopleError("location must be (latitude, longitude) in degrees")


@dataclass(frozen=True, slots=True)
class Site:
    """A care home, ward or neighbourhood; the unit of access control and retention."""

    id: str
    name: str
    timezone: str = "UTC"
    #: Days of readings and records kept (0 = forever); applied by the retention job.
    retention_days: int = 0

    def __post_init__(self) -> None:
        valid_id(self.id, "site")
        zone(self.timezone)
        if self.retention_days < 0:
            raise PeopleError("retention_days must be >= 0")


@dataclass(frozen=True, slots=True)
class Resident:
    """A resident: ids, the name carers use (personal data), language and care profile."""

    site: str
    id: str
    display_name: str
    language: str = "en"
    profile: CareProfile = field(default_factory=CareProfile)
    created_at: int = 0
    #: Where volunteers go (latitude, longitude); None = the site's address.
    location: Location | None = None

    def __post_init__(self) -> None:
        valid_id(self.site, "site")
        valid_id(self.id, "resident")
        _location(self.location)


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
    #: The resident's family contacts (care profile) get the weekly report: the resident's
    #: name, care-plan adherence and satisfaction (docs/reports.md).
    share_reports_with_family: bool = False
    #: ... and in it vitals, activity, time in bed and needs (only with the flag above).
    share_vitals_with_family: bool = False
    #: The family contacts are e-mailed when a care-plan item was missed and nobody
    #: confirmed it (the resident's name, the item and when; docs/careplan.md), where the
    #: escalation chain names ``family``. Independent of the weekly report.
    notify_family: bool = False


@dataclass(frozen=True, slots=True)
class Volunteer:
    """A volunteer or a coordinator, the sites they serve and how to reach them."""

    id: str
    name: str
    #: The sites they serve; the first is their home site.
    sites: tuple[str, ...]
    email: str | None = None
    phone: str | None = None
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ("mqtt",)
    coordinator: bool = False
    active: bool = True
    location: Location | None = None
    #: Residents (ids at their sites) this volunteer is assigned to: paged first for them.
    assigned: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        valid_id(self.id, "volunteer")
        if not self.sites:
            raise PeopleError("a volunteer belongs to at least one site")
        for site in self.sites:
            valid_id(site, "site")
        unknown = [c for c in self.channels if c not in CHANNELS]
        if unknown:
            raise PeopleError(f"unknown channels {unknown}; use {', '.join(CHANNELS)}")
        if "email" in self.channels and not self.email:
            raise PeopleError("channel email needs an e-mail address")
        if "sms" in self.channels and not self.phone:
            raise PeopleError("channel sms needs a phone number")
        _location(self.location)

    def serves(self, site: str) -> bool:
        """Whether this volunteer may be paged for, and act on, alerts of ``site``."""
        return site in self.sites


@dataclass(frozen=True, slots=True)
class Rotation:
    """On-call duty: members take turns of ``shift_ms`` from ``start_ms``, inside the daily
    ``hours`` window ("HH:MM-HH:MM" in ``timezone``, so it follows daylight-saving changes;
    None = all day)."""

    site: str
    name: str
    members: tuple[str, ...]
    start_ms: int
    shift_ms: int
    timezone: str = "UTC"
    hours: str | None = None

    def __post_init__(self) -> None:
        valid_id(self.site, "site")
        valid_id(self.name, "rotation")
        if self.shift_ms <= 0:
            raise PeopleError("shift_ms must be > 0")
        zone(self.timezone)
        self.window()

    def window(self) -> tuple[time, time] | None:
        """``hours`` parsed, or None for all day."""
        return None if self.hours is None else parse_hours(self.hours)

    def on_call(self, at_ms: int) -> str | None:
        """The member on call at ``at_ms`` (before overrides), or None outside the window."""
        if not self.members or at_ms < self.start_ms:
            return None
        window = self.window()
        if window is not None:
            local = datetime.fromtimestamp(at_ms / 1000, zone(self.timezone)).time()
            begin, end = window
            inside = begin <= local < end if begin <= end else (local >= begin or local < end)
            if not inside:
                return None
        turn = (at_ms - self.start_ms) // self.shift_ms
        return self.members[turn % len(self.members)]


@dataclass(frozen=True, slots=True)
class Override:
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
    #: When it stops being accepted (epoch ms); None = never (tokens made before expiry).
    expires_at: int | None = None


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
