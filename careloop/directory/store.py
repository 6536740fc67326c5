"""The directory: sites, residents, consents, volunteers, on-call plans, API tokens, audit.

One SQLite file (WAL) shared with ingest's device registry (``DATA_DIR/registry.sqlite3``,
separate tables), so a deployment has one relational database to back up and erase from.
Thread-safe: one connection behind a lock, as in :mod:`ingest.registry`.

Readers that cache (the API's roster hand-off to the alert service, the scorer's care
profiles) compare :meth:`Directory.version` to notice changes made by any process.
Tokens are stored as SHA-256 hashes; the raw token exists only in the caller's hands.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from alerts.roster import Override, Resident, Roster, Rotation, Volunteer
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
    valid_id,
)
from careloop.sqlite import open_database
from models.runtime.careplan import CareProfile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, timezone TEXT NOT NULL,
    retention_days INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS residents (
    site TEXT NOT NULL, id TEXT NOT NULL, display_name TEXT NOT NULL, language TEXT NOT NULL,
    profile TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (site, id)
);
CREATE TABLE IF NOT EXISTS consents (
    site TEXT NOT NULL, resident TEXT NOT NULL, store_utterance_text INTEGER NOT NULL,
    share_with_volunteers INTEGER NOT NULL, share_vitals_with_volunteers INTEGER NOT NULL,
    updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY (site, resident)
);
CREATE TABLE IF NOT EXISTS volunteers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, sites TEXT NOT NULL, email TEXT, phone TEXT,
    skills TEXT NOT NULL, languages TEXT NOT NULL, channels TEXT NOT NULL,
    coordinator INTEGER NOT NULL, active INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rotations (
    site TEXT NOT NULL, name TEXT PRIMARY KEY, members TEXT NOT NULL, start_ms INTEGER NOT NULL,
    shift_ms INTEGER NOT NULL, timezone TEXT NOT NULL, hours TEXT
);
CREATE TABLE IF NOT EXISTS rotation_overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, rotation TEXT NOT NULL,
    volunteer TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL, subject TEXT NOT NULL,
    sites TEXT, created_at INTEGER NOT NULL, revoked_at INTEGER, note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_reads (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, subject TEXT NOT NULL,
    role TEXT NOT NULL, action TEXT NOT NULL, site TEXT NOT NULL, resident TEXT,
    route TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_reads_resident ON audit_reads (site, resident);
"""

#: Most rows one page of a list returns.
MAX_LIMIT = 500


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256, hex. Tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def default_path(data_dir: Path) -> Path:
    """Where the directory lives by default: the same file as ingest's device registry."""
    return Path(data_dir) / "registry.sqlite3"


class Directory:
    """The directory file. Thread-safe; use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        path: Path,
        *,
        durable: bool = True,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.path = Path(path)
        self._now = clock or (lambda: int(time.time() * 1000))
        self._lock = threading.Lock()
        self._writes = 0
        try:
            self._db = open_database(
                self.path, _SCHEMA, synchronous="full" if durable else "normal", private=True
            )
        except (sqlite3.Error, OSError) as exc:
            raise DirectoryError(f"cannot open directory {self.path}: {exc}") from exc

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; sqlite3 errors become DirectoryError."""
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._writes += 1
        except sqlite3.Error as exc:
            raise DirectoryError(f"cannot write directory {self.path}: {exc}") from exc

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise DirectoryError(f"cannot read directory {self.path}: {exc}") from exc

    def _page(
        self,
        table: str,
        cols: str,
        where: str,
        args: list[Any],
        order: str,
        offset: int,
        limit: int,
    ) -> tuple[list[tuple[Any, ...]], int]:
        """Rows ``offset..offset+limit`` and the total, read under one lock."""
        limit = max(0, min(limit, MAX_LIMIT))
        try:
            with self._lock:
                total = int(
                    self._db.execute(f"SELECT count(*) FROM {table} WHERE {where}", args)
                    .fetchone()[0]
                )  # fmt: skip
                rows = self._db.execute(
                    f"SELECT {cols} FROM {table} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                    [*args, limit, max(0, offset)],
                ).fetchall()
        except sqlite3.Error as exc:
            raise DirectoryError(f"cannot read directory {self.path}: {exc}") from exc
        return rows, total

    @staticmethod
    def _scope(column: str, sites: frozenset[str] | None) -> tuple[str, list[Any]]:
        """A WHERE clause limiting ``column`` to ``sites`` (None = every site)."""
        if sites is None:
            return "1", []
        if not sites:
            return "0", []
        return f"{column} IN ({','.join('?' * len(sites))})", sorted(sites)

    def version(self) -> int:
        """Grows whenever any process commits to the file (data_version) or we do."""
        (version,) = self._rows("PRAGMA data_version")[0]
        return int(version) + self._writes

    def ping(self) -> None:
        """Raise DirectoryError unless the file answers a query."""
        self._rows("SELECT 1")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sites ----------------------------------------------------------------------------
    def add_site(self, site: Site) -> Site:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM sites WHERE id = ?", (site.id,)).fetchone():
                raise Conflict("site", site.id, "exists")
            db.execute(
                "INSERT INTO sites VALUES (?, ?, ?, ?)",
                (site.id, site.name, site.timezone, site.retention_days),
            )
        return site

    def update_site(self, site: Site) -> Site:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE sites SET name = ?, timezone = ?, retention_days = ? WHERE id = ?",
                (site.name, site.timezone, site.retention_days, site.id),
            )
            if cur.rowcount == 0:
                raise NotFound("site", site.id)
        return site

    def site(self, site_id: str) -> Site:
        rows = self._rows(
            "SELECT id, name, timezone, retention_days FROM sites WHERE id = ?", [site_id]
        )
        if not rows:
            raise NotFound("site", site_id)
        return Site(*rows[0])

    def sites(
        self, sites: frozenset[str] | None = None, *, offset: int = 0, limit: int = MAX_LIMIT
    ) -> tuple[list[Site], int]:
        where, args = self._scope("id", sites)
        rows, total = self._page(
            "sites", "id, name, timezone, retention_days", where, args, "id", offset, limit
        )
        return [Site(*r) for r in rows], total

    def delete_site(self, site_id: str) -> None:
        """Remove an empty site; Conflict while residents or volunteers still belong to it."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM residents WHERE site = ?", (site_id,)).fetchone():
                raise Conflict("site", site_id, "still has residents")
            if db.execute("DELETE FROM sites WHERE id = ?", (site_id,)).rowcount == 0:
                raise NotFound("site", site_id)

    def _need_site(self, db: sqlite3.Connection, site: str) -> None:
        if not db.execute("SELECT 1 FROM sites WHERE id = ?", (site,)).fetchone():
            raise NotFound("site", site)

    # -- residents ------------------------------------------------------------------------
    _RES_COLS = "site, id, display_name, language, profile, created_at"

    @staticmethod
    def _resident(row: tuple[Any, ...]) -> ResidentRecord:
        site, rid, name, language, profile, created = row
        return ResidentRecord(
            site, rid, name, language, CareProfile.model_validate_json(profile), created
        )

    def add_resident(self, resident: ResidentRecord) -> ResidentRecord:
        resident = replace(resident, created_at=resident.created_at or self._now())
        with self._tx() as db:
            self._need_site(db, resident.site)
            if db.execute(
                "SELECT 1 FROM residents WHERE site = ? AND id = ?", (resident.site, resident.id)
            ).fetchone():
                raise Conflict("resident", f"{resident.site}/{resident.id}", "exists")
            db.execute(
                f"INSERT INTO residents ({self._RES_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    resident.site, resident.id, resident.display_name, resident.language,
                    resident.profile.model_dump_json(), resident.created_at,
                ),
            )  # fmt: skip
        return resident

    def update_resident(self, resident: ResidentRecord) -> ResidentRecord:
        """Replace name, language and profile (``created_at`` is kept)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE residents SET display_name = ?, language = ?, profile = ? "
                "WHERE site = ? AND id = ?",
                (
                    resident.display_name, resident.language,
                    resident.profile.model_dump_json(), resident.site, resident.id,
                ),
            )  # fmt: skip
            if cur.rowcount == 0:
                raise NotFound("resident", f"{resident.site}/{resident.id}")
        return self.resident(resident.site, resident.id)

    def set_care_profile(self, site: str, resident: str, profile: CareProfile) -> ResidentRecord:
        current = self.resident(site, resident)
        return self.update_resident(replace(current, profile=profile))

    def resident(self, site: str, resident: str) -> ResidentRecord:
        rows = self._rows(
            f"SELECT {self._RES_COLS} FROM residents WHERE site = ? AND id = ?", [site, resident]
        )
        if not rows:
            raise NotFound("resident", f"{site}/{resident}")
        return self._resident(rows[0])

    def residents(
        self,
        sites: frozenset[str] | None = None,
        *,
        shared_only: bool = False,
        offset: int = 0,
        limit: int = MAX_LIMIT,
    ) -> tuple[list[ResidentRecord], int]:
        """Residents of ``sites`` (None = all); ``shared_only``: only those whose consent
        lets volunteers see them (``share_with_volunteers``)."""
        where, args = self._scope("site", sites)
        if shared_only:
            where += (
                " AND EXISTS (SELECT 1 FROM consents c WHERE c.site = residents.site AND "
                "c.resident = residents.id AND c.share_with_volunteers = 1)"
            )
        rows, total = self._page(
            "residents", self._RES_COLS, where, args, "site, id", offset, limit
        )
        return [self._resident(r) for r in rows], total

    def care_profiles(self) -> dict[tuple[str, str], CareProfile]:
        """Every resident's care profile, keyed by (site, resident), for the scorer."""
        out: dict[tuple[str, str], CareProfile] = {}
        for site, rid, profile in self._rows("SELECT site, id, profile FROM residents"):
            try:
                out[(site, rid)] = CareProfile.model_validate_json(profile)
            except ValidationError as exc:  # written by an older version: say which one
                raise DirectoryError(f"care profile of {site}/{rid} is invalid") from exc
        return out

    def erase_resident(self, site: str, resident: str) -> dict[str, int]:
        """Delete every row about a resident in this file; rows deleted per table.

        Covers residents, consents and the audit of reads (which names the resident).
        Other stores (InfluxDB, alerts, ingest's devices) are erased by their owners.
        """
        out: dict[str, int] = {}
        with self._tx() as db:
            for table, column in (
                ("residents", "id"),
                ("consents", "resident"),
                ("audit_reads", "resident"),
            ):
                cur = db.execute(
                    f"DELETE FROM {table} WHERE site = ? AND {column} = ?", (site, resident)
                )
                out[table] = cur.rowcount
        return out

    # -- consents -------------------------------------------------------------------------
    def consent(self, site: str, resident: str) -> Consent:
        """The resident's consent; all False where none was ever recorded."""
        rows = self._rows(
            "SELECT site, resident, store_utterance_text, share_with_volunteers, "
            "share_vitals_with_volunteers, updated_at, updated_by FROM consents "
            "WHERE site = ? AND resident = ?",
            [site, resident],
        )
        if not rows:
            return Consent(site, resident)
        s, r, text, share, vitals, at, by = rows[0]
        return Consent(s, r, bool(text), bool(share), bool(vitals), at, by)

    def set_consent(self, consent: Consent) -> Consent:
        """Record a consent for an existing resident; stamps ``updated_at`` if unset."""
        consent = replace(consent, updated_at=consent.updated_at or self._now())
        with self._tx() as db:
            if not db.execute(
                "SELECT 1 FROM residents WHERE site = ? AND id = ?",
                (consent.site, consent.resident),
            ).fetchone():
                raise NotFound("resident", f"{consent.site}/{consent.resident}")
            db.execute(
                "INSERT OR REPLACE INTO consents VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    consent.site, consent.resident, int(consent.store_utterance_text),
                    int(consent.share_with_volunteers),
                    int(consent.share_vitals_with_volunteers), consent.updated_at,
                    consent.updated_by,
                ),
            )  # fmt: skip
        return consent

    # -- volunteers -----------------------------------------------------------------------
    _VOL_COLS = "id, name, sites, email, phone, skills, languages, channels, coordinator, active"

    @staticmethod
    def _volunteer(row: tuple[Any, ...]) -> VolunteerRecord:
        vid, name, sites, email, phone, skills, langs, channels, coord, active = row
        return VolunteerRecord(
            vid, name, tuple(json.loads(sites)), email, phone, tuple(json.loads(skills)),
            tuple(json.loads(langs)), tuple(json.loads(channels)), bool(coord), bool(active),
        )  # fmt: skip

    def _write_volunteer(self, db: sqlite3.Connection, v: VolunteerRecord, verb: str) -> None:
        for site in v.sites:
            self._need_site(db, site)
        db.execute(
            f"{verb} INTO volunteers ({self._VOL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                v.id, v.name, json.dumps(list(v.sites)), v.email, v.phone,
                json.dumps(list(v.skills)), json.dumps(list(v.languages)),
                json.dumps(list(v.channels)), int(v.coordinator), int(v.active),
            ),
        )  # fmt: skip

    def add_volunteer(self, volunteer: VolunteerRecord) -> VolunteerRecord:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM volunteers WHERE id = ?", (volunteer.id,)).fetchone():
                raise Conflict("volunteer", volunteer.id, "exists")
            self._write_volunteer(db, volunteer, "INSERT")
        return volunteer

    def update_volunteer(self, volunteer: VolunteerRecord) -> VolunteerRecord:
        with self._tx() as db:
            if not db.execute("SELECT 1 FROM volunteers WHERE id = ?", (volunteer.id,)).fetchone():
                raise NotFound("volunteer", volunteer.id)
            self._write_volunteer(db, volunteer, "INSERT OR REPLACE")
        return volunteer

    def volunteer(self, volunteer_id: str) -> VolunteerRecord:
        rows = self._rows(f"SELECT {self._VOL_COLS} FROM volunteers WHERE id = ?", [volunteer_id])
        if not rows:
            raise NotFound("volunteer", volunteer_id)
        return self._volunteer(rows[0])

    def volunteers(
        self, sites: frozenset[str] | None = None, *, offset: int = 0, limit: int = MAX_LIMIT
    ) -> tuple[list[VolunteerRecord], int]:
        """Volunteers belonging to any of ``sites`` (None = all)."""
        where, args = self._scope("j.value", sites)
        if sites is not None:
            where = f"EXISTS (SELECT 1 FROM json_each(volunteers.sites) j WHERE {where})"
        rows, total = self._page("volunteers", self._VOL_COLS, where, args, "id", offset, limit)
        return [self._volunteer(r) for r in rows], total

    def delete_volunteer(self, volunteer_id: str) -> None:
        """Remove a volunteer; Conflict while a rotation still names them."""
        with self._tx() as db:
            for (members,) in db.execute("SELECT members FROM rotations"):
                if volunteer_id in json.loads(members):
                    raise Conflict("volunteer", volunteer_id, "is a member of a rotation")
            db.execute("DELETE FROM rotation_overrides WHERE volunteer = ?", (volunteer_id,))
            if db.execute("DELETE FROM volunteers WHERE id = ?", (volunteer_id,)).rowcount == 0:
                raise NotFound("volunteer", volunteer_id)

    # -- rotations and overrides ----------------------------------------------------------
    _ROT_COLS = "site, name, members, start_ms, shift_ms, timezone, hours"

    @staticmethod
    def _rotation(row: tuple[Any, ...]) -> RotationRecord:
        site, name, members, start, shift, tz, hours = row
        return RotationRecord(site, name, tuple(json.loads(members)), start, shift, tz, hours)

    def put_rotation(self, rotation: RotationRecord) -> RotationRecord:
        """Create or replace a rotation; every member must be a volunteer of its site."""
        with self._tx() as db:
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
                f"INSERT OR REPLACE INTO rotations ({self._ROT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    rotation.site, rotation.name, json.dumps(list(rotation.members)),
                    rotation.start_ms, rotation.shift_ms, rotation.timezone, rotation.hours,
                ),
            )  # fmt: skip
        return rotation

    def rotation(self, name: str) -> RotationRecord:
        rows = self._rows(f"SELECT {self._ROT_COLS} FROM rotations WHERE name = ?", [name])
        if not rows:
            raise NotFound("rotation", name)
        return self._rotation(rows[0])

    def rotations(
        self, sites: frozenset[str] | None = None, *, offset: int = 0, limit: int = MAX_LIMIT
    ) -> tuple[list[RotationRecord], int]:
        where, args = self._scope("site", sites)
        rows, total = self._page("rotations", self._ROT_COLS, where, args, "name", offset, limit)
        return [self._rotation(r) for r in rows], total

    def delete_rotation(self, name: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM rotation_overrides WHERE rotation = ?", (name,))
            if db.execute("DELETE FROM rotations WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound("rotation", name)

    def add_override(
        self, rotation: str, volunteer: str, start_ms: int, end_ms: int
    ) -> OverrideRecord:
        """Put ``volunteer`` (of the rotation's site) on call in place of the rotation."""
        if end_ms <= start_ms:
            raise DirectoryError("an override must end after it starts")
        with self._tx() as db:
            row = db.execute("SELECT site FROM rotations WHERE name = ?", (rotation,)).fetchone()
            if row is None:
                raise NotFound("rotation", rotation)
            site = row[0]
            got = db.execute("SELECT sites FROM volunteers WHERE id = ?", (volunteer,)).fetchone()
            if got is None or site not in json.loads(got[0]):
                raise NotFound("volunteer", volunteer)
            cur = db.execute(
                "INSERT INTO rotation_overrides (site, rotation, volunteer, start_ms, end_ms) "
                "VALUES (?, ?, ?, ?, ?)",
                (site, rotation, volunteer, start_ms, end_ms),
            )
            oid = int(cur.lastrowid or 0)
        return OverrideRecord(oid, site, rotation, volunteer, start_ms, end_ms)

    def overrides(
        self, sites: frozenset[str] | None = None, *, offset: int = 0, limit: int = MAX_LIMIT
    ) -> tuple[list[OverrideRecord], int]:
        where, args = self._scope("site", sites)
        rows, total = self._page(
            "rotation_overrides", "id, site, rotation, volunteer, start_ms, end_ms",
            where, args, "id", offset, limit,
        )  # fmt: skip
        return [OverrideRecord(*r) for r in rows], total

    def override(self, override_id: int) -> OverrideRecord:
        rows = self._rows(
            "SELECT id, site, rotation, volunteer, start_ms, end_ms FROM rotation_overrides "
            "WHERE id = ?",
            [override_id],
        )
        if not rows:
            raise NotFound("override", str(override_id))
        return OverrideRecord(*rows[0])

    def delete_override(self, override_id: int) -> None:
        with self._tx() as db:
            if (
                db.execute("DELETE FROM rotation_overrides WHERE id = ?", (override_id,)).rowcount
                == 0
            ):
                raise NotFound("override", str(override_id))

    # -- the roster the alert service pages from -------------------------------------------
    def roster(self, site: str | None = None) -> Roster:
        """Volunteers, residents, rotations and overrides as :class:`alerts.roster.Roster`.

        A volunteer of several sites has a home site (``site`` when given and theirs, else
        their first) and is paged for the others too (``Volunteer.also``).
        """
        scope = None if site is None else frozenset({site})
        roster = Roster()
        for v in self.volunteers(scope, limit=MAX_LIMIT * 1000)[0]:
            home = site if site is not None and site in v.sites else v.sites[0]
            roster.volunteers[v.id] = Volunteer(
                id=v.id, site=home, also=frozenset(v.sites) - {home},
                skills=frozenset(v.skills), languages=v.languages,
                coordinator=v.coordinator, channels=v.channels, email=v.email, active=v.active,
            )  # fmt: skip
        devices = self._speaking_devices()
        for r in self.residents(scope, limit=MAX_LIMIT * 1000)[0]:
            roster.residents[(r.site, r.id)] = Resident(
                r.id, r.site, device=devices.get((r.site, r.id)), language=r.language
            )
        for rot in self.rotations(scope, limit=MAX_LIMIT * 1000)[0]:
            roster.rotations.append(
                Rotation(
                    rot.site, rot.name, rot.members, rot.start_ms, rot.shift_ms,
                    rot.timezone, rot.window(),
                )
            )  # fmt: skip
        for o in self.overrides(scope, limit=MAX_LIMIT * 1000)[0]:
            roster.overrides.append(Override(o.rotation, o.volunteer, o.start_ms, o.end_ms))
        return roster

    def _speaking_devices(self) -> dict[tuple[str, str], str]:
        """(site, resident) -> the device that tells them "help is on the way".

        Devices live in ingest's registry table in this same database file (when ingest or
        provisioning created it): the voice device if the resident has one, else a terminal.
        """
        exists = self._rows("SELECT 1 FROM sqlite_master WHERE type='table' AND name='devices'")
        if not exists:
            return {}
        out: dict[tuple[str, str], str] = {}
        rank = {"voice": 0, "terminal": 1}
        best: dict[tuple[str, str], int] = {}
        for device, site, resident, kind in self._rows(
            "SELECT device, site, resident, kind FROM devices ORDER BY device"
        ):
            r = rank.get(kind or "", 2)
            if r < best.get((site, resident), 3):
                best[(site, resident)] = r
                out[(site, resident)] = device
        return out

    # -- tokens ---------------------------------------------------------------------------
    @staticmethod
    def _token(row: tuple[Any, ...]) -> TokenRecord:
        tid, role, subject, sites, created, revoked, note = row
        scope = None if sites is None else frozenset(json.loads(sites))
        return TokenRecord(tid, cast(Role, role), subject, scope, created, revoked, note)

    _TOK_COLS = "id, role, subject, sites, created_at, revoked_at, note"

    def create_token(
        self, role: Role, subject: str, sites: Iterable[str] | None, *, note: str = ""
    ) -> tuple[str, TokenRecord]:
        """A new token: ``(raw token, record)``. The raw token is not stored anywhere.

        ``sites=None`` (every site) is allowed for admins only; other roles need sites.
        """
        if role not in ROLES or role == "public":
            raise DirectoryError(
                f"role must be one of {', '.join(r for r in ROLES if r != 'public')}"
            )
        valid_id(subject, "subject")
        scope = None if sites is None else frozenset(valid_id(s, "site") for s in sites)
        if role == "admin":
            scope = None
        elif not scope:
            raise DirectoryError(f"a {role} token needs at least one site")
        if role == "device" and (scope is None or len(scope) != 1):
            raise DirectoryError("a device token names exactly one site")
        raw = "clt_" + secrets.token_urlsafe(32)
        record = TokenRecord(secrets.token_hex(6), role, subject, scope, self._now(), None, note)
        with self._tx() as db:
            db.execute(
                f"INSERT INTO api_tokens (hash, {self._TOK_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    hash_token(raw), record.id, role, subject,
                    None if scope is None else json.dumps(sorted(scope)),
                    record.created_at, None, note,
                ),
            )  # fmt: skip
        return raw, record

    def token_for(self, raw: str) -> TokenRecord | None:
        """The live (not revoked) token whose hash matches ``raw``, or None."""
        rows = self._rows(
            f"SELECT {self._TOK_COLS} FROM api_tokens WHERE hash = ? AND revoked_at IS NULL",
            [hash_token(raw)],
        )
        return self._token(rows[0]) if rows else None

    def tokens(self, *, include_revoked: bool = False) -> list[TokenRecord]:
        where = "1" if include_revoked else "revoked_at IS NULL"
        rows = self._rows(
            f"SELECT {self._TOK_COLS} FROM api_tokens WHERE {where} ORDER BY created_at, id"
        )
        return [self._token(r) for r in rows]

    def revoke_token(self, token_id: str) -> TokenRecord:
        """Revoke by id (as listed); revoking twice keeps the first time."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                (self._now(), token_id),
            )
            if cur.rowcount == 0:
                raise NotFound("token", token_id)
            row = db.execute(
                f"SELECT {self._TOK_COLS} FROM api_tokens WHERE id = ?", (token_id,)
            ).fetchone()
        return self._token(row)

    def revoke_subject(self, subject: str, role: Role | None = None) -> int:
        """Revoke every live token of ``subject`` (e.g. a removed device); how many."""
        sql = "UPDATE api_tokens SET revoked_at = ? WHERE subject = ? AND revoked_at IS NULL"
        args: list[Any] = [self._now(), subject]
        if role is not None:
            sql += " AND role = ?"
            args.append(role)
        with self._tx() as db:
            return db.execute(sql, args).rowcount

    # -- audit of personal-data reads -----------------------------------------------------
    def audit_read(
        self,
        *,
        subject: str,
        role: str,
        action: str,
        site: str,
        resident: str | None,
        route: str,
    ) -> None:
        """Record that ``subject`` read personal data (ids and the route only, no content)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO audit_reads (ts, subject, role, action, site, resident, route) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self._now(), subject, role, action, site, resident, route),
            )

    def audit(
        self,
        sites: frozenset[str] | None = None,
        *,
        resident: str | None = None,
        offset: int = 0,
        limit: int = MAX_LIMIT,
    ) -> tuple[list[AuditRow], int]:
        """Audit rows, newest first."""
        where, args = self._scope("site", sites)
        if resident is not None:
            where += " AND resident = ?"
            args.append(resident)
        rows, total = self._page(
            "audit_reads", "id, ts, subject, role, action, site, resident, route",
            where, args, "id DESC", offset, limit,
        )  # fmt: skip
        return [AuditRow(*r) for r in rows], total
