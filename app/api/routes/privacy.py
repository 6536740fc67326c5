"""Privacy: erase a resident everywhere (with a sealed receipt), and set a site's retention.

Erasure is for admins and the site's coordinators; it answers the receipt (what was erased
in which store, when, by whom, SHA-256 over the content) and keeps it for
``GET /api/v1/erasures/{id}``. Retention (admin only) sets the site's ``retention_days`` in
the directory and its InfluxDB retention policy ``site_<id>`` together. docs/privacy.md.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.auth import AdminDep, StaffDep, check_site
from app.api.deps import DirectoryDep, SettingsDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.routes.devices import ProvisionerDep
from app.privacy import (
    Eraser,
    PrivacyError,
    ReceiptNotFound,
    ReceiptStore,
    Stores,
    apply_retention,
)
from careloop.logs import fields
from careloop.mqtt import publish_once
from careloop.shards import connect_sharded
from people import Directory

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["privacy"], responses=PROBLEM_RESPONSES)

RECEIPT_EXAMPLE: dict[str, Any] = {
    "id": "er-5f0c2a9d13e47b68",
    "site": "home-a",
    "resident": "r001",
    "requested_by": {"subject": "c-anna", "role": "coordinator"},
    "started_at": "2026-11-26T09:00:00.000+00:00",
    "finished_at": "2026-11-26T09:00:00.412+00:00",
    "erased_at_ms": 1795683600412,
    "devices": ["term-r001"],
    "stores": {
        "registry": {"mqtt_users": 1, "devices": 1, "api_tokens_revoked": 0},
        "influxdb": {
            "points": {"autogen.vitals": 8640, "autogen.event": 3},
            "statement": "DELETE WHERE \"site\" = 'home-a' AND \"resident\" = 'r001'",
            "remaining": 0,
        },
        "deadletters": {"rows": 2},
        "alerts": {"alerts": 1, "audit": 4, "pages": 2, "timers": 0, "deliveries": 2,
                   "replies": 1, "needs_seen": 2, "roster_residents": 1},
        "directory": {"residents": 1, "consents": 1, "audit_reads": 5},
        "score": {"erased": 0, "note": "not erased in place: ..."},
    },
    "totals": {"registry": 2, "influxdb": 8643, "deadletters": 2, "alerts": 13,
               "directory": 7, "score": 0},
    "sha256": "3b1f...64 hex digits",
}  # fmt: skip


def get_receipts(request: Request) -> ReceiptStore:
    """The receipts table, opened on first use beside the directory (its file, or its
    PostgreSQL database); 503 if it cannot be opened (tried again next time)."""
    store: ReceiptStore | None = getattr(request.app.state, "receipts", None)
    if store is None:
        directory: Directory = request.app.state.directory
        try:
            store = ReceiptStore(directory.path, url=directory.url)
        except PrivacyError as exc:
            raise _unavailable(exc) from exc
        request.app.state.receipts = store
    return store


ReceiptsDep = Annotated[ReceiptStore, Depends(get_receipts)]


def _unavailable(exc: PrivacyError) -> HTTPException:
    """503 without the error's text: it may quote a store's answer or the DELETE statement
    (with the resident's id). The log gets the step that failed (the text before the first
    colon, written by app.privacy without ids) and the underlying error's type."""
    cause = exc.__cause__ or exc
    step = str(exc).partition(":")[0][:120]
    log.error("erasure could not complete", extra=fields(step=step, error=type(cause).__name__))
    return HTTPException(503, "erasure could not complete; run it again later")


@router.post(
    "/residents/{site}/{resident}/erasure",
    status_code=201,
    summary="Erase a resident everywhere; returns the receipt",
    responses={201: {"content": {"application/json": {"example": RECEIPT_EXAMPLE}}}},
)
def erase_resident(
    site: str,
    resident: str,
    principal: StaffDep,
    directory: DirectoryDep,
    prov: ProvisionerDep,
    receipts: ReceiptsDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Erase the resident's data from InfluxDB, the alert store, the device registry and
    broker credentials, the dead letters and the directory. Idempotent once the resident is
    gone from the directory (404 afterwards). 503 if a store failed: nothing is claimed, run
    it again."""
    check_site(principal, site)
    directory.resident(site, resident)  # NotFound -> 404
    influx = connect_sharded(settings.influx)
    try:
        stores = Stores(
            influx=influx,
            directory=directory,
            provisioner=prov,
            deadletters=settings.paths.deadletters,
            alerts=settings.paths.alerts,
            database_url=settings.store_url,
            receipts=receipts,
            control=lambda topic, payload: publish_once(
                settings.mqtt, topic, payload, client_id=f"api-erase-{secrets.token_hex(4)}"
            ),
        )
        return Eraser(stores).erase(site, resident, subject=principal.subject, role=principal.role)
    except PrivacyError as exc:
        raise _unavailable(exc) from exc
    finally:
        influx.close()


@router.get(
    "/erasures/{receipt_id}",
    summary="An erasure receipt",
    responses={200: {"content": {"application/json": {"example": RECEIPT_EXAMPLE}}}},
)
def get_erasure(receipt_id: str, principal: StaffDep, receipts: ReceiptsDep) -> dict[str, Any]:
    """The stored receipt (recompute its ``sha256`` to check it was not altered)."""
    try:
        receipt = receipts.get(receipt_id)
    except ReceiptNotFound:
        raise HTTPException(404, "not found") from None
    check_site(principal, receipt["site"])
    return receipt


class RetentionUpdate(BaseModel):
    """How long a site's readings are kept."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"days": 90}]})
    days: int = Field(ge=0, le=36500, description="0 = keep forever")


class RetentionPublic(BaseModel):
    """A site's retention as applied."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"site": "home-a", "days": 90, "policy": "site_home-a", "duration": "2160h0m0s"}
            ]
        }
    )
    site: str
    days: int
    #: The InfluxDB retention policy (None while the site never had a retention).
    policy: str | None
    #: As InfluxDB reports it; ``0s`` is forever.
    duration: str | None


@router.put("/sites/{site}/retention", summary="Set a site's retention (admin)")
def put_retention(
    site: str,
    body: RetentionUpdate,
    _: AdminDep,
    directory: DirectoryDep,
    settings: SettingsDep,
) -> RetentionPublic:
    """Apply the retention to InfluxDB first, then record it in the directory, so the
    directory never claims a retention InfluxDB does not apply."""
    current = directory.site(site)  # NotFound -> 404
    influx = connect_sharded(settings.influx)
    try:
        policy = apply_retention(influx.site(site), site, body.days)
    except PrivacyError as exc:
        raise HTTPException(503, "the time-series database is unavailable") from exc
    finally:
        influx.close()
    directory.update_site(replace(current, retention_days=body.days))
    return RetentionPublic(
        site=site,
        days=body.days,
        policy=None if policy is None else policy.name,
        duration=None if policy is None else policy.duration,
    )
