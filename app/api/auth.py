"""Who is calling: opaque bearer tokens with a role and the sites they may see.

A token is random (``clt_`` + 43 url-safe characters), shown once when created
(``careloop token create``) and stored only as its SHA-256 hash in the directory. A request
carries it as ``Authorization: Bearer <token>`` or, for the browser dashboard (EventSource
cannot set headers), in the HttpOnly, SameSite=Strict ``careloop_token`` cookie set by
``POST /api/v1/session``. No credentials at all means the anonymous public principal; a
token that is wrong, revoked or expired is a 401, never a silent downgrade (and a cookie
holding one is cleared with it). A client address that failed too often within a minute
gets 429 for every token until it waits (:class:`~app.api.security.TokenLimiter`).

Roles: ``admin`` (every site), ``coordinator`` and ``volunteer`` (their sites), ``device``
(its own record only), ``public`` (anonymous). Routes declare the roles they serve with
:func:`require`, and check a site with :func:`check_site`, which answers 404 for a site
outside the caller's scope so that its existence is not revealed.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import DirectoryDep, SettingsDep, get_directory
from app.api.security import TokenLimiter
from careloop.logs import fields
from people import Role

log = logging.getLogger(__name__)

COOKIE_NAME = "careloop_token"

_bearer = HTTPBearer(auto_error=False, description="an API token: `careloop token create`")
_cookie = APIKeyCookie(
    name=COOKIE_NAME, auto_error=False, description="set by POST /api/v1/session"
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a role, who they are (volunteer id, device id, ...) and their sites."""

    role: Role
    subject: str
    #: The sites this principal may see; None = every site (admin only).
    sites: frozenset[str] | None
    #: The token's id (not the token): tells two family members of one resident apart.
    token: str | None = None

    def sees(self, site: str) -> bool:
        """Whether ``site`` is inside this principal's scope."""
        return self.sites is None or site in self.sites


ANONYMOUS = Principal("public", "anonymous", frozenset())


def unauthorized(detail: str = "missing or invalid token") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def client_address(request: Request) -> str:
    """The address failed tokens are counted against (the proxy's, unless uvicorn is told
    to trust its ``X-Forwarded-For``: ``careloop api`` trusts a proxy on 127.0.0.1)."""
    return request.client.host if request.client is not None else "unknown"


def authenticate(request: Request, token: str | None, directory: Any) -> Principal:
    """The principal a raw token stands for: 401 if it is unknown, revoked or expired; 429
    (``Retry-After``) while the caller's address has failed too often, whatever the token."""
    if not token:
        return ANONYMOUS
    limiter: TokenLimiter = request.app.state.token_limiter
    client = client_address(request)
    wait = limiter.retry_after(client)
    if wait:
        log.warning("token refused: too many failed attempts from one address")
        raise HTTPException(
            429, "too many failed sign-in attempts; try again later",
            headers={"Retry-After": str(wait)},
        )  # fmt: skip
    record = directory.token_for(token)
    if record is None:
        limiter.failed(client)
        log.info("token refused (unknown, revoked or expired)")  # never the token itself
        raise unauthorized()
    log.debug("token accepted", extra=fields(token_id=record.id, role=record.role))
    return Principal(record.role, record.subject, record.sites, record.id)


def _clear_cookie(secure: bool) -> str:
    """A ``Set-Cookie`` header value that removes the session cookie."""
    response = Response()
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=secure)
    return response.headers["set-cookie"]


async def get_principal(
    request: Request,
    directory: DirectoryDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """The caller, from the Authorization header first, else the session cookie. A cookie
    that is no longer accepted is cleared with the 401, so a browser stops sending it."""
    if bearer is not None:
        return authenticate(request, bearer.credentials, directory)
    try:
        return authenticate(request, cookie, directory)
    except HTTPException as exc:
        if exc.status_code == 401:
            exc.headers = {
                **(exc.headers or {}),
                "set-cookie": _clear_cookie(settings.api.cookie_secure),
            }
        raise


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[..., Any]:
    """A dependency returning the principal if its role is one of ``roles``.

    Anonymous callers get 401 (they should authenticate), others 403.
    """
    allowed = frozenset(roles)

    async def dependency(principal: PrincipalDep) -> Principal:
        if principal.role in allowed:
            return principal
        if principal.role == "public":
            raise unauthorized("this route needs a token")
        raise HTTPException(403, f"role {principal.role!r} may not use this route")

    return dependency


def check_site(principal: Principal, site: str) -> None:
    """404 unless ``site`` is in the principal's scope (not 403: existence stays hidden)."""
    if not principal.sees(site):
        raise HTTPException(404, "not found")


def scope(principal: Principal, site: str | None = None) -> frozenset[str] | None:
    """The sites a list may show: ``site`` if given (404 outside scope), else all of the
    principal's (None = every site, admin only)."""
    if site is not None:
        check_site(principal, site)
        return frozenset({site})
    return principal.sites


async def require_scraper(
    request: Request,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> None:
    """``/metrics``: the configured scrape token (``api.metrics_token``), compared without
    touching the people database, so metrics stay readable while it is away; else an admin
    as for any admin route."""
    token = settings.api.metrics_token
    if (
        token is not None
        and bearer is not None
        and hmac.compare_digest(bearer.credentials.encode(), token.get_secret_value().encode())
    ):
        return
    principal = await get_principal(request, get_directory(request), settings, bearer, cookie)
    await require("admin")(principal)


# Shorthands for routes.
ScraperDep = Annotated[None, Depends(require_scraper)]
AdminDep = Annotated[Principal, Depends(require("admin"))]
StaffDep = Annotated[Principal, Depends(require("admin", "coordinator"))]
MemberDep = Annotated[Principal, Depends(require("admin", "coordinator", "volunteer"))]


# -- the browser session: a token moved into an HttpOnly cookie ---------------------------------
router = APIRouter(prefix="/api/v1/session", tags=["session"])


class SessionCreate(BaseModel):
    """A token, as created by ``careloop token create``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"token": "clt_3q2-7wEXAMPLEk0sS1Nf"}]}
    )
    token: str = Field(min_length=1, max_length=200)


class SessionPublic(BaseModel):
    """Who the session is for."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"role": "coordinator", "subject": "c-anna", "sites": ["home-a"]}]
        }
    )
    role: Role
    subject: str
    #: None = every site.
    sites: list[str] | None


@router.post(
    "",
    responses={
        401: {"description": "unknown, revoked or expired token"},
        429: {"description": "too many failed attempts from this address"},
    },
)
async def create_session(
    body: SessionCreate,
    request: Request,
    response: Response,
    directory: DirectoryDep,
    settings: SettingsDep,
) -> SessionPublic:
    """Check the token and set it as the ``careloop_token`` cookie (HttpOnly, Strict)."""
    principal = authenticate(request, body.token, directory)
    response.set_cookie(
        COOKIE_NAME,
        body.token,
        httponly=True,
        samesite="strict",
        secure=settings.api.cookie_secure,
        path="/",
    )
    return SessionPublic(
        role=principal.role,
        subject=principal.subject,
        sites=None if principal.sites is None else sorted(principal.sites),
    )


@router.get("")
async def read_session(principal: PrincipalDep) -> SessionPublic:
    """Who the current credentials stand for (public/anonymous without any)."""
    return SessionPublic(
        role=principal.role,
        subject=principal.subject,
        sites=None if principal.sites is None else sorted(principal.sites),
    )


@router.delete("", status_code=204)
async def delete_session(request: Request, settings: SettingsDep) -> Response:
    """Clear the cookie."""
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=settings.api.cookie_secure
    )
    return response
