"""The anonymous public board: how many needs there were and how fast they were answered.

Anyone may read it, without a token, so it is built to identify nobody
(:func:`alerts.sla.public_board`): whole days only, and not the current one (so neither a
time window nor watching today's figures reveals when a need was raised); per site and tier
only (no kinds, no ids, no summaries); and every count from 1 to 4 withheld, times given only
for groups of at least 5 needs (a small count at one site is a person).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from alerts.satisfaction import public_satisfaction
from alerts.sla import SMALL_COUNT, public_board
from app.api.deps import AlertStoreDep

router = APIRouter(prefix="/api/v1/public", tags=["public"])


class PublicGroup(BaseModel):
    """One site and tier over the window; ``None`` = withheld (a count of 1 to 4)."""

    site: str
    tier: str
    needs: int | None
    accepted: int | None
    on_time: int | None
    accept_p50_s: float | None
    #: True when the group is too small to show anything but that it exists.
    suppressed: bool


class PublicBoard(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "since_ms": 1767225600000, "until_ms": 1767830400000, "days": 7, "k": 5,
                    "groups": [{"site": "home-a", "tier": "emergency", "needs": 12,
                                "accepted": 12, "on_time": 11, "accept_p50_s": 21.0,
                                "suppressed": False}],
                }
            ]
        }
    )  # fmt: skip
    since_ms: int
    until_ms: int
    days: int
    k: int
    groups: list[PublicGroup]


@router.get("/closed-loop")
async def public_closed_loop(
    store: AlertStoreDep,
    site: Annotated[str | None, Query(max_length=64)] = None,
    days: Annotated[int, Query(ge=1, le=90, description="whole days before today")] = 7,
) -> PublicBoard:
    """Needs per site and tier over the last ``days`` whole days (anonymised, see above)."""
    board = public_board(
        store, days=days, today_ms=int(time.time() * 1000), site=site, k=SMALL_COUNT
    )
    return PublicBoard.model_validate(board)


class PublicMonth(BaseModel):
    """One site and whole month; ``None`` = withheld (a count of 1 to 4, or a mean over
    fewer than 5 ratings)."""

    site: str
    month: str
    ratings: int | None
    satisfaction: float | None
    complaints: int | None
    suppressed: bool


class PublicSatisfaction(BaseModel):
    k: int
    #: The current month, left out (watching it change would reveal single answers).
    until_month: str
    groups: list[PublicMonth]


@router.get("/satisfaction")
async def public_satisfaction_board(
    store: AlertStoreDep, site: Annotated[str | None, Query(max_length=64)] = None
) -> PublicSatisfaction:
    """Satisfaction and complaints per site and whole month (anonymised like the board)."""
    board = public_satisfaction(store, today_ms=int(time.time() * 1000), site=site, k=SMALL_COUNT)
    return PublicSatisfaction.model_validate(board)
