"""Alert actions through the real AlertService on the real broker, and the live event stream
filtered to the caller's sites."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from alerts import AlertStore
from tests.api.conftest import World

#: Run on the SQLite and the PostgreSQL session server (tests/api/conftest.py).
BOTH_BACKENDS = True
VOLUNTEER_ROLE = {"v1": "vol_a", "v2": "vol_a2"}


class Stream:
    """Reads ``/api/v1/alerts/events`` in a thread until ``until(event)`` or a timeout."""

    def __init__(self, api: World, role: str, until: Any, timeout: float = 15.0) -> None:
        self.events: list[dict[str, Any]] = []
        self.opened = threading.Event()
        self._client = api.client(role, timeout=httpx.Timeout(5.0, read=timeout))
        self._until = until
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "stream did not open"

    def _run(self) -> None:
        try:
            with self._client.stream("GET", "/api/v1/alerts/events") as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    self.opened.set()
                    if line.startswith("data: "):
                        event = json.loads(line[6:])
                        self.events.append(event)
                        if self._until(event):
                            return
        except httpx.ReadTimeout:
            return
        finally:
            self.opened.set()
            self._client.close()

    def join(self) -> list[dict[str, Any]]:
        self.thread.join(20)
        return self.events


@pytest.fixture
def reader(api: World) -> Any:
    store = AlertStore(api.service.db_path, url=api.settings.store_url)
    yield store
    store.close()


def test_volunteer_accepts_coordinator_resolves_and_streams_stay_in_their_sites(
    api: World, reader: AlertStore
) -> None:
    a, b = api.site_a, api.site_b
    stream_a = Stream(api, "coord_a", lambda e: e["action"] == "resolved")
    stream_b = Stream(api, "coord_b", lambda e: e["site"] == b)

    api.publish_need(a, "r1", kind="fall")
    alert = api.wait_alert(a, "r1", "fall")
    paged = [v for v in reader.pages(alert["id"]) if v in VOLUNTEER_ROLE]
    assert paged, reader.pages(alert["id"])
    volunteer = paged[0]
    other = next(v for v in VOLUNTEER_ROLE if v != volunteer)
    url = f"/api/v1/alerts/{alert['id']}"

    with api.client("coord_b") as c:
        assert c.get(url).status_code == 404
        assert c.post(f"{url}/accept", json={"volunteer": "w1"}).status_code == 404
    with api.client("vol_b") as c:
        assert c.post(f"{url}/accept").status_code == 404
    with api.client(VOLUNTEER_ROLE[other]) as c:
        for_someone = c.post(f"{url}/accept", json={"volunteer": volunteer})
    assert for_someone.status_code == 403

    with api.client(VOLUNTEER_ROLE[volunteer]) as c:
        accepted = c.post(f"{url}/accept")
        again = c.post(f"{url}/accept")
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["state"], accepted.json()["owner"]) == ("accepted", volunteer)
    assert again.status_code == 409 and again.json()["reason"] == "not_allowed"

    with api.client("coord_a") as c:
        nobody = c.post(f"{url}/resolve")  # c01 is a coordinator, not paged, not the owner
        resolved = c.post(f"{url}/resolve", json={"volunteer": volunteer})
        shown = c.get(url).json()
    assert nobody.status_code == 403 and nobody.json()["reason"] == "wrong_volunteer"
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    assert shown["state"] == "resolved" and shown["summary"] == "fall needs help (test)"

    api.publish_need(b, "r1", kind="fall")  # ends stream B once its own event arrives
    seen_a = stream_a.join()
    seen_b = stream_b.join()
    mine = [e for e in seen_a if e["alert"] == alert["id"]]
    assert {"accept", "resolved"} <= {e["action"] for e in mine}
    assert all(e["site"] == a for e in seen_a)
    assert seen_b and all(e["site"] == b for e in seen_b)
    assert all(e["alert"] != alert["id"] for e in seen_b)
    assert all("resident" not in e and "summary" not in e for e in seen_a + seen_b)


def test_alert_lists_filter_and_hide_summaries_without_consent(
    api: World, reader: AlertStore
) -> None:
    a = api.site_a
    api.publish_need(a, "r2", kind="sos")
    alert = api.wait_alert(a, "r2", "sos")
    with api.client("vol_a") as c:
        as_volunteer = c.get("/api/v1/alerts", params={"site": a, "resident": "r2"}).json()
        needs = c.get(f"/api/v1/residents/{a}/r2/needs")
    with api.client("coord_a") as c:
        as_coordinator = c.get(f"/api/v1/alerts/{alert['id']}").json()
        needs_staff = c.get(f"/api/v1/residents/{a}/r2/needs").json()
        by_state = c.get("/api/v1/alerts", params={"site": a, "state": "resolved"}).json()
    with api.client("coord_b") as c:
        totals_b = c.get("/api/v1/alerts", params={"per_page": 500}).json()
    # r2 shares nothing: a volunteer cannot find the alert by resident, and sees it without
    # who or what (the tier and deadlines only)
    assert as_volunteer["total"] == 0 and not as_volunteer["items"]
    with api.client("vol_a") as c:
        listed = c.get("/api/v1/alerts", params={"site": a}).json()["items"]
        by_kind = c.get("/api/v1/alerts", params={"site": a, "kind": "sos"}).json()
        one = c.get(f"/api/v1/alerts/{alert['id']}").json()
    item = next(i for i in listed if i["id"] == alert["id"])
    assert item["resident"] is None and item["kind"] is None and item["summary"] is None
    assert item["tier"] == alert["tier"] and one == item
    assert all(i["id"] != alert["id"] for i in by_kind["items"])
    assert needs.status_code == 404
    assert as_coordinator["summary"] == "sos needs help (test)"
    assert needs_staff["items"][0]["explanation"] == "sos needs help (test)"
    assert all(i["state"] == "resolved" for i in by_state["items"])
    assert all(i["site"] == api.site_b for i in totals_b["items"])
    assert totals_b["total"] == len(totals_b["items"])


def test_sla_and_public_board_count_alerts_without_ids(api: World) -> None:
    a = api.site_a
    api.publish_need(a, "r3", kind="help_request", tier="important")
    api.wait_alert(a, "r3", "help_request")
    with api.client("coord_a") as c:
        sla = c.get("/api/v1/sla", params={"since_ms": 0}).json()
    now = int(time.time() * 1000)
    with api.client() as c:  # the time window cannot be chosen: no bisecting an opening time
        board = c.get("/api/v1/public/closed-loop").json()
        early = c.get("/api/v1/public/closed-loop", params={"since_ms": now - 1}).json()
        late = c.get("/api/v1/public/closed-loop", params={"since_ms": now + 1}).json()
    groups = {(g["site"], g["tier"]) for g in sla["groups"]}
    assert (a, "important") in groups and all(site == a for site, _ in groups)
    assert board == early == late and board["k"] == 5
    assert board["until_ms"] <= now and board["until_ms"] % 86_400_000 == 0  # not today
    assert all(g["needs"] is None or g["needs"] == 0 or g["needs"] >= 5 for g in board["groups"])
    text = json.dumps(board)
    assert '"r3"' not in text and "resident" not in text and "help (test)" not in text
    assert "help_request" not in text  # no kinds
