"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API answers has the same shape, whatever raised it::

    {"type": "https://careloop.dev/problems/not-found", "title": "Not Found",
     "status": 404, "detail": "no resident 'home-a/r9'", "instance": "/api/v1/..."}

Sources: FastAPI's ``HTTPException`` (routes), request validation errors (422, with an
``errors`` list of where and why, never the offending values, which may be personal data),
and careloop's own errors (:class:`~people.NotFound` → 404,
:class:`~people.Conflict` → 409, any other ``CareloopError`` → 400 or 503).
Unexpected exceptions become a bare 500 without a traceback in the body. A 5xx never
carries an exception's text (it may quote a query, a path or another site's ids): the log
gets what failed, the caller a plain sentence. A conflict with an existing record answers
"id not available" whoever holds the id: ids such as a volunteer's are unique across
sites, and the answer must not tell a coordinator what exists at a site they cannot see.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from alerts import StoreError
from careloop.errors import CareloopError
from careloop.influx import InfluxError
from people import Conflict, NotFound, PeopleError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://careloop.dev/problems/"


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://careloop.dev/problems/not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "not found",
                    "instance": "/api/v1/residents/home-a/r9",
                }
            ]
        },
    )
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


#: For ``responses=`` in route declarations, so the OpenAPI lists the error shape.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": HTTPStatus(code).phrase}
    for code in (401, 403, 404, 409, 422)
}


def problem(
    request: Request,
    status: int,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response for ``status``."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = {
        "type": TYPE_BASE + phrase.lower().replace(" ", "-").replace("'", ""),
        "title": phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    extra: dict[str, Any] = {}
    if isinstance(detail, dict):  # e.g. {"reason": "already_owned", "detail": "..."}
        extra = {k: v for k, v in detail.items() if k != "detail"}
        detail = detail.get("detail")
    return problem(
        request,
        exc.status_code,
        None if detail is None else str(detail),
        headers=getattr(exc, "headers", None),
        **extra,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200]}
        for e in exc.errors()
    ]
    return problem(request, 422, "the request is not valid", errors=errors)


async def _careloop_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, InfluxError):
        # The message may quote the query: ids stay out; the shard's name is no one's data.
        log.warning("influxdb query failed", extra={"shard": exc.shard})
        return problem(request, 503, "the time-series database is unavailable")
    if isinstance(exc, NotFound):
        return problem(request, 404, "not found")
    if isinstance(exc, Conflict):
        if exc.reason.startswith("exists"):
            return problem(request, 409, "id not available")
        return problem(request, 409, str(exc)[:300])
    if isinstance(exc, PeopleError) and "cannot" in str(exc):
        log.error("people database failed", extra={"error": type(exc).__name__})
        return problem(request, 503, "the people database is unavailable")
    if isinstance(exc, StoreError):  # only the store raises it: the database failed
        log.error("alert store failed", extra={"part": "database"})
        return problem(request, 503, "the alert store is unavailable")
    return problem(request, 400, str(exc)[:300])


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", extra={"route": request.url.path})
    return problem(request, 500, "internal error")


def install(app: FastAPI) -> None:
    """Route every error of ``app`` through problem+json."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(CareloopError, _careloop_error)
    app.add_exception_handler(Exception, _unexpected)
