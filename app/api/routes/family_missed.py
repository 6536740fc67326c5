"""The family page's missed care-plan items (docs/family.md, docs/careplan.md).

When a missed care-plan item reached the chain's ``family`` step (:mod:`alerts.family`: the
family contacts were e-mailed, with the resident's consent ``notify_family``), a signed-in
family member sees it on the family page too, and may answer "I'll handle it": the care
team is stood down (the alert closes as ``cancelled``, reason ``family_handles``, the
family token in the audit) before the chain goes on to the coordinator::

    GET  /api/v1/family/missed                     the misses the family was told of
    POST /api/v1/family/missed/{alert}/handle      "I'll handle it"

Only for the token's own resident and only while the consent holds: a withdrawn consent
empties the list and makes the answer a 404, as does another resident's alert.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict

from alerts.errors import ReplyRejected
from alerts.family import missed_at
from alerts.model import Alert
from app.api.audit import audited
from app.api.deps import AlertServiceDep, AlertStoreDep, DirectoryDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.alerts import REJECT_STATUS
from app.api.routes.family import FamilyDep, family_site
from people import Directory

router = APIRouter(prefix="/api/v1/family/missed", tags=["family"], responses=PROBLEM_RESPONSES)

#: The newest misses the page lists.
SHOWN = 20
AlertId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")]


class FamilyMissed(BaseModel):
    """One missed care-plan item the family was told of."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "a-3f9c", "item": "morning pills", "at": "08:00",
                 "due_ms": 1767657600000, "open": True, "handled": False}
            ]
        }
    )  # fmt: skip
    id: str
    #: The plan's name for it (None if the plan no longer has it).
    item: str | None
    #: Local time its window opened, ``HH:MM`` (None as above).
    at: str | None
    #: When its window opened (epoch ms).
    due_ms: int
    #: Whether it is still waiting for someone.
    open: bool
    #: Whether a family member said they would handle it.
    handled: bool

    @classmethod
    def of(cls, alert: Alert, directory: Directory) -> FamilyMissed:
        found = missed_at(alert)
        due = found[1] if found is not None else alert.opened_ms
        person = directory.find_resident(alert.site, alert.resident)
        item = (
            person.profile.expectation_at(*found) if person is not None and found else None
        )  # fmt: skip
        return cls(
            id=alert.id, item=item.name if item else None, at=item.at if item else None,
            due_ms=due, open=not alert.closed,
            handled=alert.state == "cancelled" and alert.outcome == "family_handles",
        )  # fmt: skip


class FamilyMissedList(BaseModel):
    items: list[FamilyMissed]
    count: int


def _told(directory: Directory, site: str, resident: str) -> bool:
    return directory.consent(site, resident).notify_family


@router.get("")
async def list_family_missed(
    request: Request, principal: FamilyDep, directory: DirectoryDep, store: AlertStoreDep
) -> FamilyMissedList:
    """The newest misses of the token's resident the family was e-mailed about (open ones
    and those answered), as long as the resident lets the family be told."""
    site = family_site(principal, directory)
    items: list[FamilyMissed] = []
    if _told(directory, site, principal.subject):
        rows = store.db.execute(
            "SELECT id FROM alerts WHERE site = ? AND resident = ? AND kind = 'missed_care_plan'"
            " AND id IN (SELECT alert FROM audit WHERE action = 'family_told')"
            " ORDER BY opened_ms DESC, id LIMIT ?",
            (site, principal.subject, SHOWN),
        ).fetchall()
        alerts = [a for a in (store.get(r[0]) for r in rows) if a is not None]
        items = [FamilyMissed.of(a, directory) for a in alerts]
    audited(request, principal, "read_family_missed", site, principal.subject)
    return FamilyMissedList(items=items, count=len(items))


@router.post("/{alert_id}/handle")
async def handle_family_missed(
    alert_id: AlertId,
    request: Request,
    principal: FamilyDep,
    directory: DirectoryDep,
    service: AlertServiceDep,
) -> FamilyMissed:
    """ "I'll handle it": the care team is stood down for this miss (409 ``already_owned``
    when someone of the team took it, ``not_allowed`` when it is closed)."""
    site = family_site(principal, directory)
    if not _told(directory, site, principal.subject):
        raise HTTPException(404, "not found")
    who = f"family:{principal.token}"
    try:
        alert = service.engine.family_handles(site, principal.subject, alert_id, who)
    except ReplyRejected as exc:
        raise HTTPException(
            REJECT_STATUS.get(exc.reason, 409), {"reason": exc.reason, "detail": exc.detail}
        ) from exc
    finally:
        service.wake()
    audited(request, principal, "family_handles", site, principal.subject)
    return FamilyMissed.of(alert, directory)


__all__ = ["router"]
