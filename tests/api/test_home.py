"""The coordinators' home page data (``GET /api/v1/residents/overview``) and the catalog
messages for pages (``GET /api/v1/messages``), on the real app, InfluxDB and alert store."""

from __future__ import annotations

import time

from models.runtime.careplan import CareProfile
from people import Resident
from tests.api.conftest import World

HOUR = 3_600_000
DAY = 86_400_000


def _seed(api: World, rid: str) -> int:
    """A resident with four days of hourly heart rates (66, 70, 74 in turn: median 70, IQR
    8 with nearest-rank quartiles), a latest reading of 95, one device online and a care
    plan item that is overdue (00:00-00:01 UTC today, no event)."""
    site = api.site_a
    profile = CareProfile.model_validate(
        {"expectations": [{"name": "night check", "event": "checkup_done", "at": "00:00",
                           "window_min": 1, "remind_before_min": 0}]}
    )  # fmt: skip
    api.directory.add_resident(Resident(site, rid, f"Home {rid}", "en", profile))
    now = int(time.time() * 1000)
    midnight = now - now % DAY
    start = midnight - 5 * DAY
    tags = f"device=term-{rid},resident={rid},site={site}"
    lines = [
        f"vitals,{tags} heart_rate={(66, 70, 74)[i % 3]}.0,spo2=97.0 {start + i * HOUR}"
        for i in range(96)
    ]
    lines.append(f"vitals,{tags} heart_rate=95.0,spo2=97.0 {now - 60_000}")
    lines.append(f'device_status,{tags} state="online",seq=1i {now - 30_000}')
    api.influx.write(api.settings.influx.database, lines)
    return now


def test_overview_lists_residents_with_vitals_band_needs_devices_plan(api: World) -> None:
    rid = "home1"
    now = _seed(api, rid)
    api.publish_need(api.site_a, rid, "fall", "emergency")
    api.wait_alert(api.site_a, rid, "fall")
    with api.client("coord_a") as c:
        body = c.get("/api/v1/residents/overview").json()
    rows = {(r["site"], r["id"]): r for r in body["items"]}
    assert body["count"] == len(body["items"]) == body["total"]
    assert {k[0] for k in rows} == {api.site_a}  # only the coordinator's site
    row = rows[(api.site_a, rid)]
    hr = row["vitals"]["heart_rate"]
    assert hr["value"] == 95.0 and hr["state"] == "high"
    assert (hr["lo"], hr["hi"]) == (62.0, 78.0)  # 70 ± (74 - 66)
    assert row["vitals"]["spo2"]["state"] == "usual"
    assert row["needs"] == {"emergency": 1} and row["top_tier"] == "emergency"
    assert row["needs_open"] == 1
    assert (row["devices_online"], row["devices_total"]) == (1, 1)
    assert row["tickets"] is None and row["satisfaction"] is None  # hooks, not built yet
    if now % DAY >= 60_000:  # after 00:01 UTC the night check is overdue
        assert [p["state"] for p in row["plan"]] == ["overdue"] and row["plan_overdue"] == 1
    # a resident with no readings has no vitals, no devices, no needs
    quiet = rows[(api.site_a, "r3")]
    assert quiet["vitals"] == {} and quiet["devices_total"] == 0


def test_overview_scope_roles_and_audit(api: World) -> None:
    with api.client("coord_b") as c:
        sites = {r["site"] for r in c.get("/api/v1/residents/overview").json()["items"]}
        assert sites == {api.site_b}
        assert c.get("/api/v1/residents/overview", params={"site": api.site_a}).status_code == 404
    with api.client("vol_a") as c:
        assert c.get("/api/v1/residents/overview").status_code == 403
    with api.client() as c:
        assert c.get("/api/v1/residents/overview").status_code == 401
    before = api.directory.audit(frozenset({api.site_b}))[1]
    with api.client("coord_b") as c:
        c.get("/api/v1/residents/overview", params={"site": api.site_b})
    rows, total = api.directory.audit(frozenset({api.site_b}))
    assert total == before + 1 and rows[0].action == "read_overview"


def test_messages_in_the_callers_language(api: World) -> None:
    with api.client(headers={"Accept-Language": "zh-TW,en;q=0.5"}) as c:
        body = c.get("/api/v1/messages", params={"prefix": ["home.", "tier."]}).json()
    assert body["locale"] == "zh-Hant"
    assert body["messages"]["home.title"] == "住民總覽"
    assert body["messages"]["tier.emergency"] == "緊急"
    assert not any(k.startswith("report.") for k in body["messages"])
    with api.client("coord_a", headers={"Accept-Language": "zh-CN"}) as c:  # profile: en
        assert c.get("/api/v1/messages", params={"prefix": "home."}).json()["locale"] == "en"
        assert c.get("/api/v1/messages").status_code == 422  # a prefix is required
