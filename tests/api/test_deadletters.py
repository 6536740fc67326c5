"""The dead-letter route reads through ingest's store, on either backend: admins see every
letter with a preview, coordinators only their sites' without the payload, filtered by
reason and paged; a store that cannot be read is a 503, not a crash."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import HTTPException

from app.api.routes.deadletters import get_deadletters
from careloop.settings import load_settings
from careloop.wire import Topic
from devservers import free_port
from ingest import DeadLetter, DeadLetterStore
from tests.api.conftest import World

#: Run on the SQLite and the PostgreSQL session server (tests/api/conftest.py).
BOTH_BACKENDS = True


@pytest.fixture
def letters(api: World) -> dict[str, str]:
    """Three letters at site A (two of a reason of this test's own), one at site B, one
    on no site's topic; returns the reason and topics."""
    reason = f"test_{uuid.uuid4().hex[:8]}"
    a = str(Topic(api.site_a, "dl-a", "vitals"))
    b = str(Topic(api.site_b, "dl-b", "vitals"))
    stray = f"nowhere/{reason}"
    with DeadLetterStore(api.settings.paths.deadletters, url=api.settings.store_url) as store:
        store.add(
            [
                DeadLetter.make(a, reason, "first", b'{"resident":"r1"}'),
                DeadLetter.make(b, reason, "other site", b"{"),
                DeadLetter.make(stray, reason, "no site", b"{"),
                DeadLetter.make(a, reason, "second", b"not json"),
                DeadLetter.make(a, f"{reason}-other", "third", b"{"),
            ]
        )
    return {"reason": reason, "a": a, "b": b, "stray": stray}


def _get(api: World, role: str, **params: object) -> dict:
    with api.client(role) as c:
        response = c.get("/api/v1/deadletters", params=params)
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


def test_admins_see_every_letter_of_a_reason_newest_first(
    api: World, letters: dict[str, str]
) -> None:
    page = _get(api, "admin", reason=letters["reason"])
    assert page["total"] == 4
    assert [i["detail"] for i in page["items"]] == ["second", "no site", "other site", "first"]
    previews = {i["detail"]: i["payload_preview"] for i in page["items"]}
    assert previews["first"] == '{"resident": "r1"}'
    assert previews["second"] == "(not JSON: 8 bytes withheld)"


def test_coordinators_see_their_sites_only_and_no_payload(
    api: World, letters: dict[str, str]
) -> None:
    mine = _get(api, "coord_a", reason=letters["reason"])
    assert [i["detail"] for i in mine["items"]] == ["second", "first"]
    assert mine["total"] == 2 and all(i["payload_preview"] is None for i in mine["items"])
    assert _get(api, "coord_b", reason=letters["reason"])["total"] == 1
    # another site's letters are not there for them (404, as on every scoped route)
    with api.client("coord_a") as c:
        assert c.get("/api/v1/deadletters", params={"site": api.site_b}).status_code == 404


def test_pages_of_one_site(api: World, letters: dict[str, str]) -> None:
    first = _get(api, "admin", site=api.site_a, per_page=2, page=1)
    second = _get(api, "admin", site=api.site_a, per_page=2, page=2)
    assert first["total"] == second["total"] >= 3
    assert [i["detail"] for i in first["items"]] == ["third", "second"]
    assert second["items"][0]["detail"] == "first"
    topics = [i["topic"] for i in first["items"] + second["items"]]
    assert all(t.startswith(f"careloop/v1/{api.site_a}/") for t in topics)
    assert letters["a"] in topics and letters["b"] not in topics


def _request(settings: object) -> Any:
    """What the route's dependency reads of a request: the app's state."""
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(settings=settings)))


def test_an_unreachable_dead_letter_database_is_a_503(tmp_path: Path) -> None:
    url = f"postgresql://careloop:pw-not-shown@127.0.0.1:{free_port()}/careloop"
    settings = load_settings(data_dir=str(tmp_path), database_url=url)
    with pytest.raises(HTTPException) as caught:
        get_deadletters(_request(settings))
    assert caught.value.status_code == 503 and "pw-not-shown" not in str(caught.value.detail)


def test_the_api_never_creates_the_dead_letter_file(tmp_path: Path) -> None:
    settings = load_settings(data_dir=str(tmp_path))
    assert get_deadletters(_request(settings)) is None  # no file yet: an empty list
    assert not settings.paths.deadletters.exists()
