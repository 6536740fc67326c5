"""The dashboard: plain HTML pages and small scripts served by the API itself, no build step.

Pages::

    /login                          paste a token (or confirm a /login#token=... link)
    /home                           every resident of the user's sites at a glance (coordinators)
    /board                          open alerts of the user's sites, live over server-sent events
    /residents/{site}/{resident}    vitals plotted over a chosen range, and the needs' explanations
    /sla                            time to accept and resolve per tier, deadlines missed
    /tickets                        requests and complaints: list, raise, take, resolve
    /public                         the anonymised closed-loop board, no sign-in
    /static/<file>                  the pages' scripts and stylesheet

The pages hold no data: their scripts read the JSON API with the session cookie, which keeps
one place (the API routes) in charge of roles, site scope and consent. The HTML routes still
check the cookie so that a signed-out visitor lands on the login page instead of an empty
board, and a resident page outside the user's sites is a 404 like its API. Every page is
sent with a Content-Security-Policy that allows only this origin's scripts, so even a
summary that slipped past the scripts' text-only rendering could not run code.

The staff pages share one header (``static/staff-header.html``: brand, navigation, who is
signed in, log out), put where a page says ``<!--#staff-header-->`` with the page's own link
marked ``aria-current``; so a new page or link is added in one place.
"""

from __future__ import annotations

import mimetypes
from functools import cache
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Cookie, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from app.api.auth import COOKIE_NAME, Principal, authenticate, check_site
from app.api.deps import DirectoryDep
from careloop.wire import WireError, check_id

router = APIRouter(tags=["dashboard"], include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
#: The only files /static serves: what ships in the folder (no path from the URL is opened).
STATIC_FILES: dict[str, Path] = {
    p.name: p for p in STATIC_DIR.iterdir() if p.is_file() and p.suffix in {".js", ".css"}
}

#: Roles that may use the staff pages (board, resident pages, SLA).
STAFF_ROLES = frozenset({"admin", "coordinator", "volunteer"})

#: Sent with every page. connect-src 'self' covers fetch() and EventSource; inline script and
#: style are refused; the pages may not be framed (clickjacking on the accept button).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

CookieToken = Annotated[str | None, Cookie(alias=COOKIE_NAME)]


#: Where a staff page wants the shared header.
STAFF_HEADER = "<!--#staff-header-->"


@cache
def _html(name: str, current: str | None) -> str:
    """The page ``name`` with the shared staff header in place, ``current`` marked."""
    text = (STATIC_DIR / name).read_text(encoding="utf-8")
    if STAFF_HEADER in text:
        header = (STATIC_DIR / "staff-header.html").read_text(encoding="utf-8")
        if current is not None:
            link = f'<a href="{current}"'
            header = header.replace(link, f'{link} aria-current="page"', 1)
        text = text.replace(STAFF_HEADER, header.rstrip("\n"), 1)
    return text


def _page(name: str, current: str | None = None) -> Response:
    """One of the static HTML pages, with the security headers; ``current`` is the path
    of the navigation link that names this page (marked for screen readers and styles)."""
    return HTMLResponse(_html(name, current), headers=SECURITY_HEADERS)


def _to_login(request: Request) -> RedirectResponse:
    """303 to the login page, which comes back here after signing in."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)


def _staff(request: Request, token: str | None, directory: DirectoryDep) -> Principal | None:
    """The signed-in staff member from the header or cookie, or None (then: the login page).

    A stale, revoked or expired cookie is treated like no cookie (so is an address refused
    for too many failed tokens): the login page replaces it.
    """
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    if not token:
        return None
    try:
        principal = authenticate(request, token, directory)
    except HTTPException:
        return None
    return principal if principal.role in STAFF_ROLES else None


@router.get("/login")
async def login_page() -> Response:
    """The sign-in form; ``/login#token=...`` offers to sign in with that token (a
    confirmation first: a link could carry anybody's token)."""
    return _page("login.html")


@router.get("/public")
async def public_page() -> Response:
    """The anonymised closed-loop board, open to anyone."""
    return _page("public.html")


@router.get("/home")
async def home_page(
    request: Request, directory: DirectoryDep, token: CookieToken = None
) -> Response:
    """Every resident of the user's sites, live (admins and coordinators; volunteers, whom
    the overview does not serve, go to their board)."""
    principal = _staff(request, token, directory)
    if principal is None:
        return _to_login(request)
    if principal.role == "volunteer":
        return RedirectResponse("/board", status_code=303)
    return _page("home.html", "/home")


@router.get("/board")
async def board_page(
    request: Request, directory: DirectoryDep, token: CookieToken = None
) -> Response:
    """The live alert board of the signed-in user's sites."""
    if _staff(request, token, directory) is None:
        return _to_login(request)
    return _page("board.html", "/board")


@router.get("/sla")
async def sla_page(
    request: Request, directory: DirectoryDep, token: CookieToken = None
) -> Response:
    """SLA charts per tier."""
    if _staff(request, token, directory) is None:
        return _to_login(request)
    return _page("sla.html", "/sla")


@router.get("/tickets")
async def tickets_page(
    request: Request, directory: DirectoryDep, token: CookieToken = None
) -> Response:
    """The site's tickets, open first, with a form to raise one and buttons to take and
    resolve (staff and volunteers; the API decides what each may see and do)."""
    if _staff(request, token, directory) is None:
        return _to_login(request)
    return _page("tickets.html", "/tickets")


@router.get("/residents/{site}/{resident}")
async def resident_page(
    site: str,
    resident: str,
    request: Request,
    directory: DirectoryDep,
    token: CookieToken = None,
) -> Response:
    """One resident's vitals and explanations; 404 outside the user's sites, like the API."""
    principal = _staff(request, token, directory)
    if principal is None:
        return _to_login(request)
    try:
        check_id(site, "site")
        check_id(resident, "resident")
    except WireError as exc:  # a malformed id is simply not a page here
        raise HTTPException(404, "not found") from exc
    check_site(principal, site)
    return _page("resident.html")


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    """A script or the stylesheet; only names that ship in ``static/`` are served."""
    path = STATIC_FILES.get(name)
    if path is None:
        raise HTTPException(404, "not found")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".js":
        media = "text/javascript"
    # no-cache, not no-store: the browser revalidates with the ETag and gets a 304.
    return FileResponse(
        path,
        media_type=media,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
