"""Sites: the unit of access control and data retention.

Admins create and remove sites; coordinators read and update their own; volunteers read
theirs. A site outside the caller's scope is a 404.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.auth import AdminDep, MemberDep, StaffDep, check_site, scope
from app.api.deps import DirectoryDep
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from people import Site

router = APIRouter(prefix="/api/v1/sites", tags=["sites"], responses=PROBLEM_RESPONSES)

_EXAMPLE: dict[str, Any] = {
    "id": "home-a",
    "name": "Rose Court",
    "timezone": "Europe/London",
    "retention_days": 90,
}

SiteId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", examples=["home-a"])]


class SiteBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=120)]
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    #: Days of readings kept in InfluxDB; 0 = forever.
    retention_days: Annotated[int, Field(ge=0, le=36500)] = 0


class SiteCreate(SiteBase):
    """A new site."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})
    id: SiteId


class SiteUpdate(BaseModel):
    """Fields to change; omitted ones stay."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"retention_days": 30}]}
    )
    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    timezone: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    retention_days: Annotated[int, Field(ge=0, le=36500)] | None = None


class SitePublic(SiteBase):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})
    id: str

    @classmethod
    def of(cls, site: Site) -> SitePublic:
        return cls(
            id=site.id, name=site.name, timezone=site.timezone, retention_days=site.retention_days
        )


@router.get("")
async def list_sites(
    principal: MemberDep, directory: DirectoryDep, paging: PageDep
) -> Page[SitePublic]:
    """The sites the caller belongs to (admins: all)."""
    items, total = directory.sites(scope(principal), offset=paging.offset, limit=paging.limit)
    return Page.of([SitePublic.of(s) for s in items], total, paging)


@router.post("", status_code=201)
async def create_site(body: SiteCreate, principal: AdminDep, directory: DirectoryDep) -> SitePublic:
    """Admins only."""
    site = directory.add_site(Site(body.id, body.name, body.timezone, body.retention_days))
    return SitePublic.of(site)


@router.get("/{site}")
async def read_site(site: str, principal: MemberDep, directory: DirectoryDep) -> SitePublic:
    check_site(principal, site)
    return SitePublic.of(directory.site(site))


@router.patch("/{site}")
async def update_site(
    site: str, body: SiteUpdate, principal: StaffDep, directory: DirectoryDep
) -> SitePublic:
    """Admins, or the site's coordinators."""
    check_site(principal, site)
    current = directory.site(site)
    changes = body.model_dump(exclude_none=True)
    return SitePublic.of(directory.update_site(replace(current, **changes)))


@router.delete("/{site}", status_code=204)
async def delete_site(site: str, principal: AdminDep, directory: DirectoryDep) -> Response:
    """Admins only; a site that still has residents is a 409 (erase them first)."""
    directory.delete_site(site)
    return Response(status_code=204)
