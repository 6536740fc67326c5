"""Tokens expire, and failed tokens are rate-limited per client address (real server).

Expiry is tested without waiting: a second connection to the same people database, on a
clock two days behind, makes a token that expired yesterday by the server's clock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.api import create_app
from app.api.security import TokenLimiter
from app.cli import main
from careloop.settings import load_settings
from devservers import InfluxDB, Mosquitto
from people import Directory, Site, hash_token
from tests.api.conftest import World
from tests.helpers.api_server import serve_in_thread

DAY_MS = 86_400_000


def made_days_ago(api: World, days: int, lifetime_days: int, role: str = "volunteer") -> str:
    """A token created ``days`` ago with a lifetime of ``lifetime_days``."""
    then = int(time.time() * 1000) - days * DAY_MS
    with Directory(api.directory.path, clock=lambda: then) as past:
        raw, _ = past.create_token(role, "v1", [api.site_a], lifetime_ms=lifetime_days * DAY_MS)
    return raw


def test_an_expired_token_is_refused_like_a_revoked_one(api: World) -> None:
    expired = made_days_ago(api, days=2, lifetime_days=1)
    live = made_days_ago(api, days=2, lifetime_days=3)
    revoked, record = api.directory.create_token("volunteer", "v1", [api.site_a])
    api.directory.revoke_token(record.id)
    answers = {}
    with api.client(source="127.0.0.4") as c:
        for name, token in (("expired", expired), ("live", live), ("revoked", revoked)):
            answers[name] = c.get(
                "/api/v1/volunteers/me", headers={"Authorization": f"Bearer {token}"}
            )
    assert answers["live"].status_code == 200
    assert answers["expired"].status_code == answers["revoked"].status_code == 401
    # the same answer: nothing tells an expired token from a revoked one
    assert answers["expired"].json() == answers["revoked"].json()
    assert answers["expired"].headers["www-authenticate"] == "Bearer"
    assert api.directory.token_for(expired) is None and api.directory.token_for(live)


def test_an_expired_session_cookie_is_refused_and_cleared(api: World) -> None:
    expired = made_days_ago(api, days=2, lifetime_days=1)
    with api.client(source="127.0.0.4", headers={"Origin": api.base}) as c:
        refused = c.post("/api/v1/session", json={"token": expired})
        c.cookies.set("careloop_token", expired)
        stale = c.get("/api/v1/residents")
    assert refused.status_code == 401 and "set-cookie" not in refused.headers
    assert stale.status_code == 401
    cleared = stale.headers["set-cookie"]
    assert cleared.startswith('careloop_token=""') and "Max-Age=0" in cleared


@pytest.fixture
def default_api(mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path) -> Iterator[World]:
    """A server of this test's own with the default ``api`` settings (the session's server
    lifts the limit, so that tests sharing 127.0.0.1 do not throttle each other)."""
    site = f"t{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        site=site,
        data_dir=str(tmp_path / "data"),
        mqtt={"host": mosquitto.host, "port": mosquitto.port},
        influx={"url": influxdb.url, "database": "careloop"},
    )
    directory = Directory(settings.paths.people)
    directory.add_site(Site(site, "Gate House"))
    admin, _ = directory.create_token("admin", "root", None)
    app = create_app(settings, alert_service=False, directory=directory)
    server, thread, port = serve_in_thread(app)
    try:
        yield World(
            f"http://127.0.0.1:{port}", site, site, {"admin": admin}, directory, settings,
            None, None, app, mosquitto, influxdb,  # type: ignore[arg-type]  # no alert service
        )  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(20)
        directory.close()


def test_failed_tokens_are_limited_per_address(
    default_api: World, caplog: pytest.LogCaptureFixture
) -> None:
    api = default_api
    limit = api.settings.api.max_failed_tokens
    assert limit == 10  # the documented default
    guesses = [f"clt_guess{n:03d}" for n in range(limit + 1)]
    with caplog.at_level(logging.DEBUG), api.client(source="127.0.0.2") as c:
        tried = [c.get("/api/v1/sites", headers={"Authorization": f"Bearer {g}"}) for g in guesses]
        good = c.get("/api/v1/sites", headers={"Authorization": f"Bearer {api.tokens['admin']}"})
        by_session = c.post(
            "/api/v1/session", json={"token": api.tokens["admin"]}, headers={"Origin": api.base}
        )
        anonymous = c.get("/healthz")
    with api.client("admin", source="127.0.0.3") as other:
        elsewhere = other.get("/api/v1/sites")
    assert [r.status_code for r in tried] == [401] * limit + [429]
    blocked = tried[-1]
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert blocked.headers["content-type"] == "application/problem+json"
    assert "too many" in blocked.json()["detail"]
    # while blocked, even a good token from that address waits: guessing gains nothing
    assert good.status_code == 429 and by_session.status_code == 429
    assert "set-cookie" not in by_session.headers
    assert anonymous.status_code == 200  # no token, nothing to limit
    assert elsewhere.status_code == 200  # another address is not affected
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in server)
    assert "too many failed attempts" in text
    assert not any(g in text for g in guesses)


def test_the_limit_slides_with_the_minute() -> None:
    now = [1000.0]
    limiter = TokenLimiter(3, 60.0, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a") == 0
        limiter.failed("a")
        now[0] += 10
    assert limiter.retry_after("a") == 30  # the first failure (t=1000) ages out at 1060
    assert limiter.retry_after("b") == 0
    now[0] = 1060.0
    assert limiter.retry_after("a") == 0  # one more try...
    limiter.failed("a")
    assert limiter.retry_after("a") == 10  # ...and blocked until the second ages out
    now[0] = 2000.0
    assert limiter.retry_after("a") == 0


def test_the_limiter_forgets_the_oldest_address_when_full() -> None:
    limiter = TokenLimiter(1, 60.0, clock=lambda: 0.0, max_clients=2)
    for client in ("a", "b", "c"):
        limiter.failed(client)
    assert [limiter.retry_after(c) for c in ("a", "b", "c")] == [0, 60, 60]


def test_token_cli_sets_an_expiry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--data-dir", str(tmp_path), "--site", "a"]
    assert main(["token", "create", "--role", "volunteer", "--subject", "v1", "--json", *args]) == 0
    default = json.loads(capsys.readouterr().out)
    assert main(["token", "create", "--role", "coordinator", "--subject", "c", "--days", "3",
                 "--json", *args]) == 0  # fmt: skip
    short = json.loads(capsys.readouterr().out)
    assert main(["token", "create", "--role", "admin", "--subject", "r", "--days", "0", *args]) == 2
    capsys.readouterr()
    assert main(["token", "list", "--json", *args]) == 0
    listed = {t["id"]: t for t in json.loads(capsys.readouterr().out)}
    assert listed[short["id"]]["expires"] == short["expires"]
    with Directory(tmp_path / "people.sqlite3") as d:
        records = {t.id: t for t in d.tokens()}
    lived = {k: (r.expires_at or 0) - r.created_at for k, r in records.items()}
    assert lived == {default["id"]: 180 * DAY_MS, short["id"]: 3 * DAY_MS}  # api.token_days_*


def test_a_device_token_from_the_api_expires(api: World) -> None:
    device = f"d-exp-{int(time.time() * 1000) % 10**8}"
    with api.client("admin") as c:
        made = c.post(
            "/api/v1/devices",
            json={"id": device, "site": api.site_a, "resident": "r1", "api_token": True},
        )
    assert made.status_code == 201, made.text
    record = api.directory.token_for(made.json()["api_token"])
    assert record is not None and record.expires_at is not None
    assert record.expires_at - record.created_at == api.settings.api.token_days_device * DAY_MS


def test_tokens_of_an_older_database_gain_the_column_and_never_expire(tmp_path: Path) -> None:
    """A people database made before tokens expired: opening it adds ``expires_at``."""
    path = tmp_path / "people.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE api_tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, "
            "role TEXT NOT NULL, subject TEXT NOT NULL, sites TEXT, created_at INTEGER NOT "
            "NULL, revoked_at INTEGER, note TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO api_tokens VALUES ('t1', ?, 'admin', 'root', NULL, 0, NULL, '')",
            (hash_token("clt_old"),),
        )
    db.close()
    with Directory(path) as d:
        record = d.token_for("clt_old")
    assert record is not None and record.id == "t1" and record.expires_at is None
