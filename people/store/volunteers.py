"""Volunteers and coordinators, and the on-call plans that say who is paged when."""

from __future__ import annotations

import json
from typing import Any

from careloop.db import Connection, upsert
from people.errors import Conflict, NotFound, PeopleError
from people.model import Override, Rotation, Volunteer
from people.store.base import MAX_LIMIT, DirectoryBase

VOL_COLS = (
    "id, name, sites, email, phone, skills, languages, channels, coordinator, active, "
    "location, assigned"
)
_ROT_COLS = "site, name, members, start_ms, shift_ms, timezone, hours"
_OVR_COLS = "id, site, rotation, volunteer, start_ms, end_ms"
_VOL_UPSERT = upsert("volunteers", VOL_COLS, "id")
_ROT_UPSERT = upsert("rotations", _ROT_COLS, "name")
#: A volunteer's sites (a JSON array of ids) as rows ``j.value``, per backend.
_JSON_ELEMENTS = {
    "sqlite": "json_each(volunteers.sites) j",
    "postgresql": "jsonb_array_elements_text(volunteers.sites::jsonb) AS j(value)",
}


def volunteer_of(row: tuple[Any, ...]) -> Volunteer:
    vid, name, sites, email, phone, skills, langs, channels, coord, active, loc, assigned = row
    return Volunteer(
        vid, name, tuple(json.loads(sites)), email, phone, tuple(json.loads(skills)),
        tuple(json.loads(langs)), tuple(json.loads(channels)), bool(coord), bool(active),
        tuple(json.loads(loc)) if loc else None, tuple(json.loads(assigned or "[]")),
    )  # fmt: skip


def _rotation(row: tuple[Any, ...]) -> Rotation:
    site, name, members, start, shift, tz, hours = row
    return Rotation(site, name, tuple(json.loads(members)), start, shift, tz, hours)


def volunteer_sites(db: Connection, volunteer: str) -> tuple[str, ...]:
    """The sites ``volunteer`` serves, read on ``db`` (a connection on the people database
    another store holds a transaction on: the broker ACL is written inside it). Empty when
    the volunteer no longer exists."""
    row = db.execute("SELECT sites FROM volunteers WHERE id = ?", (volunteer,)).fetchone()
    return () if row is None else tuple(json.loads(row[0]))


class Volunteers(DirectoryBase):
    """Volunteers, rotations and overrides."""

    def _write_volunteer(self, db: Connection, v: Volunteer) -> None:
        for site in v.sites:
            self._need_site(db, site)
        db.execute(
            _VOL_UPSERT,
            (
                v.id, v.name, json.dumps(list(v.sites)), v.email, v.phone,
                json.dumps(list(v.skills)), json.dumps(list(v.languages)),
                json.dumps(list(v.channels)), int(v.coordinator), int(v.active),
                json.dumps(v.location) if v.location else None, json.dumps(list(v.assigned)),
            ),
        )  # fmt: skip

    def add_volunteer(self, volunteer: Volunteer) -> Volunteer:
        with self.tx() as db:
            if db.execute("SELECT 1 FROM volunteers WHERE id = ?", (volunteer.id,)).fetchone():
                raise Conflict("volunteer", volunteer.id, "exists")
            self._write_volunteer(db, volunteer)
        return volunteer

    def update_volunteer(self, volunteer: Volunteer) -> Volunteer:
        with self.tx() as db:
            if not db.execute("SELECT 1 FROM volunteers WHERE id = ?", (volunteer.id,)).fetchone():
                raise NotFound("volunteer", volunteer.id)
            self._write_volunteer(db, volunteer)
        return volunteer

    def put_volunteer(self, volunteer: Volunteer) -> Volunteer:
        """Create or replace (roster imports)."""
        with self.tx() as db:
            self._write_volunteer(db, volunteer)
        return volunteer

    def volunteer(self, volunteer_id: str) -> Volunteer:
        row = self.one(f"SELECT {VOL_COLS} FROM volunteers WHERE id = ?", [volunteer_id])
        if row is None:
            raise NotFound("volunteer", volunteer_id)
        return volunteer_of(row)

    def volunteers(
        self,
        sites: frozenset[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = MAX_LIMIT,
    ) -> tuple[list[Volunteer], int]:
        """Volunteers belonging to any of ``sites`` (None = all)."""
        where, args = self._scope("j.value", sites)
        if sites is not None:
            elements = _JSON_ELEMENTS[self.dialect]
            where = f"EXISTS (SELECT 1 FROM {elements} WHERE {where})"
        rows, total = self._page("volunteers", VOL_COLS, where, args, "id", offset, limit)
        return [volunteer_of(r) for r in rows], total

    def delete_volunteer(self, volunteer_id: str) -> None:
        """Remove a volunteer; Conflict while a rotation still names them."""
        with self.tx() as db:
            for (members,) in db.execute("SELECT members FROM rotations"):
                if volunteer_id in json.loads(members):
                    raise Conflict("volunteer", volunteer_id, "is a member of a rotation")
            db.execute("DELETE FROM rotation_overrides WHERE volunteer = ?", (volunteer_id,))
            if db.execute("DELETE FROM volunteers WHERE id = ?", (volunteer_id,)).rowcount == 0:
                raise NotFound("volunteer", volunteer_id)
            # Their own settings go with them: "not now", their apps' push subscriptions.
            db.execute("DELETE FROM volunteer_away WHERE volunteer = ?", (volunteer_id,))
            db.execute("DELETE FROM push_subscriptions WHERE volunteer = ?", (volunteer_id,))

    # -- rotations and overrides ----------------------------------------------------------
    def put_rotation(self, rotation: Rotation) -> Rotation:
        """Create or replace a rotation; every member must be a volunteer of its site."""
        with self.tx() as db:
            self._need_site(db, rotation.site)
            row = db.execute(
                "SELECT site FROM rotations WHERE name = ?", (rotation.name,)
            ).fetchone()
            if row is not None and row[0] != rotation.site:
                raise Conflict("rotation", rotation.name, "exists at another site")
            for member in rotation.members:
                got = db.execute("SELECT sites FROM volunteers WHERE id = ?", (member,)).fetchone()
                if got is None or rotation.site not in json.loads(got[0]):
                    raise Conflict(
                        "rotation", rotation.name, f"{member!r} is not a volunteer of the site"
                    )
            db.execute(
                _ROT_UPSERT,
                (
                    rotation.site, rotation.name, json.dumps(list(rotation.members)),
                    rotation.start_ms, rotation.shift_ms, rotation.timezone, rotation.hours,
                ),
            )  # fmt: skip
        return rotation

    def rotation(self, name: str) -> Rotation:
        row = self.one(f"SELECT {_ROT_COLS} FROM rotations WHERE name = ?", [name])
        if row is None:
            raise NotFound("rotation", name)
        return _rotation(row)

    def rotations(
        self,
        sites: frozenset[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = MAX_LIMIT,
    ) -> tuple[list[Rotation], int]:
        where, args = self._scope("site", sites)
        rows, total = self._page("rotations", _ROT_COLS, where, args, "name", offset, limit)
        return [_rotation(r) for r in rows], total

    def delete_rotation(self, name: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM rotation_overrides WHERE rotation = ?", (name,))
            if db.execute("DELETE FROM rotations WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound("rotation", name)

    def add_override(self, rotation: str, volunteer: str, start_ms: int, end_ms: int) -> Override:
        """Put ``volunteer`` (of the rotation's site) on call in place of the rotation."""
        if end_ms <= start_ms:
            raise PeopleError("an override must end after it starts")
        with self.tx() as db:
            row = db.execute("SELECT site FROM rotations WHERE name = ?", (rotation,)).fetchone()
            if row is None:
                raise NotFound("rotation", rotation)
            site = row[0]
            got = db.execute("SELECT sites FROM volunteers WHERE id = ?", (volunteer,)).fetchone()
            if got is None or site not in json.loads(got[0]):
                raise NotFound("volunteer", volunteer)
            cur = db.execute(
                "INSERT INTO rotation_overrides (site, rotation, volunteer, start_ms, end_ms) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (site, rotation, volunteer, start_ms, end_ms),
            )
            oid = int(cur.fetchone()[0])
        return Override(oid, site, rotation, volunteer, start_ms, end_ms)

    def overrides(
        self,
        sites: frozenset[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = MAX_LIMIT,
    ) -> tuple[list[Override], int]:
        where, args = self._scope("site", sites)
        rows, total = self._page("rotation_overrides", _OVR_COLS, where, args, "id", offset, limit)
        return [Override(*r) for r in rows], total

    def override(self, override_id: int) -> Override:
        row = self.one(f"SELECT {_OVR_COLS} FROM rotation_overrides WHERE id = ?", [override_id])
        if row is None:
            raise NotFound("override", str(override_id))
        return Override(*row)

    def delete_override(self, override_id: int) -> None:
        with self.tx() as db:
            cur = db.execute("DELETE FROM rotation_overrides WHERE id = ?", (override_id,))
            if cur.rowcount == 0:
                raise NotFound("override", str(override_id))
