"""Tickets, ratings and praise through the real API and the real alert service: families,
volunteers and coordinators raise tickets, the first who takes one owns it, resolving
takes a note, families rate once, and figures come out month by month."""

from __future__ import annotations

from typing import Any

from careloop.wire.needs import NeedMessage
from tests.api.conftest import World

H = 3_600_000


def _family(api: World, resident: str) -> str:
    return api.directory.create_token("family", resident, [api.site_a])[0]


def _client(api: World, token: str) -> Any:
    return api.client(headers={"Authorization": f"Bearer {token}"})


def test_a_family_request_is_taken_resolved_with_a_note_and_rated_once(api: World) -> None:
    a = api.site_a
    daughter, son = _family(api, "r2"), _family(api, "r2")
    with _client(api, daughter) as fam:
        made = fam.post("/api/v1/tickets", json={
            "site": a, "resident": "r2", "kind": "request",
            "summary": "The room is too cold at night.",
        })  # fmt: skip
        assert made.status_code == 201, made.text
        ticket = made.json()
        assert (ticket["tier"], ticket["source"], ticket["kind"]) == (
            "general",
            "family",
            "request",
        )
        assert ticket["respond_due_ms"] - ticket["opened_ms"] == 24 * H
        # A family member cannot take or resolve it, and sees only their resident's tickets.
        assert fam.post(f"/api/v1/tickets/{ticket['id']}/accept").status_code == 403
        listed = fam.get("/api/v1/tickets").json()["items"]
        assert {t["resident"] for t in listed} == {"r2"}
    with api.client("vol_a") as vol:  # v1 takes it: first contact, paged or not
        taken = vol.post(f"/api/v1/tickets/{ticket['id']}/accept")
        assert taken.status_code == 200, taken.text
        assert (taken.json()["owner"], taken.json()["state"]) == ("v1", "accepted")
        assert taken.json()["resolve_due_ms"] - taken.json()["accepted_ms"] == 48 * H
    with api.client("vol_a2") as other:  # the second one is told it is owned
        again = other.post(f"/api/v1/tickets/{ticket['id']}/accept")
        assert again.status_code == 409 and "already_owned" in again.text
        assert other.post(f"/api/v1/tickets/{ticket['id']}/resolve").status_code == 403
    with api.client("vol_a") as vol:
        done = vol.post(f"/api/v1/tickets/{ticket['id']}/resolve",
                        json={"note": "Heater fixed, 24 °C now."})  # fmt: skip
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "resolved"
    with api.client("coord_a") as coord:
        assert coord.get(f"/api/v1/tickets/{ticket['id']}").json()["resolution"] == (
            "Heater fixed, 24 °C now."
        )
    with _client(api, daughter) as fam:
        first = fam.post("/api/v1/ratings", json={"alert": ticket["id"], "score": 4})
        assert first.status_code == 201, first.text
        twice = fam.post("/api/v1/ratings", json={"alert": ticket["id"], "score": 5})
        assert twice.status_code == 409
        assert "already rated" in twice.json()["detail"]
    with _client(api, son) as fam:  # another member of the family answers for themselves
        assert (
            fam.post("/api/v1/ratings", json={"alert": ticket["id"], "score": 2}).status_code == 201
        )
    with api.client("coord_a") as coord:
        scores = sorted(
            r["score"] for r in coord.get(f"/api/v1/tickets/{ticket['id']}").json()["ratings"]
        )
        assert scores == [2, 4]
        months = coord.get("/api/v1/ratings/monthly", params={"site": a}).json()
        jan = next(m for m in months if m["month"] == "2026-01")
        assert jan["tickets"] >= 1 and jan["ratings"] >= 2 and jan["satisfaction"] is not None
        # the caller's profile language (coord_a reads English) comes before the browser's
        chart = coord.get("/api/v1/ratings/monthly.svg", params={"site": a},
                          headers={"Accept-Language": "zh-TW"})  # fmt: skip
        assert chart.headers["content-type"].startswith("image/svg+xml")
        assert "Satisfaction by month" in chart.text and "2026-01" in chart.text
        chart = coord.get("/api/v1/ratings/monthly.svg", params={"site": a, "lang": "zh-TW"})
        assert "每月滿意度" in chart.text and "2026-01" in chart.text
    with api.client("admin", headers={"Accept-Language": "zh-CN"}) as admin:  # no profile
        chart = admin.get("/api/v1/ratings/monthly.svg", params={"site": a})
        assert "每月满意度" in chart.text


def test_a_complaint_is_important_and_a_link_rates_once(api: World) -> None:
    a = api.site_a
    with api.client("coord_a") as coord:
        made = coord.post("/api/v1/tickets", json={
            "site": a, "resident": "r3", "kind": "complaint",
            "summary": "A carer was rude to my father.", "take": True,
        })  # fmt: skip
        assert made.status_code == 201, made.text
        ticket = made.json()
        assert (ticket["tier"], ticket["owner"], ticket["state"]) == (
            "important", "c01", "accepted",
        )  # fmt: skip
        assert ticket["respond_due_ms"] - ticket["opened_ms"] == 12 * H
        assert ticket["resolve_due_ms"] - ticket["accepted_ms"] == 7 * 24 * H
        early = coord.post(f"/api/v1/tickets/{ticket['id']}/rating-link")
        assert early.status_code == 201
        with api.client() as anyone:  # not resolved yet: nothing to rate
            unresolved = anyone.post(
                "/api/v1/ratings", json={"link": early.json()["link"], "score": 3}
            )
            assert unresolved.status_code == 409
        resolved = coord.post(f"/api/v1/tickets/{ticket['id']}/resolve",
                              json={"note": "Spoke with the carer; apology made."})  # fmt: skip
        assert resolved.status_code == 200, resolved.text
        link = early.json()["link"]  # still usable: the refused rating did not spend it
    with api.client() as anyone:  # no token: the link is the credential
        assert anyone.post("/api/v1/ratings", json={"link": link, "score": 5}).status_code == 201
        used = anyone.post("/api/v1/ratings", json={"link": link, "score": 1})
        assert used.status_code == 409 and "already used" in used.json()["detail"]
        bad = anyone.post("/api/v1/ratings", json={"link": "rl_not-a-real-link", "score": 1})
        assert bad.status_code == 404
        assert (
            anyone.post("/api/v1/ratings", json={"alert": ticket["id"], "score": 1}).status_code
            == 403
        )


def test_tickets_for_residents_of_other_sites_are_refused_with_a_reason(api: World) -> None:
    body = {"site": api.site_b, "resident": "r1", "kind": "request", "summary": "x"}
    with api.client("coord_a") as coord:
        refused = coord.post("/api/v1/tickets", json=body)
        assert refused.status_code == 404 and refused.json()["detail"] == "not found"
        unknown = coord.post("/api/v1/tickets", json={**body, "site": api.site_a,
                                                       "resident": "nobody"})  # fmt: skip
        assert unknown.status_code == 404 and "no such resident" in unknown.json()["detail"]
    with _client(api, _family(api, "r2")) as fam:
        other = fam.post("/api/v1/tickets", json={**body, "site": api.site_a, "resident": "r1"})
        assert other.status_code == 403 and "own resident" in other.json()["detail"]
    with api.client("device") as device:
        assert device.post("/api/v1/tickets", json=body).status_code == 403
    with api.client("vol_b") as vol_b, api.client("coord_a") as coord:
        made = coord.post("/api/v1/tickets", json={**body, "site": api.site_a, "resident": "r1"})
        assert vol_b.get(f"/api/v1/tickets/{made.json()['id']}").status_code == 404


def test_praise_is_credited_to_the_named_volunteer_and_counted(api: World) -> None:
    with api.client("vol_a") as vol:
        before = vol.get("/api/v1/volunteers/v1/praise").json()["praise"]
    with _client(api, _family(api, "r1")) as fam:
        made = fam.post("/api/v1/tickets", json={
            "site": api.site_a, "resident": "r1", "kind": "praise", "volunteer": "v1",
        })  # fmt: skip
        assert made.status_code == 201, made.text
        assert (made.json()["volunteer"], made.json()["credited_by"]) == ("v1", "named")
    with api.client("vol_a") as vol:
        assert vol.get("/api/v1/volunteers/v1/praise").json()["praise"] == before + 1
        assert vol.get("/api/v1/volunteers/v2/praise").status_code == 403
    with api.client() as public:  # the public board: aggregates only, no ids
        board = public.get("/api/v1/public/satisfaction").json()
        assert board["k"] == 5
        assert all(set(g) == {"site", "month", "ratings", "satisfaction", "complaints",
                              "suppressed"} for g in board["groups"])  # fmt: skip


def test_a_spoken_request_reads_in_the_callers_language(api: World) -> None:
    """A voice ticket's summary is catalog text: shown in the caller's locale (their profile
    language first, else the browser's); a ticket typed by a person stays as written."""
    ts = api.service.clock.now_ms()
    need = NeedMessage(
        id=f"r1:request:{ts}", site=api.site_a, resident="r1", kind="request", tier="general",
        ts=ts, onset=ts, score=0.82, summary="Asked for something out loud (a request, p = 0.82).",
        summary_key="summary.ticket.request", summary_args={"p": 0.82},
    )  # fmt: skip
    ticket = api.service.engine.handle_need(need, "test")
    assert ticket is not None
    with api.client("admin", headers={"Accept-Language": "zh-CN"}) as admin:  # no profile
        assert admin.get(f"/api/v1/tickets/{ticket}").json()["summary"] == (
            "开口提出需要（请求，p = 0.82）。"
        )
        listed = admin.get("/api/v1/tickets", params={"site": api.site_a}).json()["items"]
        assert next(t for t in listed if t["id"] == ticket)["summary"] == (
            "开口提出需要（请求，p = 0.82）。"
        )
    with api.client("coord_a", headers={"Accept-Language": "zh-TW"}) as coord:  # reads English
        assert coord.get(f"/api/v1/tickets/{ticket}").json()["summary"] == need.summary
