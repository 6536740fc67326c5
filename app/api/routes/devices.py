"""Devices: provisioning with per-device MQTT credentials (docs/devices.md).

Staff (admin, or a coordinator of the site) create a device for a resident: it is registered
with ingest, gets a random MQTT password, shown in this one answer and stored only as a hash,
and an ACL that lets it publish only ``careloop/v1/<site>/<device>/{vitals,event,utterance,
status}`` and hear only its own ``cmd``. Rotate issues a new password; revoke withdraws the
credentials, the registration and the device's API tokens. A device token (role ``device``)
reads its own record at ``/devices/me``. Devices of other sites answer 404, as if absent.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict

from app.api.auth import PrincipalDep, StaffDep, check_site, require, scope
from app.api.deps import DirectoryDep, SettingsDep
from app.api.pagination import Page, PageDep
from app.api.problems import PROBLEM_RESPONSES
from app.provision import DeviceCredential, DeviceExists, Issued, Provisioner, UnknownDevice
from careloop.settings import Settings
from careloop.wire import UPLINK_KINDS, Topic
from careloop.wire.schemas import Id


# -- schemas --------------------------------------------------------------------------------------
class DeviceCreate(BaseModel):
    """A device to provision for a resident."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id": "term-r001", "site": "home-a", "resident": "r001", "kind": "terminal"}
            ]
        },
    )
    id: Id
    site: Id
    resident: Id
    kind: Literal["terminal", "voice", "tag"] = "terminal"
    #: Also issue an API token with role ``device`` (shown once).
    api_token: bool = False


class DevicePublic(BaseModel):
    """A device as listed: no secret."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "term-r001", "site": "home-a", "resident": "r001", "kind": "terminal",
                    "state": "active", "username": "term-r001",
                    "created_at": 1764000000000, "rotated_at": None, "revoked_at": None,
                }
            ]
        }
    )  # fmt: skip
    id: str
    site: str
    resident: str
    kind: str
    state: Literal["active", "revoked"]
    username: str
    created_at: int
    rotated_at: int | None
    revoked_at: int | None


class MqttCredentials(BaseModel):
    """What the device needs to connect; the password exists only in this answer."""

    host: str
    port: int
    username: str
    password: str
    client_id: str
    publish: list[str]
    subscribe: list[str]


class DeviceIssued(BaseModel):
    """A provisioned (or rotated) device with its credentials, shown once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "device": DevicePublic.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index]  # literal above
                    "mqtt": {
                        "host": "broker.example", "port": 1883, "username": "term-r001",
                        "password": "q8Vd...shown-once", "client_id": "term-r001",
                        "publish": ["careloop/v1/home-a/term-r001/vitals"],
                        "subscribe": ["careloop/v1/home-a/term-r001/cmd"],
                    },
                    "api_token": None,
                }
            ]
        }
    )  # fmt: skip
    device: DevicePublic
    mqtt: MqttCredentials
    api_token: str | None = None


def public(record: DeviceCredential) -> DevicePublic:
    return DevicePublic(
        id=record.device,
        site=record.site,
        resident=record.resident,
        kind=record.kind,
        state="active" if record.active else "revoked",
        username=record.username,
        created_at=record.created_at,
        rotated_at=record.rotated_at,
        revoked_at=record.revoked_at,
    )


def issued(made: Issued, settings: Settings, token: str | None) -> DeviceIssued:
    record = made.credential
    mqtt = MqttCredentials(
        host=settings.mqtt.host,
        port=settings.mqtt.port,
        username=record.username,
        password=made.password,
        client_id=record.device,
        publish=[str(Topic(record.site, record.device, k)) for k in UPLINK_KINDS],  # type: ignore[arg-type]  # UPLINK_KINDS are Kinds
        subscribe=[str(Topic(record.site, record.device, "cmd"))],
    )
    return DeviceIssued(device=public(record), mqtt=mqtt, api_token=token)


router = APIRouter(prefix="/api/v1/devices", tags=["devices"], responses=PROBLEM_RESPONSES)


def get_provisioner(request: Request) -> Provisioner:
    """The process's provisioner, opened on first use and kept on ``app.state``."""
    prov: Provisioner | None = getattr(request.app.state, "provisioner", None)
    if prov is None:
        settings: Settings = request.app.state.settings
        prov = request.app.state.provisioner = Provisioner.from_settings(settings)
    return prov


ProvisionerDep = Annotated[Provisioner, Depends(get_provisioner)]
DeviceDep = Annotated[object, Depends(require("device"))]


def _visible(prov: Provisioner, principal: PrincipalDep, device: str) -> DevicePublic:
    try:
        record = prov.device(device)
    except UnknownDevice:
        raise HTTPException(404, "not found") from None
    check_site(principal, record.site)
    return public(record)


@router.post("", status_code=201, summary="Provision a device (password shown once)")
def create_device(
    body: DeviceCreate,
    principal: StaffDep,
    prov: ProvisionerDep,
    directory: DirectoryDep,
    settings: SettingsDep,
) -> DeviceIssued:
    """Register the device for the resident and issue its MQTT credentials.

    The password (and the API token, if asked for) appear in this answer only; keep them on
    the device. 404 if the site or resident is unknown or outside your sites, 409 if the
    device id is already in use.
    """
    check_site(principal, body.site)
    directory.resident(body.site, body.resident)  # NotFound -> 404
    try:
        made = prov.create_device(body.id, body.site, body.resident, body.kind)
    except DeviceExists as exc:
        raise HTTPException(409, "id not available") from exc  # maybe another site's
    token = None
    if body.api_token:
        token, _ = directory.create_token(
            "device", body.id, [body.site], note="provisioned",
            lifetime_ms=settings.api.token_days("device") * 86_400_000,
        )  # fmt: skip
    return issued(made, settings, token)


@router.get("", summary="List devices")
def list_devices(
    principal: StaffDep,
    prov: ProvisionerDep,
    pagination: PageDep,
    site: Annotated[str | None, Query(description="only this site")] = None,
    include_revoked: bool = False,
) -> Page[DevicePublic]:
    """Devices of your sites (or ``site``), by site and id."""
    sites = scope(principal, site)
    items, total = prov.devices(
        sites,
        include_revoked=include_revoked,
        offset=pagination.offset,
        limit=pagination.limit,
    )
    return Page.of([public(d) for d in items], total, pagination)


@router.get("/me", summary="The calling device's own record")
def my_device(principal: PrincipalDep, _: DeviceDep, prov: ProvisionerDep) -> DevicePublic:
    """For a device token: its own registration (never another device's)."""
    return _visible(prov, principal, principal.subject)


@router.get("/{device}", summary="One device")
def get_device(device: str, principal: StaffDep, prov: ProvisionerDep) -> DevicePublic:
    return _visible(prov, principal, device)


@router.post("/{device}/rotate", summary="New MQTT password (shown once)")
def rotate_device(
    device: str, principal: StaffDep, prov: ProvisionerDep, settings: SettingsDep
) -> DeviceIssued:
    """Issue a new password; the old one stops working when the broker has reloaded."""
    current = _visible(prov, principal, device)
    if current.state == "revoked":
        raise HTTPException(409, "device is revoked; provision it again")
    return issued(prov.rotate(device), settings, None)


@router.post("/{device}/revoke", summary="Withdraw a device's credentials")
def revoke_device(
    device: str, principal: StaffDep, prov: ProvisionerDep, directory: DirectoryDep
) -> DevicePublic:
    """Credentials out of the broker's files, registration out of ingest, API tokens
    revoked. The record stays (state ``revoked``). Idempotent."""
    _visible(prov, principal, device)
    record = prov.revoke(device)
    directory.revoke_subject(device, "device")
    return public(record)
