"""Residents, their care profiles and their consents.

Who sees what (docs/api.md):

* admins: everything; coordinators: everything at their sites;
* volunteers: a resident of their site only where the consent ``share_with_volunteers``
  allows (otherwise 404, as if the resident did not exist); never consents;
* every read of a resident's details is an audit row.

Writes (create, update, care profile, consent) are for admins and the site's coordinators.
Erasure is ``DELETE /api/v1/privacy/...`` (routes/privacy.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.audit import audited
from app.api.auth import MemberDep, Principal, StaffDep, check_site, scope
from app.api.deps import DirectoryDep
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from models.runtime.careplan import CareProfile
from people import Consent, Directory, Resident

router = APIRouter(prefix="/api/v1/residents", tags=["residents"], responses=PROBLEM_RESPONSES)

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]

_PROFILE_EXAMPLE: dict[str, Any] = {
    "language": "zh",
    "utc_offset_min": 480,
    "spo2_scale": 1,
    "expectations": [
        {"name": "daily check-up", "event": "checkup_done", "at": "09:30", "window_min": 60}
    ],
}
_EXAMPLE: dict[str, Any] = {
    "site": "home-a",
    "id": "r001",
    "display_name": "Mrs Lin",
    "language": "zh",
    "profile": _PROFILE_EXAMPLE,
}


class ResidentCreate(BaseModel):
    """A new resident; the care profile is optional (defaults: no plan)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})
    site: Id
    id: Id
    display_name: Annotated[str, Field(min_length=1, max_length=120)]
    language: Annotated[str, Field(min_length=1, max_length=16)] = "en"
    profile: CareProfile = CareProfile()


class ResidentUpdate(BaseModel):
    """Fields to change; omitted ones stay."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"display_name": "Mrs Lin Mei"}]}
    )
    display_name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    language: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    profile: CareProfile | None = None


class ResidentPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_EXAMPLE, "created_at": 1767600000000}]}
    )
    site: str
    id: str
    display_name: str
    language: str
    profile: CareProfile
    created_at: int

    @classmethod
    def of(cls, r: Resident) -> ResidentPublic:
        return cls(
            site=r.site, id=r.id, display_name=r.display_name, language=r.language,
            profile=r.profile, created_at=r.created_at,
        )  # fmt: skip


class ConsentUpdate(BaseModel):
    """The whole consent (omitted fields are False: nothing is shared without a yes)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "store_utterance_text": False,
                    "share_with_volunteers": True,
                    "share_vitals_with_volunteers": True,
                    "share_reports_with_family": True,
                    "share_vitals_with_family": False,
                    "notify_family": True,
                }
            ]
        },
    )
    store_utterance_text: bool = False
    share_with_volunteers: bool = False
    share_vitals_with_volunteers: bool = False
    #: Family contacts get the weekly report (name, care plan, satisfaction) ...
    share_reports_with_family: bool = False
    #: ... with vitals, activity and needs in it.
    share_vitals_with_family: bool = False
    #: Family contacts are e-mailed when a care-plan item was missed (docs/careplan.md).
    notify_family: bool = False


class ConsentPublic(ConsentUpdate):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "site": "home-a",
                    "resident": "r001",
                    "store_utterance_text": False,
                    "share_with_volunteers": True,
                    "share_vitals_with_volunteers": False,
                    "share_reports_with_family": True,
                    "share_vitals_with_family": False,
                    "notify_family": True,
                    "updated_at": 1767600000000,
                    "updated_by": "c-anna",
                }
            ]
        }
    )
    site: str
    resident: str
    updated_at: int
    updated_by: str

    @classmethod
    def of(cls, c: Consent) -> ConsentPublic:
        return cls(
            site=c.site, resident=c.resident, store_utterance_text=c.store_utterance_text,
            share_with_volunteers=c.share_with_volunteers,
            share_vitals_with_volunteers=c.share_vitals_with_volunteers,
            updated_at=c.updated_at, updated_by=c.updated_by,
            share_reports_with_family=c.share_reports_with_family,
            share_vitals_with_family=c.share_vitals_with_family, notify_family=c.notify_family,
        )  # fmt: skip


def visible_resident(
    principal: Principal, directory: Directory, site: str, resident: str, *, vitals: bool = False
) -> Resident:
    """The resident if the caller may see them (``vitals``: their readings), else 404.

    Volunteers need the consent flag; everyone needs the site in scope. The same 404 for
    "no such resident" and "not yours", so ids cannot be probed.
    """
    check_site(principal, site)
    record = directory.resident(site, resident)  # NotFound -> 404
    if principal.role == "volunteer":
        consent = directory.consent(site, resident)
        allowed = consent.share_vitals_with_volunteers if vitals else consent.share_with_volunteers
        if not allowed:
            raise HTTPException(404, "not found")
    return record


@router.get("")
async def list_residents(
    request: Request,
    principal: MemberDep,
    directory: DirectoryDep,
    paging: PageDep,
    site: Annotated[str | None, Query(description="only this site")] = None,
) -> Page[ResidentPublic]:
    """Residents the caller may see (volunteers: only those who consented to sharing)."""
    sites = scope(principal, site)
    items, total = directory.residents(
        sites,
        shared_only=principal.role == "volunteer",
        offset=paging.offset,
        limit=paging.limit,
    )
    audited(request, principal, "list_residents", site or "*", None)
    return Page.of([ResidentPublic.of(r) for r in items], total, paging)


@router.post("", status_code=201)
async def create_resident(
    body: ResidentCreate, principal: StaffDep, directory: DirectoryDep
) -> ResidentPublic:
    check_site(principal, body.site)
    record = Resident(body.site, body.id, body.display_name, body.language, body.profile)
    return ResidentPublic.of(directory.add_resident(record))


@router.get("/{site}/{resident}")
async def read_resident(
    site: str, resident: str, request: Request, principal: MemberDep, directory: DirectoryDep
) -> ResidentPublic:
    record = visible_resident(principal, directory, site, resident)
    audited(request, principal, "read_resident", site, resident)
    return ResidentPublic.of(record)


@router.patch("/{site}/{resident}")
async def update_resident(
    site: str, resident: str, body: ResidentUpdate, principal: StaffDep, directory: DirectoryDep
) -> ResidentPublic:
    check_site(principal, site)
    if body.profile is not None:
        _same_zone(directory, site, body.profile)
    current = directory.resident(site, resident)
    updated = Resident(
        site,
        resident,
        body.display_name if body.display_name is not None else current.display_name,
        body.language if body.language is not None else current.language,
        body.profile if body.profile is not None else current.profile,
        current.created_at,
    )
    return ResidentPublic.of(directory.update_resident(updated))


@router.get("/{site}/{resident}/care-profile")
async def read_care_profile(
    site: str, resident: str, request: Request, principal: MemberDep, directory: DirectoryDep
) -> CareProfile:
    """Preferences, routines and check-up plans (what the scorer's care planner uses)."""
    record = visible_resident(principal, directory, site, resident)
    audited(request, principal, "read_care_profile", site, resident)
    return record.profile


@router.put("/{site}/{resident}/care-profile")
async def replace_care_profile(
    site: str, resident: str, body: CareProfile, principal: StaffDep, directory: DirectoryDep
) -> CareProfile:
    check_site(principal, site)
    _same_zone(directory, site, body)
    return directory.set_care_profile(site, resident, body).profile


def _same_zone(directory: Directory, site: str, profile: CareProfile) -> None:
    """422 for a reminder time written in a zone the site does not use."""
    zone = directory.site(site).timezone
    for exp in profile.expectations:
        if exp.zone is not None and exp.zone != zone:
            raise HTTPException(
                422, f"'{exp.name}': its time is in {exp.zone}, but the site uses {zone}"
            )


@router.get("/{site}/{resident}/consents")
async def read_consent(
    site: str, resident: str, request: Request, principal: StaffDep, directory: DirectoryDep
) -> ConsentPublic:
    """Admins and the site's coordinators (all False where nothing was recorded)."""
    check_site(principal, site)
    directory.resident(site, resident)
    audited(request, principal, "read_consent", site, resident)
    return ConsentPublic.of(directory.consent(site, resident))


@router.put("/{site}/{resident}/consents")
async def replace_consent(
    site: str, resident: str, body: ConsentUpdate, principal: StaffDep, directory: DirectoryDep
) -> ConsentPublic:
    """Record what the resident agreed to; who changed it and when are kept."""
    check_site(principal, site)
    consent = Consent(
        site, resident, body.store_utterance_text, body.share_with_volunteers,
        body.share_vitals_with_volunteers, 0, f"{principal.role}:{principal.subject}",
        body.share_reports_with_family, body.share_vitals_with_family, body.notify_family,
    )  # fmt: skip
    return ConsentPublic.of(directory.set_consent(consent))
