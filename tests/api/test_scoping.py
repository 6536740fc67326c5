"""Site scoping, consent filtering, pagination and the problem+json shape."""

from __future__ import annotations

from tests.api.conftest import World

#: Run on the SQLite and the PostgreSQL session server (tests/api/conftest.py).
BOTH_BACKENDS = True


def _all(c, path: str, **params) -> tuple[list[dict], int]:  # type: ignore[no-untyped-def]
    body = c.get(path, params={"per_page": 500, **params}).json()
    return body["items"], body["total"]


def test_coordinator_of_b_never_sees_a_in_lists_or_totals(api: World) -> None:
    with api.client("coord_b") as c:
        residents, total = _all(c, "/api/v1/residents")
        sites, site_total = _all(c, "/api/v1/sites")
        volunteers, vol_total = _all(c, "/api/v1/volunteers")
        rotations, _ = _all(c, "/api/v1/rotations")
        assert c.get("/api/v1/residents", params={"site": api.site_a}).status_code == 404
    assert {r["site"] for r in residents} == {api.site_b}
    assert total == len(residents) == 1
    assert [s["id"] for s in sites] == [api.site_b] and site_total == 1
    assert {v["id"] for v in volunteers} == {"w1", "c02"} and vol_total == 2
    assert all(r["site"] == api.site_b for r in rotations)
    with api.client("admin") as c:
        _, admin_total = _all(c, "/api/v1/residents", site=api.site_a)
    assert admin_total >= 3  # A has residents: B's totals did not count them


def test_volunteer_lists_only_residents_who_consented_to_sharing(api: World) -> None:
    with api.client("vol_a") as c:
        residents, total = _all(c, "/api/v1/residents")
    ids = {(r["site"], r["id"]) for r in residents}
    assert ids == {(api.site_a, "r1"), (api.site_a, "r3")}
    assert total == 2


def test_volunteer_of_two_sites_is_shown_only_the_callers_sites(api: World) -> None:
    from people import Volunteer

    api.directory.add_volunteer(Volunteer("both1", "Both", (api.site_a, api.site_b)))
    with api.client("coord_b") as c:
        record = c.get("/api/v1/volunteers/both1").json()
        # a coordinator of B changes only B's membership: A stays
        c.patch("/api/v1/volunteers/both1", json={"sites": [api.site_b], "name": "Both Again"})
    assert record["sites"] == [api.site_b]
    assert api.directory.volunteer("both1").sites == (api.site_a, api.site_b)
    with api.client("coord_b") as c:
        assert c.delete("/api/v1/volunteers/both1").status_code == 204
    assert api.directory.volunteer("both1").sites == (api.site_a,)


def test_a_coordinator_cannot_reach_another_site_through_a_shared_volunteer(api: World) -> None:
    """A coordinator of B may not issue or rotate the MQTT login of a volunteer who also
    serves A (that login would hear A's pages), nor change what holds at A too (contact
    details, availability); they may still manage the volunteer's membership of B."""
    from people import Volunteer

    api.directory.add_volunteer(
        Volunteer("both2", "Both Two", (api.site_a, api.site_b), email="both2@example.org")
    )
    with api.client("coord_b") as c:
        login = c.post("/api/v1/volunteers/both2/app-credentials")
        email = c.patch("/api/v1/volunteers/both2", json={"email": "mine@example.org"})
        off = c.patch("/api/v1/volunteers/both2", json={"active": False})
        revoke = c.delete("/api/v1/volunteers/both2/app-credentials")
        own_site = c.patch("/api/v1/volunteers/both2", json={"sites": [api.site_b]})
    assert (login.status_code, email.status_code, off.status_code) == (403, 403, 403)
    assert revoke.status_code == 403
    assert own_site.status_code == 200
    stored = api.directory.volunteer("both2")
    assert (stored.email, stored.active) == ("both2@example.org", True)
    with api.client("admin") as c:
        issued = c.post("/api/v1/volunteers/both2/app-credentials")
    assert issued.status_code == 201
    assert issued.json()["hears"] == "careloop/alerts/v1/+/volunteer/both2"


def test_pagination_pages_through_every_item_once(api: World) -> None:
    from people import Resident, Site

    site = f"{api.site_a}p"
    api.directory.add_site(Site(site, "Paged"))
    for i in range(7):
        api.directory.add_resident(Resident(site, f"p{i}", f"Person {i}"))
    seen: list[str] = []
    with api.client("admin") as c:
        for page in (1, 2, 3, 4):
            body = c.get("/api/v1/residents", params={"site": site, "page": page, "per_page": 3})
            body = body.json()
            assert (body["total"], body["page"], body["per_page"]) == (7, page, 3)
            seen += [r["id"] for r in body["items"]]
        too_big = c.get("/api/v1/residents", params={"per_page": 501})
    assert seen == [f"p{i}" for i in range(7)]
    assert too_big.status_code == 422


def test_errors_are_problem_json(api: World) -> None:
    with api.client("admin") as c:
        missing = c.get(f"/api/v1/residents/{api.site_a}/nobody")
        invalid = c.post("/api/v1/sites", json={"id": "bad id!", "name": ""})
        conflict = c.post("/api/v1/sites", json={"id": api.site_a, "name": "Again"})
        bad_tz = c.post(
            "/api/v1/sites", json={"id": f"{api.site_a}tz", "name": "X", "timezone": "Mars/Base"}
        )
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json() == {
        "type": "https://careloop.dev/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "not found",
        "instance": f"/api/v1/residents/{api.site_a}/nobody",
    }
    body = invalid.json()
    assert invalid.status_code == 422
    assert body["title"] in ("Unprocessable Entity", "Unprocessable Content")
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "id"), ("body", "name")}
    assert "bad id!" not in invalid.text  # offending values are not echoed back
    assert conflict.status_code == 409 and conflict.json()["status"] == 409
    assert bad_tz.status_code == 400 and "time zone" in bad_tz.json()["detail"]


def test_bad_and_revoked_tokens_are_401_not_anonymous(api: World) -> None:
    raw, record = api.directory.create_token("coordinator", "c9", [api.site_a])
    with api.client() as c:
        ok = c.get("/api/v1/sites", headers={"Authorization": f"Bearer {raw}"})
        api.directory.revoke_token(record.id)
        revoked = c.get("/api/v1/sites", headers={"Authorization": f"Bearer {raw}"})
        bogus = c.get("/api/v1/session", headers={"Authorization": "Bearer nope"})
        public = c.get("/api/v1/public/closed-loop", headers={"Authorization": "Bearer nope"})
    assert ok.status_code == 200
    assert revoked.status_code == 401
    assert bogus.status_code == 401
    assert public.status_code == 200  # public routes do not look at credentials
