"""Provisioning: a device gets a registry entry, MQTT credentials and topics of its own.

:class:`Provisioner` is the one writer of the ``mqtt_users`` table (in the people database
beside ingest's ``devices`` and the directory: ``DATA_DIR/people.sqlite3``, or schema
``people`` on PostgreSQL with ``database_url``) and of the broker's
``password_file`` and ``acl_file``, which it renders from that table::

    create_device  -> registry row (ingest accepts it) + random password (returned ONCE;
                      only its $7$ hash is stored) + ACL block for its own topics
    rotate         -> a new password; the old one stops working at the broker's reload
    revoke         -> credentials and registry row gone (row kept as revoked, for the record)
    set_service_password -> the service users (svc.ingest, svc.score, svc.alerts, svc.api)

Every change rewrites both files inside the same write transaction (the file's or the
schema's write lock, :meth:`careloop.store.Store.tx`) that
changed the table, so two processes provisioning at once cannot leave the files describing
an older state than the table; then the broker is told to reload (SIGHUP).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar, Literal

from app.provision.acl import (
    SERVICE_ACCESS,
    SERVICE_PREFIX,
    VOLUNTEER_PREFIX,
    AclUser,
    device_grants,
    render_acl,
    service_user,
    volunteer_grants,
    volunteer_user,
)
from app.provision.broker import signal_broker, write_atomic
from app.provision.errors import DeviceExists, ProvisionError, UnknownDevice
from app.provision.passwords import hash_password, new_password
from careloop.db import Connection, upsert
from careloop.db.migrate import Migrations
from careloop.settings import Settings
from careloop.store import Store
from people.devices import Device, DeviceRegistry
from people.errors import PeopleError
from people.store.base import MIGRATIONS as PEOPLE_MIGRATIONS
from people.store.volunteers import volunteer_sites

DeviceKind = Literal["terminal", "voice", "tag"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mqtt_users (
    username TEXT PRIMARY KEY, role TEXT NOT NULL, site TEXT, resident TEXT, kind TEXT,
    hash TEXT NOT NULL, created_at INTEGER NOT NULL, rotated_at INTEGER, revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS mqtt_users_resident ON mqtt_users (site, resident);
"""
_COLS = "username, site, resident, kind, created_at, rotated_at, revoked_at"
_USER_COLS = "username, role, site, resident, kind, hash, created_at, rotated_at, revoked_at"
#: PostgreSQL: the table in schema ``people``, component ``provision`` (docs/database.md).
MIGRATIONS = Migrations("provision", "app.provision")


@dataclass(frozen=True, slots=True)
class DeviceCredential:
    """A device's MQTT identity (its username is its device id). No secret in here."""

    device: str
    site: str
    resident: str
    kind: str
    created_at: int
    rotated_at: int | None = None
    revoked_at: int | None = None

    @property
    def username(self) -> str:
        return self.device

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Issued:
    """Credentials as issued: the only moment the password exists outside the device."""

    credential: DeviceCredential
    password: str = field(repr=False)


class Provisioner(Store):
    """Credentials, registry entries and broker files, kept in step. Thread-safe.

    SQLite (``url`` empty): the ``mqtt_users`` table in the people database's file
    ``path``. PostgreSQL: in schema ``people`` (component ``provision``, made by
    ``app/provision/migrations``), so a change and the volunteers' sites it reads are one
    transaction under the people schema's write lock, as under the file's lock.
    """

    error = ProvisionError
    label: ClassVar[str] = "MQTT users"
    pg_schema = "people"
    migrations = MIGRATIONS
    requires = (PEOPLE_MIGRATIONS,)

    def __init__(
        self,
        path: Path,
        *,
        password_file: Path,
        acl_file: Path,
        reload: Callable[[], object] | None = None,
        clock: Callable[[], int] | None = None,
        url: str = "",
    ) -> None:
        self.password_file = Path(password_file)
        self.acl_file = Path(acl_file)
        self._reload = reload
        self._now = clock or (lambda: int(time.time() * 1000))
        super().__init__(path, _SCHEMA, url=url, synchronous=None)
        try:
            self.registry = DeviceRegistry(self.path, url=url)  # where ingest looks devices up
        except PeopleError as exc:
            super().close()
            raise ProvisionError(str(exc)) from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> Provisioner:
        """The provisioner of a process: files and pid file from ``settings.provision``."""
        pid_file = settings.provision.broker_pid_file
        paths = settings.paths
        return cls(
            paths.people,
            password_file=paths.password_file,
            acl_file=paths.acl_file,
            reload=None if pid_file is None else (lambda: signal_broker(pid_file)),
            url=settings.store_url,
        )

    def close(self) -> None:
        super().close()
        self.registry.close()

    # -- devices --------------------------------------------------------------------------
    def create_device(
        self, device: str, site: str, resident: str, kind: DeviceKind = "terminal"
    ) -> Issued:
        """Register ``device`` for ``resident`` at ``site`` and issue its credentials.

        DeviceExists if it has live credentials, or is registered to someone else.
        """
        for prefix in (SERVICE_PREFIX, VOLUNTEER_PREFIX):
            if device.startswith(prefix):
                raise ProvisionError(f"device ids may not start with {prefix!r}")
        try:
            entry = Device(device, site, resident, kind)
        except PeopleError as exc:
            raise ProvisionError(str(exc)) from exc
        current = self._get(device)
        if current is not None and current.active:
            raise DeviceExists(device, current.site)
        if self.registry.check(device, site, resident) == "spoofed":
            raise DeviceExists(device, "(registered to another resident)")
        password = new_password()
        now = self._now()
        try:
            self.registry.add([entry])
        except PeopleError as exc:
            raise ProvisionError(str(exc)) from exc
        try:
            # a device created again gets a new record: neither rotated nor revoked
            row = (device, "device", site, resident, kind, hash_password(password), now)
            with self._tx() as db:
                db.execute(upsert("mqtt_users", _USER_COLS, "username"), (*row, None, None))
        except BaseException:
            self.registry.remove(device)
            raise
        return Issued(DeviceCredential(device, site, resident, kind, now), password)

    def rotate(self, device: str) -> Issued:
        """A new password for a live device; the old one works until the broker reloads."""
        current = self.device(device)
        if not current.active:
            raise UnknownDevice(device)
        password = new_password()
        now = self._now()
        with self._tx() as db:
            db.execute(
                "UPDATE mqtt_users SET hash = ?, rotated_at = ? "
                "WHERE username = ? AND role = 'device'",
                (hash_password(password), now, device),
            )
        return Issued(replace(current, rotated_at=now), password)

    def revoke(self, device: str) -> DeviceCredential:
        """Withdraw the credentials and the registration; the record stays, marked revoked.

        Idempotent: revoking a revoked device returns it unchanged.
        """
        current = self.device(device)
        if not current.active:
            return current
        now = self._now()
        with self._tx() as db:
            db.execute(
                "UPDATE mqtt_users SET hash = '', revoked_at = ? WHERE username = ? "
                "AND role = 'device'",
                (now, device),
            )
        self.registry.remove(device)
        return replace(current, revoked_at=now)

    def device(self, device: str) -> DeviceCredential:
        """One device's credential record (live or revoked); UnknownDevice if none."""
        found = self._get(device)
        if found is None:
            raise UnknownDevice(device)
        return found

    def devices(
        self,
        sites: frozenset[str] | None = None,
        *,
        include_revoked: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[DeviceCredential], int]:
        """One page of devices at ``sites`` (None = all) by site and id, and the total."""
        where, args = "role = 'device'", []
        if not include_revoked:
            where += " AND revoked_at IS NULL"
        if sites is not None:
            where += f" AND site IN ({','.join('?' * len(sites)) or 'NULL'})"
            args.extend(sorted(sites))
        total = int(self.rows(f"SELECT count(*) FROM mqtt_users WHERE {where}", args)[0][0])
        rows = self.rows(
            f"SELECT {_COLS} FROM mqtt_users WHERE {where} ORDER BY site, username "
            "LIMIT ? OFFSET ?",
            [*args, max(0, limit), max(0, offset)],
        )
        return [DeviceCredential(*r) for r in rows], total

    def erase_resident(self, site: str, resident: str) -> dict[str, int]:
        """Delete every credential row naming the resident and their registrations.

        Returns rows deleted: ``mqtt_users`` and ``devices`` (the registry).
        """
        devices = [
            d.device for d in self.registry.devices() if (d.site, d.resident) == (site, resident)
        ]
        with self._tx() as db:
            named = [
                r[0]
                for r in db.execute(
                    "SELECT username FROM mqtt_users WHERE site = ? AND resident = ?",
                    (site, resident),
                )
            ]
            db.execute("DELETE FROM mqtt_users WHERE site = ? AND resident = ?", (site, resident))
        removed = sum(self.registry.remove(d) for d in devices)
        return {"mqtt_users": len(named), "devices": removed}

    # -- services -------------------------------------------------------------------------
    def set_service_password(self, name: str) -> str:
        """Create or rotate the user of a careloop service; returns its new password once."""
        username = service_user(name)
        password = new_password()
        now = self._now()
        with self._tx() as db:
            db.execute(
                "INSERT INTO mqtt_users VALUES (?, 'service', NULL, NULL, ?, ?, ?, NULL, NULL) "
                "ON CONFLICT (username) DO UPDATE SET hash = excluded.hash, rotated_at = ?",
                (username, name, hash_password(password), now, now),
            )
        return password

    # -- volunteers' apps --------------------------------------------------------------------
    def set_volunteer_password(self, volunteer: str) -> tuple[str, str]:
        """Create or rotate a volunteer app's MQTT login; returns (username, password), the
        password once. The app may hear only its own pages and send only its own replies."""
        username = volunteer_user(volunteer)
        password = new_password()
        now = self._now()
        with self._tx() as db:
            db.execute(
                "INSERT INTO mqtt_users VALUES (?, 'volunteer', NULL, NULL, ?, ?, ?, NULL, NULL) "
                "ON CONFLICT (username) DO UPDATE SET hash = excluded.hash, rotated_at = ?, "
                "revoked_at = NULL",
                (username, volunteer, hash_password(password), now, now),
            )
        return username, password

    def revoke_volunteer(self, volunteer: str) -> bool:
        """Withdraw a volunteer app's login (the broker drops it at reload)."""
        with self._tx() as db:
            changed = db.execute(
                "UPDATE mqtt_users SET revoked_at = ?, hash = '' WHERE username = ? "
                "AND role = 'volunteer' AND revoked_at IS NULL",
                (self._now(), volunteer_user(volunteer)),
            ).rowcount
        return bool(changed)

    def services(self) -> list[str]:
        """The service users that exist (``svc.ingest`` ...)."""
        rows = self.rows("SELECT username FROM mqtt_users WHERE role = 'service' ORDER BY 1")
        return [r[0] for r in rows]

    def write_files(self) -> None:
        """Rewrite both broker files from the table: after restoring a backup, and whenever
        a volunteer's sites change (their app's topics follow them)."""
        with self._tx():
            pass

    # -- plumbing -------------------------------------------------------------------------
    def _get(self, device: str) -> DeviceCredential | None:
        row = self.one(
            f"SELECT {_COLS} FROM mqtt_users WHERE username = ? AND role = 'device'", [device]
        )
        return None if row is None else DeviceCredential(*row)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """Change the table, rewrite both files from it, commit, then reload the broker."""
        with self.tx() as db:
            yield db
            self._write_files(db)
        if self._reload is not None:
            self._reload()

    def _write_files(self, db: Connection) -> None:
        rows = db.execute(
            "SELECT username, role, site, resident, kind, hash FROM mqtt_users "
            "WHERE revoked_at IS NULL AND hash != '' ORDER BY role DESC, site, username"
        ).fetchall()
        users: list[AclUser] = []
        passwd: list[str] = []
        for username, role, site, _resident, kind, hashed in rows:
            passwd.append(f"{username}:{hashed}")
            if role == "service":
                users.append(AclUser(username, SERVICE_ACCESS[kind], f"service {kind}"))
            elif role == "volunteer":
                grants = volunteer_grants(kind, volunteer_sites(db, kind))
                users.append(AclUser(username, grants, "volunteer app"))
            else:
                users.append(AclUser(username, device_grants(site, username), f"site {site}"))
        write_atomic(self.password_file, "\n".join(passwd) + ("\n" if passwd else ""))
        write_atomic(self.acl_file, render_acl(users))
