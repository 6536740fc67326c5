"""Dead letters: messages ingest rejected, newest first (admins and coordinators).

Read through ingest's dead-letter store (:class:`ingest.DeadLetterStore`): its SQLite file
(the API never creates it, and only reads it) or, with ``database_url``, schema ``ingest`` on
PostgreSQL. Coordinators see only letters whose topic names one of their sites and never the raw
payload (it may hold a resident's words); admins get a bounded, decoded preview.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict

from app.api.auth import StaffDep, scope
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from careloop.logs import fields
from careloop.settings import Settings
from ingest import DeadLetterError, DeadLetterStore

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/deadletters", tags=["deadletters"], responses=PROBLEM_RESPONSES)

PREVIEW = 512


class DeadLetterPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 41, "received_at": 1767600000000,
                    "topic": "careloop/v1/home-a/term-7/vitals",
                    "reason": "less_than_equal:heart_rate",
                    "detail": "heart_rate: Input should be less than or equal to 250",
                    "size": 187, "payload_preview": None,
                }
            ]
        }
    )  # fmt: skip
    id: int
    received_at: int
    topic: str
    reason: str
    detail: str
    size: int
    #: Admins only: the first bytes of the payload, decoded leniently.
    payload_preview: str | None


_opening = threading.Lock()


def get_deadletters(request: Request) -> DeadLetterStore | None:
    """Ingest's dead-letter store, opened on first use and kept (closed with the app);
    None while a SQLite deployment's file does not exist yet (the API never creates it).
    503 if it cannot be opened (PostgreSQL away): tried again on the next request."""
    state = request.app.state
    with _opening:
        store: DeadLetterStore | None = getattr(state, "deadletters", None)
        if store is not None:
            return store
        settings: Settings = state.settings
        url, path = settings.store_url, settings.paths.deadletters
        if not url and not path.exists():
            return None
        try:
            store = state.deadletters = DeadLetterStore(path, url=url, durable=False)
        except DeadLetterError as exc:
            raise _unavailable(exc) from exc
        return store


DeadLettersDep = Annotated[DeadLetterStore | None, Depends(get_deadletters)]


def _unavailable(exc: DeadLetterError) -> HTTPException:
    log.warning("dead letters unavailable", extra=fields(error=type(exc.__cause__ or exc).__name__))
    return HTTPException(503, "the dead letters cannot be read")


@router.get("")
def list_deadletters(
    principal: StaffDep,
    store: DeadLettersDep,
    paging: PageDep,
    site: Annotated[str | None, Query(max_length=64)] = None,
    reason: Annotated[str | None, Query(max_length=120)] = None,
) -> Page[DeadLetterPublic]:
    sites = scope(principal, site)
    if store is None:
        return Page.of([], 0, paging)
    try:
        letters, total = store.page(
            sites=sites, reason=reason, offset=paging.offset, limit=paging.limit
        )
    except DeadLetterError as exc:
        raise _unavailable(exc) from exc
    admin = principal.sites is None
    items = [
        DeadLetterPublic(
            id=d.id,
            received_at=d.received_at,
            topic=d.topic,
            reason=d.reason,
            detail=d.detail,
            size=d.size,
            payload_preview=words_withheld(d.payload) if admin else None,
        )
        for d in letters
    ]
    return Page.of(items, total, paging)


def words_withheld(payload: bytes) -> str:
    """A payload preview with every reading's ``text`` (a resident's words) replaced: words
    leave only with consent, and a rejected message was never checked for it. A payload
    that is not JSON is not shown at all (it could hold anything)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return f"(not JSON: {len(payload)} bytes withheld)"
    readings = data.get("readings") if isinstance(data, dict) else None
    if isinstance(readings, list):
        for r in readings:
            if isinstance(r, dict) and "text" in r:
                r["text"] = "(words withheld)"
    return json.dumps(data, ensure_ascii=False)[:PREVIEW]
