"""The family role through the real API: a family token reads its own resident's weekly
report as far as the resident's consent allows (404 without it), and never another
resident's report, tickets or ratings; the family page and its words are served."""

from __future__ import annotations

import uuid
from typing import Any

from careloop.i18n import translate
from people import Consent, Resident
from tests.api.conftest import World


def _client(api: World, token: str, **headers: str) -> Any:
    return api.client(headers={"Authorization": f"Bearer {token}", **headers})


def _residents(api: World) -> tuple[str, str]:
    """Two residents of site A of this test's own: ``mine`` shares the report (no vitals)
    with the family, ``theirs`` shares nothing with the family."""
    a, tag = api.site_a, uuid.uuid4().hex[:6]
    mine, theirs = f"fam-{tag}-1", f"fam-{tag}-2"
    api.directory.add_resident(Resident(a, mine, "Eve Elm", "en"))
    api.directory.add_resident(Resident(a, theirs, "Fay Fir", "en"))
    api.directory.set_consent(
        Consent(a, mine, share_reports_with_family=True, updated_by="test")
    )  # fmt: skip
    return mine, theirs


def test_a_family_reads_its_residents_report_as_consent_allows(api: World) -> None:
    a = api.site_a
    mine, theirs = _residents(api)
    token = api.directory.create_token("family", mine, [a])[0]
    with _client(api, token, **{"Accept-Language": "zh-TW"}) as fam:
        me = fam.get("/api/v1/family/me")
        assert me.status_code == 200, me.text
        assert me.json() | {"rater": "x"} == {
            "site": a, "resident": mine, "name": "Eve Elm", "report": True, "vitals": False,
            "rater": "x",
        }  # fmt: skip
        report = fam.get(f"/api/v1/residents/{a}/{mine}/report")
        assert report.status_code == 200, report.text
        assert report.headers["content-language"] == "zh-Hant"  # the browser's language
        assert "Eve Elm" in report.text
        # No share_vitals_with_family: the page says so instead of showing readings.
        assert translate("zh-Hant", "report.withheld") in report.text
        english = fam.get(f"/api/v1/residents/{a}/{mine}/report", params={"lang": "en"})
        assert english.headers["content-language"] == "en"
        # Another resident: 404 as if there were none, and never their name.
        other = fam.get(f"/api/v1/residents/{a}/{theirs}/report")
        assert other.status_code == 404 and "Fay Fir" not in other.text
        # A family token is not a volunteer: resident lists and vitals stay closed.
        assert fam.get("/api/v1/residents").status_code == 403
        assert fam.get(f"/api/v1/residents/{a}/{mine}").status_code == 403


def test_without_consent_the_report_is_404_and_the_page_knows(api: World) -> None:
    a = api.site_a
    _, theirs = _residents(api)
    token = api.directory.create_token("family", theirs, [a])[0]
    with _client(api, token) as fam:
        me = fam.get("/api/v1/family/me").json()
        assert (me["name"], me["report"], me["vitals"]) == (None, False, False)
        assert fam.get(f"/api/v1/residents/{a}/{theirs}/report").status_code == 404
    # The resident agrees: the same token reads it at once.
    api.directory.set_consent(
        Consent(a, theirs, share_reports_with_family=True, share_vitals_with_family=True,
                updated_by="test")
    )  # fmt: skip
    with _client(api, token) as fam:
        report = fam.get(f"/api/v1/residents/{a}/{theirs}/report")
        assert report.status_code == 200 and "Fay Fir" in report.text
        assert translate("en", "report.withheld") not in report.text
        assert fam.get("/api/v1/family/me").json()["vitals"] is True


def test_a_family_token_never_reaches_another_residents_tickets(api: World) -> None:
    a = api.site_a
    mine, theirs = _residents(api)
    token = api.directory.create_token("family", mine, [a])[0]
    with api.client("coord_a") as coord:  # a complaint about the other resident, resolved
        made = coord.post("/api/v1/tickets", json={
            "site": a, "resident": theirs, "kind": "complaint", "summary": "Lost glasses.",
            "take": True, "tier": "general",
        })  # fmt: skip
        assert made.status_code == 201, made.text
        other_id = made.json()["id"]
        done = coord.post(f"/api/v1/tickets/{other_id}/resolve", json={"note": "Found them."})
        assert done.status_code == 200, done.text
        # One about my resident raised by staff: the family sees that there is one, not
        # what it is about (no share_vitals_with_family).
        staff = coord.post("/api/v1/tickets", json={
            "site": a, "resident": mine, "kind": "request", "summary": "Needs new slippers.",
        })  # fmt: skip
        assert staff.status_code == 201, staff.text
    with _client(api, token) as fam:
        assert fam.get(f"/api/v1/tickets/{other_id}").status_code == 404
        rated = fam.post("/api/v1/ratings", json={"alert": other_id, "score": 1})
        assert rated.status_code == 404
        raised = fam.post("/api/v1/tickets", json={
            "site": a, "resident": theirs, "kind": "complaint", "summary": "Not mine.",
        })  # fmt: skip
        assert raised.status_code == 403 and "own resident" in raised.json()["detail"]
        own = fam.post("/api/v1/tickets", json={
            "site": a, "resident": mine, "kind": "complaint", "summary": "Cold soup again.",
        })  # fmt: skip
        assert own.status_code == 201, own.text
        listed = fam.get("/api/v1/tickets").json()["items"]
        assert {t["resident"] for t in listed} == {mine}
        by_id = {t["id"]: t for t in listed}
        assert by_id[own.json()["id"]]["summary"] == "Cold soup again."
        hidden = by_id[staff.json()["id"]]
        assert (hidden["kind"], hidden["summary"], hidden["note"]) == (None, None, None)
        # A site outside the token's scope is not found, whatever the resident.
        assert fam.get(f"/api/v1/residents/{api.site_b}/r1/report").status_code == 404


def test_the_family_page_and_its_words_are_served(api: World) -> None:
    with api.client() as anyone:
        page = anyone.get("/family/")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert '<script src="/static/family.js"' in page.text
        assert anyone.get("/static/family.js").status_code == 200
        assert anyone.get("/family", follow_redirects=False).headers["location"] == "/family/"
        words = anyone.get("/api/v1/family/messages", params={"lang": "zh-Hant"}).json()
        assert words["locale"] == "zh-Hant"
        assert words["messages"]["family.kind_complaint"] == "申訴"
        assert not any(k.startswith("app.") for k in words["messages"])
        simplified = anyone.get(
            "/api/v1/family/messages", headers={"Accept-Language": "zh-CN,zh;q=0.9"}
        ).json()
        assert simplified["locale"] == "zh-Hans"
        # The page's data needs a family token: anonymous 401, a volunteer 403.
        assert anyone.get("/api/v1/family/me").status_code == 401
    with api.client("vol_a") as vol:
        assert vol.get("/api/v1/family/me").status_code == 403
