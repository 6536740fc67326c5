"""The device registry: which resident and site each device belongs to.

A device speaks only for its own resident: ingest stores a message, and the scorer scores
it, only if its device is registered and the topic's site and the payload's resident are the
ones registered for it. The table lives in the people database; provisioning
(``POST /api/v1/devices``) and ``careloop registry`` write it. Readers keep it in memory and
notice changes (``PRAGMA data_version``), so a device registered a moment ago, in any
process, is accepted without a restart.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from careloop.db import upsert
from careloop.logs import fields
from careloop.store import Store
from people.errors import PeopleError
from people.model import valid_id
from people.store.base import MIGRATIONS as PEOPLE_MIGRATIONS
from people.store.base import SCHEMA

log = logging.getLogger(__name__)
#: Seconds between re-reads of a registry whose database did not answer.
RETRY_S = 5.0

Verdict = Literal["ok", "unknown_device", "spoofed"]


@dataclass(frozen=True, slots=True)
class Device:
    """One registration: a device, the resident it speaks for, their site."""

    device: str
    site: str
    resident: str
    #: "terminal", "voice", ... (which device speaks to the resident); None = unknown.
    kind: str | None = None
    registered_at: int = 0

    def __post_init__(self) -> None:
        for field in ("device", "site", "resident"):
            valid_id(getattr(self, field), field)


class DeviceRegistry(Store):
    """The ``devices`` table of the people database, with an in-memory map for checks."""

    error = PeopleError
    label: ClassVar[str] = "device registry"
    pg_schema = "people"
    migrations = PEOPLE_MIGRATIONS

    def __init__(self, path: Path, *, url: str = "", durable: bool = True) -> None:
        super().__init__(path, SCHEMA, url=url, synchronous="full" if durable else "normal")
        self._cache: dict[str, tuple[str, str]] = {}
        self._version: int | None = None
        self._checked = 0.0
        #: When a re-read last failed (monotonic s), 0 = the database answers.
        self._failed_at = 0.0

    # -- writing -------------------------------------------------------------------------
    def add(self, devices: Iterable[Device], *, replace: bool = True) -> int:
        """Register (or, with ``replace``, re-register) devices; returns how many were written."""
        devices = list(devices)
        rows = [
            (d.device, d.site, d.resident, d.kind, d.registered_at or int(time.time() * 1000))
            for d in devices
        ]
        cols = "device, site, resident, kind, registered_at"
        sql = (
            upsert("devices", cols, "device")
            if replace
            else f"INSERT INTO devices ({cols}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
        )
        with self.tx() as db:
            before = db.total_changes
            db.executemany(sql, rows)
            written = db.total_changes - before
        if replace:  # our own commits do not change our data_version: update the cache here
            for d in devices:
                self._cache[d.device] = (d.site, d.resident)
        return written

    def remove(self, device: str) -> bool:
        """Forget a device; True if it was registered."""
        with self.tx() as db:
            gone = db.execute("DELETE FROM devices WHERE device = ?", (device,)).rowcount > 0
        self._cache.pop(device, None)
        return gone

    def remove_resident(self, site: str, resident: str) -> list[str]:
        """Forget every device of a resident (erasure); the device ids removed."""
        with self.tx() as db:
            ids = [
                d
                for (d,) in db.execute(
                    "SELECT device FROM devices WHERE site = ? AND resident = ?", (site, resident)
                )
            ]
            db.execute("DELETE FROM devices WHERE site = ? AND resident = ?", (site, resident))
        for device in ids:
            self._cache.pop(device, None)
        return ids

    # -- reading -------------------------------------------------------------------------
    def devices(self, *, site: str | None = None) -> list[Device]:
        """Every registration (of ``site``), by device id."""
        sql = "SELECT device, site, resident, kind, registered_at FROM devices"
        args: list[str] = []
        if site is not None:
            sql += " WHERE site = ?"
            args.append(site)
        return [Device(*row) for row in self.rows(sql + " ORDER BY device", args)]

    def get(self, device: str) -> Device | None:
        row = self.one(
            "SELECT device, site, resident, kind, registered_at FROM devices WHERE device = ?",
            [device],
        )
        return None if row is None else Device(*row)

    def __len__(self) -> int:
        row = self.one("SELECT count(*) FROM devices")
        return int(row[0]) if row else 0

    def check(self, device: str, site: str, resident: str) -> Verdict:
        """Whether ``device`` may speak for ``resident`` at ``site``.

        Answered from memory; a miss or a mismatch first re-reads the table if another
        process changed it, so a device registered a moment ago is accepted.
        """
        known = self._cache.get(device)
        if known == (site, resident):
            return "ok"
        if self._try_refresh():
            known = self._cache.get(device)
            if known == (site, resident):
                return "ok"
        return "unknown_device" if known is None else "spoofed"

    def refresh(self, *, force: bool = False) -> bool:
        """Reload the map if the file changed since the last load; True if it reloaded."""
        with self.reading() as db:
            version = self.data_version(db)
            if version == self._version and not force:
                return False
            rows = db.execute("SELECT device, site, resident FROM devices").fetchall()
            self._version = version
        self._cache = {device: (site, resident) for device, site, resident in rows}
        self._checked = time.monotonic()
        return True

    def refresh_every(self, seconds: float) -> None:
        """Re-read at most every ``seconds`` (catches re-assigned devices in steady state)."""
        if time.monotonic() - self._checked >= seconds:
            self._checked = time.monotonic()
            self._try_refresh()

    @property
    def reachable(self) -> bool:
        """False since a re-read failed, until one succeeds (the checks answer from memory)."""
        return self._failed_at == 0.0

    def _try_refresh(self) -> bool:
        """:meth:`refresh` for the hot paths (ingest's and the scorer's checks): a database
        that is away (PostgreSQL restarting, a network cut) leaves the devices known so far
        in force and is tried again after :data:`RETRY_S`, instead of ending the caller's
        thread or making every message from an unknown device wait for a connect timeout."""
        now = time.monotonic()
        if self._failed_at and now - self._failed_at < RETRY_S:
            return False
        try:
            reloaded = self.refresh()
        except PeopleError as exc:
            if not self._failed_at:
                log.warning("device registry unreachable, checking from memory",
                            extra=fields(error=type(exc.__cause__ or exc).__name__))  # fmt: skip
            self._failed_at = now
            return False
        if self._failed_at:
            log.info("device registry reachable again")
            self._failed_at = 0.0
        return reloaded


def read_devices(path: Path, *, site: str | None = None) -> Iterator[Device]:
    """Devices from a JSON-lines file or a CSV with a ``device,resident,site[,kind]`` header.

    ``site`` fills in rows that name none. A bad row raises PeopleError with its line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PeopleError(f"cannot read {path}: {exc}") from exc
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("{"):
        rows: Iterable[tuple[int, dict[str, str]]] = _json_rows(lines)
    else:
        rows = ((n + 2, row) for n, row in enumerate(csv.DictReader(lines)))
    for number, row in rows:
        try:
            yield Device(
                str(row["device"]).strip(),
                str(row.get("site") or site or "").strip(),
                str(row["resident"]).strip(),
                (row.get("kind") or None),
            )
        except (KeyError, TypeError, AttributeError, PeopleError) as exc:
            raise PeopleError(f"{path}:{number}: bad device row: {exc}") from exc


def _json_rows(lines: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise PeopleError(f"line {number}: not JSON: {exc}") from exc
        if not isinstance(row, dict):
            raise PeopleError(f"line {number}: expected a JSON object")
        yield number, row
