"""Who can be paged: the roster the alert service routes by, read from the people database.

:class:`Roster` is a read model, built from the people database by :func:`read_roster` and
re-read whenever that database changes (:class:`people.follow.Follower`): the alert service
never stores a copy of its own. It answers routing's questions: which volunteers serve a
site, who is on call now (rotations and overrides), what is known of a resident (language,
location) and which of their devices speaks ("help is on the way").

A roster can also be written in a TOML file (format in docs/alerts.md) and imported into the
people database with ``careloop people import FILE``: :func:`load_roster_file` validates it
and :func:`import_roster` writes it, creating the sites it names.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from careloop.units import duration_ms
from people.errors import Conflict, PeopleError, RosterError
from people.model import Consent, Override, Resident, Rotation, Volunteer, zone
from people.profile import CareProfile

if TYPE_CHECKING:
    from people.store import Directory


@dataclass
class Roster:
    """Everything routing needs to know about people, for the sites it was read for."""

    volunteers: dict[str, Volunteer] = field(default_factory=dict)
    #: Keyed by (site, resident id): ids are per site.
    residents: dict[tuple[str, str], Resident] = field(default_factory=dict)
    #: (site, resident) -> the device that speaks to them (voice device, else terminal).
    devices: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (site, device) -> the resident every registered device (any kind) belongs to.
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    rotations: list[Rotation] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    #: (site, resident) -> their consent; none recorded = nothing shared.
    consents: dict[tuple[str, str], Consent] = field(default_factory=dict)
    #: volunteer -> "not now" until then (None: until they switch back), from their app.
    away: dict[str, int | None] = field(default_factory=dict)
    #: Volunteers with at least one app subscribed to Web Push.
    pushable: set[str] = field(default_factory=set)

    def available(self, volunteer: str, at_ms: int) -> bool:
        """Whether ``volunteer`` is available for pages at ``at_ms`` (they did not say "not
        now", or the time they gave has passed)."""
        if volunteer not in self.away:
            return True
        until = self.away[volunteer]
        return until is not None and at_ms >= until

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

    def resident(self, site: str, resident: str) -> Resident | None:
        """The resident's record, or None (a need may name someone not registered yet)."""
        return self.residents.get((site, resident))

    def device(self, site: str, resident: str) -> str | None:
        """The device that speaks to the resident, if they have one."""
        return self.devices.get((site, resident))

    def speaks_for(self, site: str, device: str, resident: str) -> bool:
        """Whether ``device`` is one of the resident's own devices (any kind: the terminal's
        buttons as well as the voice device), the only ones whose answers count for them."""
        return self.owners.get((site, device)) == resident

    def consent(self, site: str, resident: str) -> Consent | None:
        """What the resident agreed to share (None: nothing recorded)."""
        return self.consents.get((site, resident))


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


def read_roster(directory: Directory, sites: frozenset[str] | None = None) -> Roster:
    """The roster of ``sites`` (None = every site) as the people database holds it now."""
    roster = Roster()
    for v in directory.volunteers(sites, limit=None)[0]:
        roster.volunteers[v.id] = v
    for r in directory.residents(sites, limit=None)[0]:
        roster.residents[(r.site, r.id)] = r
    roster.devices = directory.speaking_devices(sites)
    roster.owners = directory.device_owners(sites)
    roster.rotations = directory.rotations(sites, limit=None)[0]
    roster.overrides = directory.overrides(sites, limit=None)[0]
    roster.consents = {(c.site, c.resident): c for c in directory.consents(sites)}
    roster.away = {v: u for v, u in directory.away().items() if v in roster.volunteers}
    roster.pushable = directory.pushable() & roster.volunteers.keys()
    return roster


# -- roster files ---------------------------------------------------------------------------------
@dataclass
class RosterFile:
    """A validated roster file, ready to import."""

    volunteers: list[Volunteer] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    #: (site, resident, device) for residents whose file entry names a speaking device.
    devices: list[tuple[str, str, str]] = field(default_factory=list)
    rotations: list[Rotation] = field(default_factory=list)
    #: (rotation, volunteer, start_ms, end_ms)
    overrides: list[tuple[str, str, int, int]] = field(default_factory=list)

    @property
    def sites(self) -> set[str]:
        named = {s for v in self.volunteers for s in v.sites}
        return named | {r.site for r in self.residents} | {r.site for r in self.rotations}


def load_roster_file(path: Path) -> RosterFile:
    """Read and validate a roster TOML file."""
    try:
        with Path(path).open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError as exc:
        raise RosterError(str(path), "file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RosterError(str(path), f"not valid TOML: {exc}") from exc
    return parse_roster(data)


def parse_roster(data: dict[str, Any]) -> RosterFile:
    """Validate a parsed roster (TOML, or an equivalent dict in tests)."""
    for key in data:
        if key not in {"volunteers", "residents", "rotations", "overrides"}:
            raise RosterError(key, "unknown section")
    out = RosterFile()
    ids: set[str] = set()
    for i, v in enumerate(data.get("volunteers", [])):
        where = f"volunteers[{i}]"
        home = _str(v, "site", where)
        sites = (home, *[s for s in _strs(v, "also", where) if s != home])
        vol = _build(
            where, Volunteer, id=_str(v, "id", where), name=str(v.get("name") or v.get("id")),
            sites=sites, email=v.get("email"), phone=v.get("phone"),
            skills=tuple(_strs(v, "skills", where)), languages=tuple(_strs(v, "languages", where)),
            channels=tuple(_strs(v, "channels", where) or ["mqtt"]),
            coordinator=bool(v.get("coordinator", False)), active=bool(v.get("active", True)),
            location=_location(v, where), assigned=tuple(_strs(v, "assigned", where)),
        )  # fmt: skip
        if vol.id in ids:
            raise RosterError(where, f"duplicate volunteer {vol.id!r}")
        ids.add(vol.id)
        out.volunteers.append(vol)
    for i, r in enumerate(data.get("residents", [])):
        where = f"residents[{i}]"
        preferred = tuple(_strs(r, "preferred_volunteers", where))
        unknown = [v for v in preferred if v not in ids]
        if unknown:
            raise RosterError(f"{where}.preferred_volunteers", f"unknown volunteers {unknown}")
        language = r.get("language") or "en"
        res = _build(
            where, Resident, site=_str(r, "site", where), id=_str(r, "id", where),
            display_name=str(r.get("name") or r.get("id")), language=language,
            location=_location(r, where),
            profile=CareProfile(language=language, preferred_volunteers=preferred),
        )  # fmt: skip
        out.residents.append(res)
        if r.get("device") is not None:
            out.devices.append((res.site, res.id, _str(r, "device", where)))
    for i, r in enumerate(data.get("rotations", [])):
        where = f"rotations[{i}]"
        tz = str(r.get("timezone", "UTC"))
        try:
            tzinfo = zone(tz)
        except PeopleError as exc:
            raise RosterError(f"{where}.timezone", f"unknown time zone {tz!r}") from exc
        members = tuple(_strs(r, "members", where))
        unknown = [m for m in members if m not in ids]
        if unknown:
            raise RosterError(f"{where}.members", f"unknown volunteers {unknown}")
        try:
            shift_ms = duration_ms(r.get("shift", "12h"))
        except ValueError as exc:
            raise RosterError(f"{where}.shift", str(exc)) from exc
        rot = _build(
            where, Rotation, site=_str(r, "site", where),
            name=str(r.get("name") or f"rotation{i}"), members=members,
            start_ms=_instant(r.get("start"), tzinfo, f"{where}.start"), shift_ms=shift_ms,
            timezone=tz, hours=None if r.get("hours") is None else str(r["hours"]),
        )  # fmt: skip
        out.rotations.append(rot)
    names = {r.name: r for r in out.rotations}
    for i, o in enumerate(data.get("overrides", [])):
        where = f"overrides[{i}]"
        rot = names.get(str(o.get("rotation")))
        if rot is None:
            raise RosterError(f"{where}.rotation", "unknown rotation")
        if o.get("volunteer") not in ids:
            raise RosterError(f"{where}.volunteer", "unknown volunteer")
        tzinfo = zone(rot.timezone)
        start = _instant(o.get("start"), tzinfo, f"{where}.start")
        end = _instant(o.get("end"), tzinfo, f"{where}.end")
        if end <= start:
            raise RosterError(where, "end must be after start")
        out.overrides.append((rot.name, str(o["volunteer"]), start, end))
    return out


def import_roster(directory: Directory, roster: RosterFile) -> dict[str, int]:
    """Write a roster file into the people database; counts of what was written.

    Sites it names are created if missing; volunteers and rotations are created or
    replaced, residents created if missing, overrides added, speaking devices registered.
    """
    from people.devices import Device, DeviceRegistry
    from people.model import Site

    known = {s.id for s in directory.sites(limit=None)[0]}
    for site in sorted(roster.sites - known):
        with _taken_meanwhile():
            directory.add_site(Site(site, site))
    residents = 0
    for r in roster.residents:
        if directory.find_resident(r.site, r.id) is None:
            with _taken_meanwhile():
                directory.add_resident(r)
                residents += 1
    for v in roster.volunteers:
        directory.put_volunteer(v)
    for rot in roster.rotations:
        directory.put_rotation(rot)
    for rotation, volunteer, start, end in roster.overrides:
        directory.add_override(rotation, volunteer, start, end)
    if roster.devices:
        with DeviceRegistry(directory.path, url=directory.url) as registry:
            registry.add(Device(dev, site, res, kind="voice") for site, res, dev in roster.devices)
    return {
        "sites": len(roster.sites - known),
        "residents": residents,
        "volunteers": len(roster.volunteers),
        "rotations": len(roster.rotations),
        "overrides": len(roster.overrides),
        "devices": len(roster.devices),
    }


@contextmanager
def _taken_meanwhile() -> Iterator[None]:
    """Creating a record another process created since we looked is no error: replicas of
    the alert service import the same roster as they start (docs/scale-alerts.md)."""
    try:
        yield
    except Conflict as exc:
        if exc.reason != "exists":
            raise


def _build(where: str, cls: Any, **values: Any) -> Any:
    try:
        return cls(**values)
    except PeopleError as exc:
        raise RosterError(where, str(exc)) from exc


def _str(d: dict[str, Any], key: str, where: str) -> str:
    if key not in d:
        raise RosterError(f"{where}.{key}", "is required")
    return str(d[key])


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


def _instant(value: object, tzinfo: Any, where: str) -> int:
    """A TOML datetime or ISO string; naive ones are in ``tzinfo``."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise RosterError(where, f"not an ISO date-time: {value!r}") from exc
    if not isinstance(value, datetime):
        raise RosterError(where, "must be a date-time, e.g. 2026-01-05T08:00")
    if value.tzinfo is None:
        value = value.replace(tzinfo=tzinfo)
    return int(value.timestamp() * 1000)
