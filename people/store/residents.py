"""Residents with their care profiles, their consents, and the devices that speak to them."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from careloop.db import upsert
from people.errors import Conflict, NotFound, PeopleError
from people.model import Consent, Resident
from people.profile import CareProfile
from people.store.base import MAX_LIMIT, DirectoryBase

_COLS = "site, id, display_name, language, profile, created_at, location"
_CONSENT_COLS = (
    "site, resident, store_utterance_text, share_with_volunteers, "
    "share_vitals_with_volunteers, updated_at, updated_by, share_reports_with_family, "
    "share_vitals_with_family, notify_family"
)
#: Which of a resident's devices says "help is on the way": a voice device, else a terminal,
#: else a device of unknown kind; never a worn ``tag`` (it has no speaker).
_SPEAKS = {"voice": 0, "terminal": 1}
_MUTE = frozenset({"tag"})


def _resident(row: tuple[Any, ...]) -> Resident:
    site, rid, name, language, profile, created, location = row
    return Resident(
        site, rid, name, language, CareProfile.model_validate_json(profile), created,
        tuple(json.loads(location)) if location else None,
    )  # fmt: skip


def _consent(row: tuple[Any, ...]) -> Consent:
    s, r, text, share, vitals, at, by, family, family_vitals, notify = row
    return Consent(
        s, r, bool(text), bool(share), bool(vitals), at, by, bool(family), bool(family_vitals),
        bool(notify),
    )  # fmt: skip


class Residents(DirectoryBase):
    """Residents, care profiles and consents."""

    def add_resident(self, resident: Resident) -> Resident:
        resident = replace(resident, created_at=resident.created_at or self._now())
        with self.tx() as db:
            self._need_site(db, resident.site)
            if db.execute(
                "SELECT 1 FROM residents WHERE site = ? AND id = ?", (resident.site, resident.id)
            ).fetchone():
                raise Conflict("resident", f"{resident.site}/{resident.id}", "exists")
            db.execute(
                f"INSERT INTO residents ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    resident.site, resident.id, resident.display_name, resident.language,
                    resident.profile.model_dump_json(), resident.created_at,
                    json.dumps(resident.location) if resident.location else None,
                ),
            )  # fmt: skip
        return resident

    def update_resident(self, resident: Resident) -> Resident:
        """Replace name, language, profile and location (``created_at`` is kept)."""
        with self.tx() as db:
            cur = db.execute(
                "UPDATE residents SET display_name = ?, language = ?, profile = ?, location = ? "
                "WHERE site = ? AND id = ?",
                (
                    resident.display_name, resident.language, resident.profile.model_dump_json(),
                    json.dumps(resident.location) if resident.location else None,
                    resident.site, resident.id,
                ),
            )  # fmt: skip
            if cur.rowcount == 0:
                raise NotFound("resident", f"{resident.site}/{resident.id}")
        return self.resident(resident.site, resident.id)

    def set_care_profile(self, site: str, resident: str, profile: CareProfile) -> Resident:
        current = self.resident(site, resident)
        return self.update_resident(replace(current, profile=profile))

    def find_resident(self, site: str, resident: str) -> Resident | None:
        row = self.one(f"SELECT {_COLS} FROM residents WHERE site = ? AND id = ?", [site, resident])
        return None if row is None else _resident(row)

    def resident(self, site: str, resident: str) -> Resident:
        found = self.find_resident(site, resident)
        if found is None:
            raise NotFound("resident", f"{site}/{resident}")
        return found

    def residents(
        self,
        sites: frozenset[str] | None = None,
        *,
        shared_only: bool = False,
        offset: int = 0,
        limit: int | None = MAX_LIMIT,
    ) -> tuple[list[Resident], int]:
        """Residents of ``sites`` (None = all); ``shared_only``: only those whose consent
        lets volunteers see them (``share_with_volunteers``)."""
        where, args = self._scope("site", sites)
        if shared_only:
            where += (
                " AND EXISTS (SELECT 1 FROM consents c WHERE c.site = residents.site AND "
                "c.resident = residents.id AND c.share_with_volunteers = 1)"
            )
        rows, total = self._page("residents", _COLS, where, args, "site, id", offset, limit)
        return [_resident(r) for r in rows], total

    def care_profiles(self) -> dict[tuple[str, str], CareProfile]:
        """Every resident's care profile, keyed by (site, resident), for the scorer."""
        out: dict[tuple[str, str], CareProfile] = {}
        for site, rid, profile in self.rows("SELECT site, id, profile FROM residents"):
            try:
                out[(site, rid)] = CareProfile.model_validate_json(profile)
            except ValidationError as exc:  # written by an older version: say which one
                raise PeopleError(f"care profile of {site}/{rid} is invalid") from exc
        return out

    def speaking_devices(self, sites: frozenset[str] | None = None) -> dict[tuple[str, str], str]:
        """(site, resident) -> the device that tells them "help is on the way"."""
        where, args = self._scope("site", sites)
        out: dict[tuple[str, str], str] = {}
        best: dict[tuple[str, str], int] = {}
        for device, site, resident, kind in self.rows(
            f"SELECT device, site, resident, kind FROM devices WHERE {where} ORDER BY device",
            args,
        ):
            rank = _SPEAKS.get(kind or "", 2)
            if kind not in _MUTE and rank < best.get((site, resident), 3):
                best[(site, resident)] = rank
                out[(site, resident)] = device
        return out

    def device_owners(self, sites: frozenset[str] | None = None) -> dict[tuple[str, str], str]:
        """(site, device) -> the resident the device is registered to, every kind of device:
        a terminal's button answers a reminder as well as the voice device's words."""
        where, args = self._scope("site", sites)
        return {
            (site, device): resident
            for device, site, resident in self.rows(
                f"SELECT device, site, resident FROM devices WHERE {where}", args
            )
        }

    def erase_resident(self, site: str, resident: str) -> dict[str, int]:
        """Delete every row about a resident in this file; rows deleted per table.

        Covers residents, consents, appointments and the audit of reads (which names the
        resident).
        Devices go with the broker credentials (provisioning); other stores (InfluxDB,
        alerts, dead letters) are erased by their owners.
        """
        out: dict[str, int] = {}
        with self.tx() as db:
            for table, column in (
                ("residents", "id"),
                ("consents", "resident"),
                ("audit_reads", "resident"),
            ):
                cur = db.execute(
                    f"DELETE FROM {table} WHERE site = ? AND {column} = ?", (site, resident)
                )
                out[table] = cur.rowcount
            booked = db.execute(
                "DELETE FROM appointments WHERE site = ? AND resident = ?", (site, resident)
            ).rowcount
            if booked:  # named in the receipt only when there was something
                out["appointments"] = booked
        return out

    # -- consents -------------------------------------------------------------------------
    def consents(self, sites: frozenset[str] | None = None) -> list[Consent]:
        """Every recorded consent of ``sites`` (None = all): what channels may carry."""
        where, args = self._scope("site", sites)
        return [
            _consent(r)
            for r in self.rows(f"SELECT {_CONSENT_COLS} FROM consents WHERE {where}", args)
        ]

    def consent(self, site: str, resident: str) -> Consent:
        """The resident's consent; all False where none was ever recorded."""
        row = self.one(
            f"SELECT {_CONSENT_COLS} FROM consents WHERE site = ? AND resident = ?",
            [site, resident],
        )
        return Consent(site, resident) if row is None else _consent(row)

    def set_consent(self, consent: Consent) -> Consent:
        """Record a consent for an existing resident; stamps ``updated_at`` if unset."""
        consent = replace(consent, updated_at=consent.updated_at or self._now())
        with self.tx() as db:
            if not db.execute(
                "SELECT 1 FROM residents WHERE site = ? AND id = ?",
                (consent.site, consent.resident),
            ).fetchone():
                raise NotFound("resident", f"{consent.site}/{consent.resident}")
            db.execute(
                upsert("consents", _CONSENT_COLS, "site, resident"),
                (
                    consent.site, consent.resident, int(consent.store_utterance_text),
                    int(consent.share_with_volunteers),
                    int(consent.share_vitals_with_volunteers), consent.updated_at,
                    consent.updated_by, int(consent.share_reports_with_family),
                    int(consent.share_vitals_with_family), int(consent.notify_family),
                ),
            )  # fmt: skip
        return consent
