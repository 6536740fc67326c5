"""Care plans and appointments through the API (docs/careplan.md): impossible periods, a
reminder time in another zone and an appointment in the past are refused with their
reason; an accompany/transport need becomes a request ticket; the due/overdue lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from people import CareProfile

CHECKUP = {"name": "diabetes check-up", "event": "checkup_done", "at": "09:00",
           "every_days": 90, "window_days": 14}  # fmt: skip


@pytest.fixture
def restore_profile(api):
    yield
    api.directory.set_care_profile(api.site_a, "r2", CareProfile(language="en"))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"every_days": 0}, "greater than or equal to 1"),
        ({"every_days": 7, "window_days": 8}, "longer than the period"),
        ({"every_days": 99999}, "less than or equal to 3660"),
    ],
)
def test_an_impossible_period_is_refused_with_its_reason(api, change, reason) -> None:
    with api.client("coord_a") as c:
        r = c.put(f"/api/v1/residents/{api.site_a}/r2/care-profile",
                  json={"expectations": [{**CHECKUP, **change}]})  # fmt: skip
    assert r.status_code == 422 and reason in r.text


def test_a_reminder_time_in_a_zone_the_site_does_not_use_is_refused(api, restore_profile):
    url = f"/api/v1/residents/{api.site_a}/r2/care-profile"
    with api.client("coord_a") as c:
        r = c.put(url, json={"expectations": [{**CHECKUP, "zone": "Asia/Taipei"}]})
        assert r.status_code == 422
        assert "Asia/Taipei" in r.json()["detail"] and "Europe/London" in r.json()["detail"]
        ok = c.put(url, json={"expectations": [{**CHECKUP, "zone": "Europe/London"}]})
        assert ok.status_code == 200 and ok.json()["expectations"][0]["every_days"] == 90


def test_due_soon_and_overdue_lists(api, restore_profile) -> None:
    soon = (datetime.now(UTC) + timedelta(days=3)).date()
    plan = [
        {**CHECKUP, "start": soon.isoformat()},  # opens in three days: due soon
        {"name": "morning pills", "event": "medication_taken", "at": "00:00", "window_min": 1},
    ]
    with api.client("coord_a") as c:
        assert c.put(f"/api/v1/residents/{api.site_a}/r2/care-profile",
                     json={"expectations": plan}).status_code == 200  # fmt: skip
        body = c.get("/api/v1/careplan/due", params={"site": api.site_a}).json()
        near = c.get("/api/v1/careplan/due", params={"site": api.site_a, "ahead_days": 1})
        soon_r2 = {i["name"] for i in near.json()["due_soon"] if i["resident"] == "r2"}
        assert soon_r2 == {"morning pills"}  # tomorrow (other tests' residents share the site)
    with api.client("vol_a") as c:  # who missed what is for staff
        assert c.get("/api/v1/careplan/due", params={"site": api.site_a}).status_code == 403
    checkups = [i for i in body["due_soon"] if i["name"] == "diabetes check-up"]
    assert [(i["resident"], i["state"]) for i in checkups] == [("r2", "upcoming")]
    assert date.fromtimestamp(checkups[0]["opens_ms"] / 1000) >= soon - timedelta(1)
    pills = [i for i in body["due_soon"] if i["name"] == "morning pills"]
    assert len(pills) >= 6 and all(i["state"] == "upcoming" for i in pills)  # one a day
    overdue = [(i["resident"], i["name"]) for i in body["overdue"] if i["resident"] == "r2"]
    assert overdue and set(overdue) == {("r2", "morning pills")}  # no event in InfluxDB


def test_booking_an_appointment_with_transport_raises_a_request_ticket(api) -> None:
    url = f"/api/v1/residents/{api.site_a}/r1/appointments"
    at = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    with api.client("coord_a") as c:
        r = c.post(url, json={"at": at.isoformat(), "place": "Rose clinic",
                              "purpose": "check-up", "companion": "v1", "transport": True,
                              "event": "checkup_done"})  # fmt: skip
        assert r.status_code == 201, r.text
        booked = r.json()
        assert booked["booked_by"] == "c01" and booked["ticket"]
        ticket = c.get(f"/api/v1/tickets/{booked['ticket']}").json()
        assert ticket["kind"] == "request" and ticket["state"] in ("open", "notified")
        assert "Rose clinic" in ticket["summary"] and "transport" in ticket["summary"]
        listed = c.get(url).json()
        assert [a["id"] for a in listed["items"]] == [booked["id"]]
        assert c.delete(f"{url}/{booked['id']}").status_code == 204
        assert c.get(url).json()["total"] == 0
        assert c.delete(f"{url}/{booked['id']}").status_code == 404


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"at": "2020-01-01T10:00:00+08:00"}, "in the past"),
        ({"at": "2099-01-01T10:00:00"}, "needs its zone"),
        ({"event": "lunch"}, "event must be one of"),
        ({"place": ""}, "at least 1 character"),
    ],
)
def test_a_bad_appointment_is_refused_with_its_reason(api, change, reason) -> None:
    body = {"at": "2099-01-01T10:00:00+08:00", "place": "clinic", **change}
    with api.client("coord_a") as c:
        r = c.post(f"/api/v1/residents/{api.site_a}/r1/appointments", json=body)
    assert r.status_code == 422 and reason in r.text


def test_appointments_of_another_site_are_not_found(api) -> None:
    with api.client("coord_b") as c:
        r = c.post(f"/api/v1/residents/{api.site_a}/r1/appointments",
                   json={"at": "2099-01-01T10:00:00+08:00", "place": "clinic"})  # fmt: skip
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("escalate", "reason"),
    [
        (["family", "neighbours"], "'family', 'volunteers', 'coordinator' or 'webhook'"),
        (["family", "coordinator", "family"], "'family' is named more than once"),
        ([], "at least 1 item"),
    ],
)
def test_a_bad_escalation_is_refused_with_its_reason(api, escalate, reason) -> None:
    with api.client("coord_a") as c:
        r = c.put(f"/api/v1/residents/{api.site_a}/r2/care-profile",
                  json={"expectations": [{**CHECKUP, "escalate": escalate}]})  # fmt: skip
    assert r.status_code == 422 and reason in r.text
    assert api.directory.resident(api.site_a, "r2").profile.expectations == ()  # nothing lost


def test_a_plans_escalation_and_the_family_consent_are_kept(api, restore_profile) -> None:
    url = f"/api/v1/residents/{api.site_a}/r2"
    chain = ["family", "volunteers", "volunteers", "coordinator"]
    with api.client("coord_a") as c:
        r = c.put(f"{url}/care-profile", json={"expectations": [{**CHECKUP, "escalate": chain}]})
        assert r.status_code == 200 and r.json()["expectations"][0]["escalate"] == chain
        assert c.get(f"{url}/consents").json()["notify_family"] is False  # off unless agreed
        put = c.put(f"{url}/consents", json={"notify_family": True})
        assert put.status_code == 200 and put.json()["notify_family"] is True
        assert c.get(f"{url}/consents").json()["notify_family"] is True
        c.put(f"{url}/consents", json={})
    assert api.directory.consent(api.site_a, "r2").notify_family is False
