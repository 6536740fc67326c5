"""Who can be paged: volunteers, residents, on-call rotations and overrides.

A roster is people data, so it lives apart from the policy: one TOML file per deployment
(``careloop alerts --roster FILE``, format in docs/alerts.md), loaded into the store at
start-up, and read back as a :class:`Roster`. Rotations hand the on-call duty from member to
member every ``shift`` (a fixed length) from ``start``, a local time in the rotation's own
time zone; ``hours`` bounds the daily window in that zone (e.g. ``20:00-08:00``), so the
window follows daylight-saving changes. Overrides put a volunteer
on call for a period in place of the rotation.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.errors import PolicyError, RosterError
from alerts.policy import parse_duration
from careloop.errors import CareloopError
from careloop.wire import check_id

CHANNELS = ("mqtt", "email")


@dataclass(frozen=True, slots=True)
class Volunteer:
    """A volunteer (or a site coordinator) and how to reach them."""

    id: str
    #: The volunteer's home site (the one their app's topics are under).
    site: str
    skills: frozenset[str] = frozenset()
    languages: tuple[str, ...] = ()
    coordinator: bool = False
    channels: tuple[str, ...] = ("mqtt",)
    email: str | None = None
    location: tuple[float, float] | None = None
    assigned: frozenset[str] = frozenset()
    active: bool = True
    #: Other sites they also volunteer for (paged there too, on the same app).
    also: frozenset[str] = frozenset()

    def serves(self, site: str) -> bool:
        """Whether this volunteer may be paged for, and act on, alerts of ``site``."""
        return site == self.site or site in self.also


@dataclass(frozen=True, slots=True)
class Resident:
    """What the alert service may know of a resident: ids, language, a location. No names."""

    id: str
    site: str
    device: str | None = None
    language: str | None = None
    location: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Override:
    """``volunteer`` is on call for ``rotation`` in [start_ms, end_ms)."""

    rotation: str
    volunteer: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Rotation:
    """Members take turns of ``shift_ms`` from ``start``, inside the daily ``hours`` window."""

    site: str
    name: str
    members: tuple[str, ...]
    start_ms: int
    shift_ms: int
    timezone: str = "UTC"
    hours: tuple[time, time] | None = None

    def on_call(self, at_ms: int) -> str | None:
        """The member on call at ``at_ms`` (before overrides), or None outside the window."""
        if not self.members or at_ms < self.start_ms:
            return None
        if self.hours is not None and not self._in_hours(at_ms):
            return None
        turn = (at_ms - self.start_ms) // self.shift_ms
        return self.members[turn % len(self.members)]

    def _in_hours(self, at_ms: int) -> bool:
        assert self.hours is not None
        local = datetime.fromtimestamp(at_ms / 1000, ZoneInfo(self.timezone)).time()
        begin, end = self.hours
        if begin <= end:
            return begin <= local < end
        return local >= begin or local < end  # a window across midnight, e.g. 20:00-08:00


@dataclass
class Roster:
    """Everything routing needs to know about people, for every site."""

    volunteers: dict[str, Volunteer] = field(default_factory=dict)
    #: Keyed by (site, resident id): ids are per site.
    residents: dict[tuple[str, str], Resident] = field(default_factory=dict)
    rotations: list[Rotation] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)

    def on_call(self, site: str, at_ms: int) -> set[str] | None:
        """Volunteers on call at ``site`` now; None when the site has no rotations (then
        every active volunteer of the site counts as available)."""
        rotations = [r for r in self.rotations if r.site == site]
        if not rotations:
            return None
        out: set[str] = set()
        for rot in rotations:
            override = next(
                (
                    o
                    for o in self.overrides
                    if o.rotation == rot.name and o.start_ms <= at_ms < o.end_ms
                ),
                None,
            )
            who = override.volunteer if override is not None else rot.on_call(at_ms)
            if who is not None:
                out.add(who)
        return out

    def resident(self, site: str, resident: str) -> Resident:
        """The resident's record, or a bare one (the need names them; nothing else known)."""
        found = self.residents.get((site, resident))
        return found if found is not None else Resident(resident, site)


def distance_km(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float:
    """Great-circle distance; infinity when either location is unknown."""
    if a is None or b is None:
        return math.inf
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


# -- the roster file --------------------------------------------------------------------------
def load_roster(path: Path) -> Roster:
    """Read and validate a roster TOML file."""
    try:
        with Path(path).open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError as exc:
        raise RosterError(str(path), "file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RosterError(str(path), f"not valid TOML: {exc}") from exc
    return roster_from_dict(data)


def roster_from_dict(data: dict[str, Any]) -> Roster:
    """Build a :class:`Roster` from parsed TOML (or an equivalent dict, in tests)."""
    for key in data:
        if key not in {"volunteers", "residents", "rotations", "overrides"}:
            raise RosterError(key, "unknown section")
    roster = Roster()
    for i, v in enumerate(data.get("volunteers", [])):
        where = f"volunteers[{i}]"
        vol = Volunteer(
            id=_id(v, "id", where),
            site=_id(v, "site", where),
            skills=frozenset(_strs(v, "skills", where)),
            languages=tuple(_strs(v, "languages", where)),
            coordinator=bool(v.get("coordinator", False)),
            channels=tuple(_strs(v, "channels", where) or ["mqtt"]),
            email=v.get("email"),
            location=_location(v, where),
            assigned=frozenset(_strs(v, "assigned", where)),
            active=bool(v.get("active", True)),
            also=frozenset(_checked(s, f"{where}.also") for s in _strs(v, "also", where)),
        )
        bad = [c for c in vol.channels if c not in CHANNELS]
        if bad:
            raise RosterError(f"{where}.channels", f"unknown {bad}; use {CHANNELS}")
        if "email" in vol.channels and not vol.email:
            raise RosterError(where, "channel email needs an email address")
        if vol.id in roster.volunteers:
            raise RosterError(where, f"duplicate volunteer {vol.id!r}")
        roster.volunteers[vol.id] = vol
    for i, r in enumerate(data.get("residents", [])):
        where = f"residents[{i}]"
        device = r.get("device")
        res = Resident(
            id=_id(r, "id", where),
            site=_id(r, "site", where),
            device=_checked(device, f"{where}.device") if device is not None else None,
            language=r.get("language"),
            location=_location(r, where),
        )
        roster.residents[(res.site, res.id)] = res
    for i, r in enumerate(data.get("rotations", [])):
        where = f"rotations[{i}]"
        tz = str(r.get("timezone", "UTC"))
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise RosterError(f"{where}.timezone", f"unknown time zone {tz!r}") from exc
        members = tuple(_strs(r, "members", where))
        unknown = [m for m in members if m not in roster.volunteers]
        if unknown:
            raise RosterError(f"{where}.members", f"unknown volunteers {unknown}")
        try:
            shift_ms = parse_duration(r.get("shift", "12h"), f"{where}.shift")
        except PolicyError as exc:
            raise RosterError(exc.where, exc.reason) from exc
        roster.rotations.append(
            Rotation(
                site=_id(r, "site", where),
                name=str(r.get("name") or f"rotation{i}"),
                members=members,
                start_ms=_instant(r.get("start"), zone, f"{where}.start"),
                shift_ms=shift_ms,
                timezone=tz,
                hours=_hours(r.get("hours"), f"{where}.hours"),
            )
        )
    names = {r.name: r for r in roster.rotations}
    for i, o in enumerate(data.get("overrides", [])):
        where = f"overrides[{i}]"
        rot = names.get(str(o.get("rotation")))
        if rot is None:
            raise RosterError(f"{where}.rotation", "unknown rotation")
        if o.get("volunteer") not in roster.volunteers:
            raise RosterError(f"{where}.volunteer", "unknown volunteer")
        zone = ZoneInfo(rot.timezone)
        start = _instant(o.get("start"), zone, f"{where}.start")
        end = _instant(o.get("end"), zone, f"{where}.end")
        if end <= start:
            raise RosterError(where, "end must be after start")
        roster.overrides.append(Override(rot.name, str(o["volunteer"]), start, end))
    return roster


def _checked(value: object, where: str) -> str:
    try:
        return check_id(str(value), where)
    except CareloopError as exc:
        raise RosterError(where, str(exc)) from exc


def _id(d: dict[str, Any], key: str, where: str) -> str:
    if key not in d:
        raise RosterError(f"{where}.{key}", "is required")
    return _checked(d[key], f"{where}.{key}")


def _strs(d: dict[str, Any], key: str, where: str) -> list[str]:
    value = d.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise RosterError(f"{where}.{key}", "must be a list of strings")
    return list(value)


def _location(d: dict[str, Any], where: str) -> tuple[float, float] | None:
    loc = d.get("location")
    if loc is None:
        return None
    if not (isinstance(loc, list) and len(loc) == 2):
        raise RosterError(f"{where}.location", "must be [latitude, longitude]")
    return float(loc[0]), float(loc[1])


def _instant(value: object, zone: ZoneInfo, where: str) -> int:
    """A TOML datetime or ISO string; naive ones are in ``zone``."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise RosterError(where, f"not an ISO date-time: {value!r}") from exc
    if not isinstance(value, datetime):
        raise RosterError(where, "must be a date-time, e.g. 2026-01-05T08:00")
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return int(value.timestamp() * 1000)


def _hours(value: object, where: str) -> tuple[time, time] | None:
    if value is None:
        return None
    try:
        begin, end = str(value).split("-")
        return time.fromisoformat(begin.strip()), time.fromisoformat(end.strip())
    except ValueError as exc:
        raise RosterError(where, "must be HH:MM-HH:MM, e.g. 20:00-08:00") from exc


__all__ = [
    "Override",
    "Resident",
    "Roster",
    "Rotation",
    "Volunteer",
    "distance_km",
    "load_roster",
    "roster_from_dict",
]
