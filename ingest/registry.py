"""The device registry: which resident and site each device belongs to (SQLite).

Ingest accepts a message only if its device is registered, and the topic's site and the
payload's resident are the ones registered for it: a terminal cannot write readings into
another resident's record. The CLI (``careloop registry``) adds, lists and imports devices;
ingest keeps the table in memory and notices changes (``PRAGMA data_version``) so newly
registered devices are accepted without a restart.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from careloop.sqlite import open_database
from ingest.decoder import strict_id
from ingest.errors import RegistryError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device        TEXT PRIMARY KEY,
    site          TEXT NOT NULL,
    resident      TEXT NOT NULL,
    kind          TEXT,
    registered_at INTEGER NOT NULL
);
"""

Verdict = Literal["ok", "unknown_device", "spoofed"]


@dataclass(frozen=True, slots=True)
class Device:
    """One registration."""

    device: str
    site: str
    resident: str
    kind: str | None = None
    registered_at: int = 0

    def __post_init__(self) -> None:
        for field in ("device", "site", "resident"):
            if not strict_id(getattr(self, field)):
                raise RegistryError(f"{field} {getattr(self, field)!r} is not a valid id")


class Registry:
    """The registry file. Thread-safe; use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = open_database(
                self.path, _SCHEMA, synchronous="full" if durable else "normal", private=True
            )
        except (sqlite3.Error, OSError) as exc:
            raise RegistryError(f"cannot open registry {self.path}: {exc}") from exc
        self._cache: dict[str, tuple[str, str]] = {}
        self._version: int | None = None
        self._checked = 0.0

    # -- writing -------------------------------------------------------------------------
    def add(self, devices: Iterable[Device], *, replace: bool = True) -> int:
        """Register (or, with ``replace``, re-register) devices; returns how many were written."""
        devices = list(devices)
        rows = [
            (d.device, d.site, d.resident, d.kind, d.registered_at or int(time.time() * 1000))
            for d in devices
        ]
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    before = self._db.total_changes
                    self._db.executemany(
                        f"{verb} INTO devices (device, site, resident, kind, registered_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        rows,
                    )
                    written = self._db.total_changes - before
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot write registry {self.path}: {exc}") from exc
        if replace:  # our own commits do not change our data_version: update the cache here
            for d in devices:
                self._cache[d.device] = (d.site, d.resident)
        return written

    def remove(self, device: str) -> bool:
        """Forget a device; True if it was registered."""
        try:
            with self._lock:
                cur = self._db.execute("DELETE FROM devices WHERE device = ?", (device,))
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot write registry {self.path}: {exc}") from exc
        self._cache.pop(device, None)
        return cur.rowcount > 0

    # -- reading -------------------------------------------------------------------------
    def devices(self) -> list[Device]:
        """Every registration, by device id."""
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT device, site, resident, kind, registered_at FROM devices "
                    "ORDER BY device"
                ).fetchall()
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot read registry {self.path}: {exc}") from exc
        return [Device(*row) for row in rows]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM devices").fetchone()[0])

    def check(self, device: str, site: str, resident: str) -> Verdict:
        """Whether ``device`` may speak for ``resident`` at ``site``.

        Answered from memory; a miss or a mismatch first re-reads the table if another
        process changed it, so a device registered a moment ago is accepted.
        """
        known = self._cache.get(device)
        if known == (site, resident):
            return "ok"
        if self.refresh():
            known = self._cache.get(device)
            if known == (site, resident):
                return "ok"
        return "unknown_device" if known is None else "spoofed"

    def refresh(self, *, force: bool = False) -> bool:
        """Reload the cache if the file changed since the last load; True if it reloaded."""
        try:
            with self._lock:
                version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
                if version == self._version and not force:
                    return False
                rows = self._db.execute("SELECT device, site, resident FROM devices").fetchall()
                self._version = version
        except sqlite3.Error as exc:
            raise RegistryError(f"cannot read registry {self.path}: {exc}") from exc
        self._cache = {device: (site, resident) for device, site, resident in rows}
        self._checked = time.monotonic()
        return True

    def refresh_every(self, seconds: float) -> None:
        """Re-read at most every ``seconds`` (catches re-assigned devices in steady state)."""
        if time.monotonic() - self._checked >= seconds:
            self._checked = time.monotonic()
            self.refresh()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_devices(path: Path, *, site: str | None = None) -> Iterator[Device]:
    """Devices from a JSON-lines file or a CSV with a ``device,resident,site[,kind]`` header.

    ``site`` fills in rows that name none. A bad row raises RegistryError with its line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot read {path}: {exc}") from exc
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
        except (KeyError, TypeError, AttributeError, RegistryError) as exc:
            raise RegistryError(f"{path}:{number}: bad device row: {exc}") from exc


def _json_rows(lines: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise RegistryError(f"line {number}: not JSON: {exc}") from exc
        if not isinstance(row, dict):
            raise RegistryError(f"line {number}: expected a JSON object")
        yield number, row
