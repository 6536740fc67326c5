"""The browser session cookie, the audit of personal-data reads, and tokens kept hashed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from people import hash_token
from tests.api.conftest import World


def test_session_cookie_is_httponly_strict_and_authenticates(api: World) -> None:
    with api.client(headers={"Origin": api.base}) as c:  # as the dashboard's own page
        assert c.get("/api/v1/residents").status_code == 401
        made = c.post("/api/v1/session", json={"token": api.tokens["coord_a"]})
        cookie = made.headers["set-cookie"]
        me = c.get("/api/v1/session").json()
        listed = c.get("/api/v1/residents")
        cleared = c.delete("/api/v1/session")
        c.cookies.clear()
        after = c.get("/api/v1/session").json()
        wrong = c.post("/api/v1/session", json={"token": "clt_wrong"})
    assert made.status_code == 200
    assert "careloop_token=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert me == {"role": "coordinator", "subject": "c01", "sites": [api.site_a]}
    assert listed.status_code == 200
    assert cleared.status_code == 204 and "careloop_token=" in cleared.headers["set-cookie"]
    assert after["role"] == "public"
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers


def test_every_personal_data_read_is_audited(api: World) -> None:
    a = api.site_a
    before = api.directory.audit(frozenset({a}), resident="r1")[1]
    refused_before = api.directory.audit(frozenset({a}), resident="r2")[1]
    with api.client("vol_a") as c:
        for path in ("", "/care-profile", "/vitals", "/events", "/needs"):
            assert c.get(f"/api/v1/residents/{a}/r1{path}").status_code == 200
        assert c.get(f"/api/v1/residents/{a}/r2").status_code == 404  # refused: no row
    rows, total = api.directory.audit(frozenset({a}), resident="r1")
    assert total == before + 5
    newest = rows[:5]
    assert {r.action for r in newest} == {
        "read_resident", "read_care_profile", "read_vitals", "read_events", "read_needs",
    }  # fmt: skip
    assert {(r.subject, r.role) for r in newest} == {("v1", "volunteer")}
    assert "/api/v1/residents/{site}/{resident}/vitals" in {r.route for r in newest}
    assert api.directory.audit(frozenset({a}), resident="r2")[1] == refused_before


def test_tokens_are_stored_hashed_and_never_logged(
    api: World, caplog: pytest.LogCaptureFixture
) -> None:
    raw, record = api.directory.create_token("volunteer", "v2", [api.site_a])
    with caplog.at_level(logging.DEBUG), api.client() as c:
        c.get("/api/v1/residents", headers={"Authorization": f"Bearer {raw}"})
        c.get("/api/v1/residents", headers={"Authorization": f"Bearer {raw}x"})
        c.post("/api/v1/session", json={"token": raw})
    db = Path(api.directory.path)
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert raw.encode() not in stored
    assert hash_token(raw).encode() in stored
    # The test's own client (httpx/httpcore) logs the headers it sends; look at the server's.
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in server)
    assert record.id in text  # the server did log the accepted token, by id
    assert "token refused" in text
    assert raw not in text
    assert "Ann Alder" not in text
