"""On-call schedules: rotations, overrides, and who is on call now.

The model is the alert service's (:mod:`people.roster`): members of a rotation take turns of
``shift_ms`` from ``start_ms``, inside an optional daily window ``hours`` in the rotation's
time zone; an override puts one volunteer on call for a period instead. Staff of a site
manage its schedules; volunteers of the site may read them.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.auth import MemberDep, StaffDep, check_site, scope
from app.api.deps import DirectoryDep, follow_people
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from people import NotFound, Override, Rotation, read_roster

router = APIRouter(prefix="/api/v1", tags=["schedules"], responses=PROBLEM_RESPONSES)

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
_MS = Annotated[int, Field(ge=0, le=2**53)]
_ROT: dict[str, Any] = {
    "site": "home-a",
    "name": "nights",
    "members": ["v-ming", "v-sara"],
    "start_ms": 1767643200000,
    "shift_ms": 43200000,
    "timezone": "Europe/London",
    "hours": "20:00-08:00",
}


class RotationBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site: Id
    members: Annotated[list[Id], Field(max_length=200)]
    start_ms: _MS
    shift_ms: Annotated[int, Field(ge=60_000, le=90 * 86_400_000)]
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    hours: Annotated[str, Field(pattern=r"^\d\d:\d\d-\d\d:\d\d$")] | None = None


class RotationUpdate(RotationBase):
    """The whole rotation (PUT creates or replaces it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{k: v for k, v in _ROT.items() if k != "name"}]},
    )


class RotationPublic(RotationBase):
    model_config = ConfigDict(json_schema_extra={"examples": [_ROT]})
    name: str

    @classmethod
    def of(cls, r: Rotation) -> RotationPublic:
        return cls(
            site=r.site, name=r.name, members=list(r.members), start_ms=r.start_ms,
            shift_ms=r.shift_ms, timezone=r.timezone, hours=r.hours,
        )  # fmt: skip


class OverrideCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rotation": "nights",
                    "volunteer": "v-sara",
                    "start_ms": 1767643200000,
                    "end_ms": 1767686400000,
                }
            ]
        },
    )
    rotation: Id
    volunteer: Id
    start_ms: _MS
    end_ms: _MS


class OverridePublic(OverrideCreate):
    id: int
    site: str

    @classmethod
    def of(cls, o: Override) -> OverridePublic:
        return cls(
            id=o.id, site=o.site, rotation=o.rotation, volunteer=o.volunteer,
            start_ms=o.start_ms, end_ms=o.end_ms,
        )  # fmt: skip


class OnCallPublic(BaseModel):
    """Who is on call at ``at_ms``; ``rotations=false``: the site has none, so every active
    volunteer of the site may be paged."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"site": "home-a", "at_ms": 1767650000000, "rotations": True, "on_call": ["v-ming"]}
            ]
        }
    )
    site: str
    at_ms: int
    rotations: bool
    on_call: list[str]


@router.get("/rotations")
async def list_rotations(
    principal: MemberDep,
    directory: DirectoryDep,
    paging: PageDep,
    site: Annotated[str | None, Query()] = None,
) -> Page[RotationPublic]:
    items, total = directory.rotations(
        scope(principal, site), offset=paging.offset, limit=paging.limit
    )
    return Page.of([RotationPublic.of(r) for r in items], total, paging)


@router.get("/rotations/{name}")
async def read_rotation(name: str, principal: MemberDep, directory: DirectoryDep) -> RotationPublic:
    rotation = directory.rotation(name)
    check_site(principal, rotation.site)
    return RotationPublic.of(rotation)


@router.put("/rotations/{name}")
async def put_rotation(
    name: Id, body: RotationUpdate, request: Request, principal: StaffDep, directory: DirectoryDep
) -> RotationPublic:
    """Create or replace; members must be volunteers of the site (else 409)."""
    check_site(principal, body.site)
    try:
        existing: Rotation | None = directory.rotation(name)
    except NotFound:  # a new rotation
        existing = None
    if existing is not None:
        check_site(principal, existing.site)
    record = Rotation(
        body.site, name, tuple(body.members), body.start_ms, body.shift_ms, body.timezone,
        body.hours,
    )  # fmt: skip
    saved = directory.put_rotation(record)
    follow_people(request)
    return RotationPublic.of(saved)


@router.delete("/rotations/{name}", status_code=204)
async def delete_rotation(
    name: str, request: Request, principal: StaffDep, directory: DirectoryDep
) -> Response:
    check_site(principal, directory.rotation(name).site)
    directory.delete_rotation(name)
    follow_people(request)
    return Response(status_code=204)


@router.get("/overrides")
async def list_overrides(
    principal: MemberDep,
    directory: DirectoryDep,
    paging: PageDep,
    site: Annotated[str | None, Query()] = None,
) -> Page[OverridePublic]:
    items, total = directory.overrides(
        scope(principal, site), offset=paging.offset, limit=paging.limit
    )
    return Page.of([OverridePublic.of(o) for o in items], total, paging)


@router.post("/overrides", status_code=201)
async def create_override(
    body: OverrideCreate, request: Request, principal: StaffDep, directory: DirectoryDep
) -> OverridePublic:
    if body.end_ms <= body.start_ms:
        raise HTTPException(422, "end_ms must be after start_ms")
    check_site(principal, directory.rotation(body.rotation).site)
    saved = directory.add_override(body.rotation, body.volunteer, body.start_ms, body.end_ms)
    follow_people(request)
    return OverridePublic.of(saved)


@router.get("/overrides/{override_id}")
async def read_override(
    override_id: int, principal: MemberDep, directory: DirectoryDep
) -> OverridePublic:
    """One override (404 outside the caller's sites)."""
    found = directory.override(override_id)
    check_site(principal, found.site)
    return OverridePublic.of(found)


@router.delete("/overrides/{override_id}", status_code=204)
async def delete_override(
    override_id: int, request: Request, principal: StaffDep, directory: DirectoryDep
) -> Response:
    check_site(principal, directory.override(override_id).site)
    directory.delete_override(override_id)
    follow_people(request)
    return Response(status_code=204)


@router.get("/sites/{site}/on-call")
async def on_call(
    site: str,
    principal: MemberDep,
    directory: DirectoryDep,
    at_ms: Annotated[int | None, Query(ge=0, le=2**53, description="default: now")] = None,
) -> OnCallPublic:
    check_site(principal, site)
    directory.site(site)
    at = at_ms if at_ms is not None else int(time.time() * 1000)
    who = read_roster(directory, frozenset({site})).on_call(site, at)
    return OnCallPublic(site=site, at_ms=at, rotations=who is not None, on_call=sorted(who or ()))
