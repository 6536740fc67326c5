"""The API against a hostile browser and a guessing client, on the real server.

Cookie-authenticated writes need this origin and JSON bodies (CSRF); every answer is
``no-store`` and ``nosniff``; Swagger UI and ReDoc (CDN scripts) are off; conflicts and
5xx answers reveal nothing they should not.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import httpx
import pytest

from app.api import create_app
from careloop.settings import load_settings
from devservers import InfluxDB, Mosquitto
from people import Directory, Resident, Site, Volunteer
from tests.api.conftest import ALLOWED_ORIGIN, World
from tests.helpers.api_server import serve_in_thread

EVIL = "http://evil.example"


def without_origin(c: httpx.Client, method: str, url: str, **kw: object) -> httpx.Response:
    """A request of ``c`` with no Origin header (some browsers and programs send none)."""
    request = c.build_request(method, url, **kw)  # type: ignore[arg-type]
    del request.headers["Origin"]
    return c.send(request)


def new_resident(api: World) -> str:
    rid = f"rc-{uuid.uuid4().hex[:6]}"
    api.directory.add_resident(Resident(api.site_a, rid, "Cora Csrf"))
    return rid


def test_a_cookie_write_from_another_site_is_refused(api: World) -> None:
    """The red-team request: a cross-site text/plain POST to erasure with the cookie."""
    rid = new_resident(api)
    url = f"/api/v1/residents/{api.site_a}/{rid}/erasure"
    with api.browser_client("coord_a") as c:
        forged = c.post(url, content=b"x", headers={"Origin": EVIL, "Content-Type": "text/plain"})
        no_origin = without_origin(c, "POST", url)
        foreign_referer = without_origin(c, "POST", url, headers={"Referer": f"{EVIL}/page"})
        opaque = c.post(url, headers={"Origin": "null"})
    for answer in (forged, no_origin, foreign_referer, opaque):
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert api.directory.resident(api.site_a, rid).display_name == "Cora Csrf"  # untouched


def test_a_cookie_write_needs_a_json_body_and_then_works(api: World) -> None:
    rid = new_resident(api)
    url = f"/api/v1/residents/{api.site_a}/{rid}"
    with api.browser_client("coord_a") as c:
        as_text = c.patch(
            url, content=b'{"display_name": "X"}', headers={"Content-Type": "text/plain"}
        )
        as_form = c.patch(url, data={"display_name": "X"})
        as_json = c.patch(url, json={"display_name": "Cora Renamed"})
        by_referer = without_origin(
            c, "PATCH", url, json={"language": "fr"}, headers={"Referer": f"{api.base}/board"}
        )
        from_allowed = c.patch(url, json={"language": "de"}, headers={"Origin": ALLOWED_ORIGIN})
        erased = c.post(f"{url}/erasure")  # no body at all: nothing to check but the origin
    assert as_text.status_code == 415 and as_form.status_code == 415
    assert as_json.status_code == 200, as_json.text
    assert by_referer.status_code == 200, by_referer.text
    assert from_allowed.status_code == 200, from_allowed.text
    assert erased.status_code == 201, erased.text


def test_bearer_callers_are_not_asked_for_an_origin(api: World) -> None:
    """Programs send a token; no other site can make a browser send one."""
    rid = new_resident(api)
    with api.client("coord_a") as c:
        r = c.post(
            f"/api/v1/residents/{api.site_a}/{rid}/erasure",
            content=b"ignored",
            headers={"Origin": EVIL, "Content-Type": "text/plain"},
        )
    assert r.status_code == 201, r.text


def test_no_site_can_sign_a_browser_in(api: World) -> None:
    """Login CSRF: another site posting a token to /api/v1/session gets no cookie set."""
    with api.client() as c:
        r = c.post("/api/v1/session", json={"token": api.tokens["vol_a"]}, headers={"Origin": EVIL})
        plain = c.post(
            "/api/v1/session",
            content=f'{{"token": "{api.tokens["vol_a"]}"}}'.encode(),
            headers={"Content-Type": "text/plain"},
        )
    assert r.status_code == 403 and "set-cookie" not in r.headers
    assert plain.status_code == 415 and "set-cookie" not in plain.headers


def test_every_answer_is_no_store_and_nosniff(api: World) -> None:
    with api.client("admin") as c:
        answers = [
            c.get("/api/v1/sites"),
            c.get(f"/api/v1/residents/{api.site_a}/nobody"),  # a problem
            c.get("/openapi.json"),
            c.get("/healthz"),
            c.post("/api/v1/sites", json={}),  # a validation error
        ]
    with api.client() as anonymous:
        answers.append(anonymous.get("/api/v1/residents"))  # 401
    assert [a.status_code for a in answers] == [200, 404, 200, 200, 422, 401]
    for a in answers:
        assert a.headers["cache-control"] == "no-store", a.request.url
        assert a.headers["x-content-type-options"] == "nosniff"
        assert a.headers["referrer-policy"] == "no-referrer"
    with api.client() as c:
        script = c.get("/static/common.js")
    assert script.headers["cache-control"] == "no-cache"  # revalidated, not personal data
    assert script.headers["x-content-type-options"] == "nosniff"


def test_no_cdn_docs_on_the_cookies_origin(api: World) -> None:
    with api.client() as c:
        assert c.get("/docs").status_code == 404
        assert c.get("/redoc").status_code == 404
        assert c.get("/docs/oauth2-redirect").status_code == 404
        spec = c.get("/openapi.json")
    assert spec.status_code == 200 and "/api/v1/residents" in spec.json()["paths"]


def test_a_conflict_reveals_nothing_about_another_sites_record(api: World) -> None:
    """w1 is a volunteer of site B only; a coordinator of A trying the id learns nothing."""
    body = {"name": "Someone", "sites": [api.site_a]}
    with api.client("coord_a") as c:
        other_site = c.post("/api/v1/volunteers", json={**body, "id": "w1"})
        own_site = c.post("/api/v1/volunteers", json={**body, "id": "v1"})
    assert other_site.status_code == own_site.status_code == 409
    assert other_site.json()["detail"] == own_site.json()["detail"] == "id not available"
    detail = other_site.json()["detail"]
    for leak in (api.site_b, "exists", "volunteer", "w1"):
        assert leak not in detail
    assert api.site_b not in other_site.text and "Volunteer w1" not in other_site.text


def test_a_device_id_of_another_site_is_just_not_available(api: World) -> None:
    device = f"d-{uuid.uuid4().hex[:6]}"
    with api.client("admin") as c:
        made = c.post("/api/v1/devices", json={"id": device, "site": api.site_b, "resident": "r1"})
        assert made.status_code == 201, made.text
    with api.client("coord_a") as c:
        clash = c.post("/api/v1/devices", json={"id": device, "site": api.site_a, "resident": "r1"})
    assert clash.status_code == 409
    assert clash.json()["detail"] == "id not available"
    assert api.site_b not in clash.text and "exists" not in clash.text


def test_a_volunteer_created_elsewhere_is_unchanged_by_the_refusal(api: World) -> None:
    before = api.directory.volunteer("w1")
    with api.client("coord_a") as c:
        c.post("/api/v1/volunteers", json={"id": "w1", "name": "Taken", "sites": [api.site_a]})
    assert (
        api.directory.volunteer("w1")
        == before
        == Volunteer("w1", "Volunteer w1", (api.site_b,), languages=("en",))
    )


def test_a_write_from_another_site_without_a_cookie_is_refused_too(api: World) -> None:
    """A foreign Origin is refused whatever the credentials, unless they are a bearer token."""
    with httpx.Client(base_url=api.base, trust_env=False, timeout=10) as c:
        r = c.delete("/api/v1/session", headers={"Origin": EVIL})
    assert r.status_code == 403


def test_an_erasure_failure_answers_503_without_internals(
    mosquitto: Mosquitto,
    private_influxdb: InfluxDB,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """InfluxDB stops under a running API: the 503 says so plainly; the log says where."""
    site = f"t{uuid.uuid4().hex[:8]}"
    private_influxdb.create_database("careloop")
    settings = load_settings(
        site=site,
        data_dir=str(tmp_path / "data"),
        mqtt={"host": mosquitto.host, "port": mosquitto.port},
        influx={"url": private_influxdb.url, "database": "careloop"},
    )
    directory = Directory(settings.paths.people)
    directory.add_site(Site(site, "Fir Lodge"))
    directory.add_resident(Resident(site, "r7", "Fern Failing"))
    token, _ = directory.create_token("coordinator", "c9", [site])
    server, thread, port = serve_in_thread(
        create_app(settings, alert_service=False, directory=directory)
    )
    try:
        private_influxdb.stop()
        with caplog.at_level(logging.INFO), httpx.Client(trust_env=False, timeout=30) as c:
            r = c.post(
                f"http://127.0.0.1:{port}/api/v1/residents/{site}/r7/erasure",
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        server.should_exit = True
        thread.join(20)
        directory.close()
    assert r.status_code == 503, r.text
    assert r.json()["detail"] == "erasure could not complete; run it again later"
    for internal in ("InfluxDB", "Error", "refused", "Errno", str(private_influxdb.port), "http"):
        assert internal not in r.json()["detail"]
    logged = [x for x in caplog.records if x.getMessage() == "erasure could not complete"]
    assert logged, "the failure was not logged"
    assert logged[0].__dict__["fields"]["step"] == "cannot list retention policies"
    assert "Fern" not in "\n".join(f"{x.getMessage()} {x.__dict__}" for x in caplog.records)


@pytest.mark.parametrize("path", ["/home", "/board", "/sla", "/tickets"])
def test_every_staff_page_has_the_one_header_with_its_own_link_current(
    api: World, path: str
) -> None:
    """The staff pages share one header file; each marks its own link, and only that one."""
    with api.browser_client("coord_a") as c:
        page = c.get(path)
    assert page.status_code == 200
    html = page.text
    assert "<!--#staff-header-->" not in html
    assert html.count('<header class="top">') == 1
    assert html.count('id="logout"') == 1
    assert html.count('aria-current="page"') == 1
    assert f'<a href="{path}" aria-current="page"' in html
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
