"""Volunteers and coordinators: who can be paged, and how to reach them (personal data).

Admins manage every volunteer; a coordinator manages the volunteers of their sites (a
volunteer who also belongs to other sites keeps those: a coordinator only adds or removes
their own sites). A volunteer reads only their own record (``/api/v1/volunteers/me``).
After every change the in-process alert service gets the new roster.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.auth import MemberDep, Principal, StaffDep, check_site, scope
from app.api.deps import DirectoryDep, follow_people
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.devices import get_provisioner
from people import Volunteer

router = APIRouter(prefix="/api/v1/volunteers", tags=["volunteers"], responses=PROBLEM_RESPONSES)

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Channel = Annotated[str, Field(pattern=r"^(mqtt|email|push|sms)$")]
_EXAMPLE: dict[str, Any] = {
    "id": "v-ming",
    "name": "Ming Zhou",
    "email": "ming@example.org",
    "phone": "+44 7700 900123",
    "sites": ["home-a"],
    "skills": ["medical"],
    "languages": ["zh", "en"],
    "channels": ["mqtt"],
    "coordinator": False,
    "active": True,
}


class VolunteerBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=120)]
    email: Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    sites: Annotated[list[Id], Field(min_length=1, max_length=50)]
    skills: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=50)] = []
    languages: Annotated[list[Annotated[str, Field(max_length=16)]], Field(max_length=20)] = []
    channels: Annotated[list[Channel], Field(min_length=1, max_length=4)] = ["mqtt"]
    coordinator: bool = False
    active: bool = True


class VolunteerCreate(VolunteerBase):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})
    id: Id


class VolunteerUpdate(BaseModel):
    """Fields to change; omitted ones stay."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"active": False}]})
    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    email: Annotated[str, Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    sites: Annotated[list[Id], Field(min_length=1, max_length=50)] | None = None
    skills: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=50)] | None = (
        None
    )
    languages: (
        Annotated[list[Annotated[str, Field(max_length=16)]], Field(max_length=20)] | None
    ) = None
    channels: Annotated[list[Channel], Field(min_length=1, max_length=4)] | None = None
    coordinator: bool | None = None
    active: bool | None = None


class VolunteerPublic(VolunteerBase):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})
    id: str

    @classmethod
    def of(cls, v: Volunteer, principal: Principal) -> VolunteerPublic:
        """The record as ``principal`` may see it: only sites in their scope are listed."""
        sites = [s for s in v.sites if principal.sees(s)]
        return cls(
            id=v.id, name=v.name, email=v.email, phone=v.phone, sites=sites,
            skills=list(v.skills), languages=list(v.languages), channels=list(v.channels),
            coordinator=v.coordinator, active=v.active,
        )  # fmt: skip


def _record(vid: str, body: VolunteerBase, sites: list[str]) -> Volunteer:
    if "email" in body.channels and not body.email:
        raise HTTPException(422, "the email channel needs an email address")
    if "sms" in body.channels and not body.phone:
        raise HTTPException(422, "the sms channel needs a phone number")
    return Volunteer(
        vid, body.name, tuple(dict.fromkeys(sites)), body.email, body.phone, tuple(body.skills),
        tuple(body.languages), tuple(body.channels), body.coordinator, body.active,
    )  # fmt: skip


def _managed(principal: Principal, v: Volunteer) -> None:
    """404 unless the caller shares a site with ``v`` (admins: always)."""
    if not any(principal.sees(s) for s in v.sites):
        raise HTTPException(404, "not found")


def _wholly_managed(principal: Principal, v: Volunteer) -> None:
    """403 unless the caller manages every site ``v`` serves (admins: always).

    A volunteer's contact details, login and availability hold at all their sites, so a
    coordinator of one site may not change them for the others (they may add or remove the
    volunteer at their own sites).
    """
    if not all(principal.sees(s) for s in v.sites):
        raise HTTPException(
            403, "this volunteer also serves sites you do not manage: ask an administrator"
        )


@router.get("")
async def list_volunteers(
    principal: StaffDep,
    directory: DirectoryDep,
    paging: PageDep,
    site: Annotated[str | None, Query(description="only this site")] = None,
) -> Page[VolunteerPublic]:
    items, total = directory.volunteers(
        scope(principal, site), offset=paging.offset, limit=paging.limit
    )
    return Page.of([VolunteerPublic.of(v, principal) for v in items], total, paging)


@router.get("/me")
async def read_me(principal: MemberDep, directory: DirectoryDep) -> VolunteerPublic:
    """The caller's own record (a volunteer's or coordinator's token names their id)."""
    v = directory.volunteer(principal.subject)
    return VolunteerPublic.of(v, principal)


@router.post("", status_code=201)
async def create_volunteer(
    body: VolunteerCreate, request: Request, principal: StaffDep, directory: DirectoryDep
) -> VolunteerPublic:
    for site in body.sites:
        check_site(principal, site)
    v = directory.add_volunteer(_record(body.id, body, body.sites))
    follow_people(request)
    return VolunteerPublic.of(v, principal)


@router.get("/{volunteer}")
async def read_volunteer(
    volunteer: str, principal: MemberDep, directory: DirectoryDep
) -> VolunteerPublic:
    """Staff: volunteers of their sites; a volunteer: only themselves."""
    if principal.role == "volunteer" and volunteer != principal.subject:
        raise HTTPException(404, "not found")
    v = directory.volunteer(volunteer)
    _managed(principal, v)
    return VolunteerPublic.of(v, principal)


@router.patch("/{volunteer}")
async def update_volunteer(
    volunteer: str,
    body: VolunteerUpdate,
    request: Request,
    principal: StaffDep,
    directory: DirectoryDep,
) -> VolunteerPublic:
    current = directory.volunteer(volunteer)
    _managed(principal, current)
    if body.model_dump(exclude_unset=True).keys() - {"sites"}:
        _wholly_managed(principal, current)
    merged = VolunteerBase.model_validate(
        {**VolunteerPublic.of(current, principal).model_dump(exclude={"id"}),
         **body.model_dump(exclude_unset=True)}
    )  # fmt: skip
    sites = list(current.sites)
    if body.sites is not None:  # only the caller's own sites are added or removed
        for site in body.sites:
            check_site(principal, site)
        sites = [s for s in current.sites if not principal.sees(s)] + body.sites
    v = directory.update_volunteer(_record(volunteer, merged, sites))
    follow_people(request)
    if set(v.sites) != set(current.sites):  # the app's broker topics follow the sites
        get_provisioner(request).write_files()
    return VolunteerPublic.of(v, principal)


@router.delete("/{volunteer}", status_code=204)
async def delete_volunteer(
    volunteer: str, request: Request, principal: StaffDep, directory: DirectoryDep
) -> Response:
    """Remove a volunteer (409 while a rotation names them). A coordinator of only some of
    the volunteer's sites removes just those sites."""
    current = directory.volunteer(volunteer)
    _managed(principal, current)
    others = [s for s in current.sites if not principal.sees(s)]
    if others:
        directory.update_volunteer(
            Volunteer(
                current.id,
                current.name,
                tuple(others),
                current.email,
                current.phone,
                current.skills,
                current.languages,
                current.channels,
                current.coordinator,
                current.active,
            )
        )
    else:
        directory.delete_volunteer(volunteer)
    follow_people(request)
    get_provisioner(request).write_files()  # the app's topics follow the sites
    return Response(status_code=204)


class AppCredentials(BaseModel):
    """A volunteer app's MQTT login, shown once; the topics it may use."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "vol.v-ming",
                    "password": "shown-once-8Yk...",
                    "hears": "careloop/alerts/v1/+/volunteer/v-ming",
                    "answers": "careloop/alerts/v1/+/reply/v-ming",
                }
            ]
        }
    )
    username: str
    password: str
    hears: str
    answers: str


@router.post("/{volunteer}/app-credentials", status_code=201)
async def issue_app_credentials(
    volunteer: str, request: Request, principal: StaffDep, directory: DirectoryDep
) -> AppCredentials:
    """Create or rotate the MQTT login of the volunteer's app (the password is shown once;
    the broker's ACL lets it hear only this volunteer's pages and send only their replies)."""
    from careloop.wire.alerts import alert_subscription

    found = directory.volunteer(volunteer)
    _managed(principal, found)
    _wholly_managed(principal, found)
    username, password = get_provisioner(request).set_volunteer_password(volunteer)
    site = "+" if len(found.sites) > 1 else found.sites[0]
    return AppCredentials(
        username=username,
        password=password,
        hears=alert_subscription("volunteer", site, volunteer),
        answers=alert_subscription("reply", site, volunteer),
    )


@router.delete("/{volunteer}/app-credentials", status_code=204)
async def revoke_app_credentials(
    volunteer: str, request: Request, principal: StaffDep, directory: DirectoryDep
) -> Response:
    """Withdraw the app's login (404 if it had none)."""
    found = directory.volunteer(volunteer)
    _managed(principal, found)
    _wholly_managed(principal, found)
    if not get_provisioner(request).revoke_volunteer(volunteer):
        raise HTTPException(404, "no app credentials")
    return Response(status_code=204)
