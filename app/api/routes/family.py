"""The family page: a resident's family reads the weekly report, raises a request,
complaint or thanks, follows their tickets to closure and rates the answer (docs/family.md).

Pages and API::

    /family/                   the page (mobile first; plain HTML, one script, no build)
    GET /api/v1/family/messages   its words in ``?lang=``, else the browser's language
    GET /api/v1/family/me         whose family the token is, and what the resident shares

A family member signs in with a token link, ``/family/#token=clt_...`` (``careloop token
create --role family --subject <resident>``): the script moves the token into the session
cookie (``POST /api/v1/session``) and wipes it from the address bar. Like the dashboard and
the volunteers' app, the page holds no data: it reads ``/api/v1/tickets``,
``/api/v1/ratings`` and the report route, where the family role, its one resident and the
resident's consent (``people.consent.disclosure(..., "family")``) are enforced.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from app.api.audit import audited
from app.api.auth import Principal, require
from app.api.deps import DirectoryDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.app_pages import APP_HEADERS
from app.api.routes.app_session import Messages
from app.api.routes.dashboard import STATIC_DIR
from careloop.i18n import catalog, resolve_locale
from people import Directory
from people.consent import disclosure

router = APIRouter(tags=["family"], responses=PROBLEM_RESPONSES)

#: The catalog keys the page uses: its own, and the tiers' names.
FAMILY_DOMAINS = ("family.", "tier.")
FamilyDep = Annotated[Principal, Depends(require("family"))]
Lang = Annotated[
    str | None, Query(max_length=35, description="en, zh-Hant, zh-Hans (default: the browser's)")
]


class FamilyMe(BaseModel):
    """Whose family the caller is and what the resident lets them see."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"site": "home-a", "resident": "r001", "name": "Mrs Lin", "report": True,
                 "vitals": False, "rater": "family:tok_3f9c"}
            ]
        }
    )  # fmt: skip
    site: str
    resident: str
    #: The resident's name, if they share reports with their family (else None).
    name: str | None
    #: Whether the weekly report may be read (``share_reports_with_family``).
    report: bool
    #: Whether it carries vitals, activity and needs (``share_vitals_with_family``).
    vitals: bool
    #: How this token's ratings are recorded (``family:<token id>``).
    rater: str


def family_site(principal: Principal, directory: Directory) -> str:
    """The site of the token's resident: the one site in its scope that has them (404 if
    the resident is gone, e.g. erased)."""
    for site in sorted(principal.sites or ()):
        if directory.find_resident(site, principal.subject) is not None:
            return site
    raise HTTPException(404, "the resident of this family token is not on record")


@router.get("/api/v1/family/me")
async def read_family_me(
    request: Request, principal: FamilyDep, directory: DirectoryDep
) -> FamilyMe:
    """The resident this family token stands for, and what their consent shares."""
    site = family_site(principal, directory)
    shown = disclosure(directory.consent(site, principal.subject), "family")
    name = directory.resident(site, principal.subject).display_name if shown.identity else None
    audited(request, principal, "read_family_me", site, principal.subject)
    return FamilyMe(
        site=site, resident=principal.subject, name=name, report=shown.identity,
        vitals=shown.health, rater=f"family:{principal.token}",
    )  # fmt: skip


@router.get("/api/v1/family/messages")
async def family_messages(request: Request, lang: Lang = None) -> Messages:
    """The page's words (for anyone: it needs them before signing in): ``lang`` if given,
    else the browser's ``Accept-Language``, else English."""
    locale = resolve_locale(lang, request.headers.get("accept-language"))
    table = {k: v for k, v in catalog(locale).items() if k.startswith(FAMILY_DOMAINS)}
    return Messages(locale=locale, messages=table)


@router.get("/family", include_in_schema=False)
async def family_redirect() -> RedirectResponse:
    """The page lives at /family/."""
    return RedirectResponse("/family/", status_code=308)


@router.get("/family/", include_in_schema=False)
async def family_page() -> Response:
    """The page; its script signs in with the link's token or asks for one."""
    return FileResponse(STATIC_DIR / "family.html", media_type="text/html", headers=APP_HEADERS)


__all__ = ["router"]
