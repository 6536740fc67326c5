"""Dead letters: messages ingest rejected, newest first (admins and coordinators).

Read from ingest's dead-letter file (read-only; the API never creates or writes it).
Coordinators see only letters whose topic names one of their sites and never the raw
payload (it may hold a resident's words); admins get a bounded, decoded preview.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict

from app.api.auth import StaffDep, scope
from app.api.deps import SettingsDep
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from careloop.wire.topics import PREFIX

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


@router.get("")
async def list_deadletters(
    principal: StaffDep,
    settings: SettingsDep,
    paging: PageDep,
    site: Annotated[str | None, Query(max_length=64)] = None,
    reason: Annotated[str | None, Query(max_length=120)] = None,
) -> Page[DeadLetterPublic]:
    sites = scope(principal, site)
    path = settings.paths.deadletters
    if not path.exists():
        return Page.of([], 0, paging)
    where, args = ["1"], []
    if sites is not None:
        prefixes = [f"{PREFIX}/{s}/" for s in sorted(sites)]
        where.append(
            "(" + " OR ".join("substr(topic, 1, ?) = ?" for _ in prefixes) + ")"
            if prefixes
            else "0"
        )
        for p in prefixes:
            args += [len(p), p]
    if reason is not None:
        where.append("reason = ?")
        args.append(reason)
    clause = " AND ".join(where)
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            total = int(
                db.execute(f"SELECT count(*) FROM deadletters WHERE {clause}", args).fetchone()[0]
            )
            rows = db.execute(
                "SELECT id, received_at, topic, reason, detail, size, payload "
                f"FROM deadletters WHERE {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                [*args, paging.limit, paging.offset],
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise HTTPException(503, "the dead-letter file cannot be read") from exc
    admin = principal.sites is None
    items = [
        DeadLetterPublic(
            id=i,
            received_at=at,
            topic=topic,
            reason=why,
            detail=detail,
            size=size,
            payload_preview=words_withheld(bytes(payload)) if admin else None,
        )
        for i, at, topic, why, detail, size, payload in rows
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
