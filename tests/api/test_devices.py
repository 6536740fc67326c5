"""Devices over HTTP, per role: who may provision, list, read, rotate and revoke, and where.

The session's real app (tests/api/conftest.py): coordinators see only their site (other
sites' devices answer 404, never 403, so existence does not leak), volunteers and devices
get 403 on staff routes, anonymous callers 401. Device ids are unique per test.
"""

from __future__ import annotations

import uuid

import pytest

from app.provision import verify_password

#: Run on the SQLite and the PostgreSQL session server (tests/api/conftest.py).
BOTH_BACKENDS = True


def new_id(prefix: str = "dev") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def provision(api, role: str, device: str, site: str, resident: str = "r2", **extra):
    with api.client(role) as c:
        return c.post(
            "/api/v1/devices",
            json={"id": device, "site": site, "resident": resident, **extra},
        )


def test_staff_of_the_site_provision_and_the_password_is_shown_once(api):
    for role in ("admin", "coord_a"):
        device = new_id()
        r = provision(api, role, device, api.site_a)
        assert r.status_code == 201, r.text
        body = r.json()
        password = body["mqtt"]["password"]
        assert body["device"]["state"] == "active" and body["device"]["site"] == api.site_a
        assert body["mqtt"]["username"] == device
        assert body["mqtt"]["subscribe"] == [f"careloop/v1/{api.site_a}/{device}/cmd"]
        assert f"careloop/v1/{api.site_a}/{device}/vitals" in body["mqtt"]["publish"]
        # Stored only as a hash, and the broker's files list the device with its topics.
        passwd = (api.settings.data_dir / "broker" / "passwd").read_text()
        line = next(x for x in passwd.splitlines() if x.startswith(f"{device}:"))
        assert password not in passwd and verify_password(password, line.split(":", 1)[1])
        acl = (api.settings.data_dir / "broker" / "acl").read_text()
        assert f"user {device}\n" in acl
        with api.client(role) as c:
            again = c.get(f"/api/v1/devices/{device}")
        assert again.status_code == 200 and password not in again.text


@pytest.mark.parametrize(
    ("role", "status"), [("coord_b", 404), ("vol_a", 403), ("device", 403), ("public", 401)]
)
def test_others_cannot_provision(api, role, status):
    device = new_id()
    r = provision(api, role, device, api.site_a)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    with api.client("admin") as c:
        assert c.get(f"/api/v1/devices/{device}").status_code == 404


def test_unknown_resident_and_duplicates(api):
    assert provision(api, "admin", new_id(), api.site_a, "nobody").status_code == 404
    device = new_id()
    assert provision(api, "coord_a", device, api.site_a).status_code == 201
    assert provision(api, "coord_a", device, api.site_a, "r3").status_code == 409
    assert provision(api, "coord_a", "svc.ingest", api.site_a).status_code == 400


def test_lists_and_reads_stay_inside_the_site(api):
    mine = new_id()
    theirs = new_id()
    assert provision(api, "coord_a", mine, api.site_a).status_code == 201
    assert provision(api, "coord_b", theirs, api.site_b, "r1").status_code == 201
    with api.client("coord_a") as c:
        listed = c.get("/api/v1/devices", params={"per_page": 500}).json()
        ids = {d["id"] for d in listed["items"]}
        assert mine in ids and theirs not in ids
        assert {d["site"] for d in listed["items"]} == {api.site_a}
        assert listed["total"] == len(listed["items"])
        assert c.get(f"/api/v1/devices/{theirs}").status_code == 404
        assert c.get("/api/v1/devices", params={"site": api.site_b}).status_code == 404
        assert c.post(f"/api/v1/devices/{theirs}/rotate").status_code == 404
        assert c.post(f"/api/v1/devices/{theirs}/revoke").status_code == 404
    with api.client("admin") as c:
        ids = {d["id"] for d in c.get("/api/v1/devices", params={"per_page": 500}).json()["items"]}
        assert {mine, theirs} <= ids
    with api.client("vol_a") as c:
        assert c.get("/api/v1/devices").status_code == 403
        assert c.get(f"/api/v1/devices/{mine}").status_code == 403


def test_rotate_and_revoke(api):
    device = new_id()
    first = provision(api, "coord_a", device, api.site_a, api_token=True).json()
    with api.client("vol_a") as c:
        assert c.post(f"/api/v1/devices/{device}/rotate").status_code == 403
        assert c.post(f"/api/v1/devices/{device}/revoke").status_code == 403
    with api.client("coord_a") as c:
        rotated = c.post(f"/api/v1/devices/{device}/rotate").json()
        new = rotated["mqtt"]["password"]
        assert new != first["mqtt"]["password"] and rotated["device"]["rotated_at"]
        revoked = c.post(f"/api/v1/devices/{device}/revoke")
        assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
        assert c.post(f"/api/v1/devices/{device}/revoke").json()["state"] == "revoked"
        assert c.post(f"/api/v1/devices/{device}/rotate").status_code == 409
        active = c.get("/api/v1/devices", params={"per_page": 500}).json()["items"]
        assert device not in {d["id"] for d in active}
        listed = c.get("/api/v1/devices", params={"per_page": 500, "include_revoked": True})
        assert device in {d["id"] for d in listed.json()["items"]}
    assert f"user {device}\n" not in (api.settings.data_dir / "broker" / "acl").read_text()
    # The device's API token went with it.
    token = first["api_token"]
    with api.client() as c:
        me = c.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


def test_a_device_token_reads_only_its_own_record(api):
    device = new_id()
    body = provision(api, "admin", device, api.site_a, "r3", api_token=True).json()
    headers = {"Authorization": f"Bearer {body['api_token']}"}
    with api.client() as c:
        me = c.get("/api/v1/devices/me", headers=headers)
        assert me.status_code == 200
        assert me.json()["id"] == device and me.json()["resident"] == "r3"
        assert c.get(f"/api/v1/devices/{device}", headers=headers).status_code == 403
        assert c.get("/api/v1/devices", headers=headers).status_code == 403
    for role in ("coord_a", "vol_a", "public"):
        with api.client(role) as c:
            assert c.get("/api/v1/devices/me").status_code in (401, 403)


def test_the_credentials_live_where_the_database_setting_says(api) -> None:
    """On PostgreSQL no relational state goes to a file of the server's data dir (the
    people database with the MQTT users, the alert store, the dead letters, receipts)."""
    assert provision(api, "admin", new_id(), api.site_a).status_code == 201
    files = {p.name for p in api.settings.paths.data_dir.rglob("*.sqlite3")}
    if api.settings.store_url:
        assert files == set()
    else:
        assert {"people.sqlite3", "alerts.sqlite3"} <= files
