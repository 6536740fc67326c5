"""Erasure and retention over HTTP: who may, the receipt, and what InfluxDB then holds."""

from __future__ import annotations

import time
import uuid

from app.privacy import verify
from people import Resident, Site

#: Run on the SQLite and the PostgreSQL session server (tests/api/conftest.py).
BOTH_BACKENDS = True


def resident_with_data(api) -> str:
    """A resident of site A of this test's own, with points in InfluxDB and a device."""
    rid = f"rx-{uuid.uuid4().hex[:6]}"
    api.directory.add_resident(Resident(api.site_a, rid, "Erin Example"))
    now = int(time.time() * 1000)
    tags = f"device=d-{rid},resident={rid},site={api.site_a}"
    api.influx.write(
        api.settings.influx.database,
        [f"vitals,{tags} heart_rate=70.0 {now}", f"event,{tags},type=sos n=1i {now}"],
    )
    with api.client("admin") as c:
        made = c.post(
            "/api/v1/devices", json={"id": f"d-{rid}", "site": api.site_a, "resident": rid}
        )
        assert made.status_code == 201
    return rid


def points(api, rid: str) -> int:
    db = api.settings.influx.database
    q = f"SELECT count(*) FROM /.*/ WHERE resident = '{rid}'"
    series = api.influx.query(q, db)["results"][0].get("series") or []
    return sum(max(v for v in s["values"][0][1:] if v) for s in series)


def test_erasure_by_role_and_its_receipt(api):
    rid = resident_with_data(api)
    url = f"/api/v1/residents/{api.site_a}/{rid}/erasure"
    for role, status in (("coord_b", 404), ("vol_a", 403), ("device", 403), ("public", 401)):
        with api.client(role) as c:
            assert c.post(url).status_code == status, role
    assert points(api, rid) == 2
    with api.client("coord_a") as c:
        r = c.post(url)
        assert r.status_code == 201, r.text
        receipt = r.json()
        assert verify(receipt)
        assert receipt["requested_by"] == {"subject": "c01", "role": "coordinator"}
        assert receipt["totals"]["influxdb"] == 2
        assert receipt["stores"]["registry"]["devices"] == 1
        assert receipt["stores"]["directory"]["residents"] == 1
        assert "Erin" not in r.text
        assert points(api, rid) == 0
        assert c.get(f"/api/v1/devices/d-{rid}").status_code == 404
        assert c.post(url).status_code == 404  # gone from the directory
        stored = c.get(f"/api/v1/erasures/{receipt['id']}")
        assert stored.status_code == 200 and stored.json() == receipt
    with api.client("coord_b") as c:
        assert c.get(f"/api/v1/erasures/{receipt['id']}").status_code == 404
    with api.client("vol_a") as c:
        assert c.get(f"/api/v1/erasures/{receipt['id']}").status_code == 403
    with api.client("admin") as c:
        assert c.get("/api/v1/erasures/er-nope").status_code == 404


def test_retention_is_admin_only_and_reaches_influxdb(api):
    site = f"ret-{uuid.uuid4().hex[:6]}"
    api.directory.add_site(Site(site, "Retention Home"))
    url = f"/api/v1/sites/{site}/retention"
    with api.client("coord_a") as c:
        assert c.put(url, json={"days": 14}).status_code in (403, 404)
    with api.client("admin") as c:
        r = c.put(url, json={"days": 14})
        assert r.status_code == 200, r.text
        assert r.json() == {
            "site": site, "days": 14, "policy": f"site_{site}", "duration": "336h0m0s"
        }  # fmt: skip
        assert c.put(url, json={"days": -1}).status_code == 422
        assert c.put("/api/v1/sites/no-such-site/retention", json={"days": 1}).status_code == 404
    assert api.directory.site(site).retention_days == 14
    db = api.settings.influx.database
    answer = api.influx.query(f'SHOW RETENTION POLICIES ON "{db}"', db)
    rows = {row[0]: row[1] for row in answer["results"][0]["series"][0]["values"]}
    assert rows[f"site_{site}"] == "336h0m0s"
