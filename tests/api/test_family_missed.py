"""The family page's missed care-plan items through the real API and alert service
(docs/family.md): a miss the family was e-mailed about is listed for the resident's family
token, "I'll handle it" stands the care team down once, another resident's family sees
nothing of it, and a withdrawn consent empties the list."""

from __future__ import annotations

import time
import uuid
from typing import Any

from careloop.wire.needs import Evidence, NeedMessage, NeedTopic, encode_need
from people import CareProfile, Consent, Expectation, FamilyContact, Resident
from tests.api.conftest import World
from tests.helpers.mqtt import MqttTestClient


def _client(api: World, token: str) -> Any:
    return api.client(headers={"Authorization": f"Bearer {token}"})


def _missed(api: World, resident: str, opens: int) -> NeedMessage:
    """The scorer's miss of the 08:00 pills (what models/runtime/careplan.py publishes)."""
    ts = api.clock.now_ms()
    return NeedMessage(
        id=f"{resident}:missed_care_plan:{ts}", site=api.site_a, resident=resident,
        kind="missed_care_plan", tier="general", state="open", ts=ts, onset=opens, score=1.0,
        summary="Missed: morning pills", language="en",
        evidence=[Evidence(measure="medication_taken", value=False, rule="care plan", ts=opens)],
    )  # fmt: skip


def _alert(api: World, resident: str) -> Any:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [a for a in api.service.store.alerts() if a.resident == resident]
        if found and found[0].state != "open":
            return found[0]
        time.sleep(0.05)
    raise TimeoutError("no alert for the miss")


def test_the_family_sees_a_miss_and_may_handle_it(api: World) -> None:
    a, tag = api.site_a, uuid.uuid4().hex[:6]
    mine, theirs = f"miss-{tag}-1", f"miss-{tag}-2"
    pills = Expectation(name="morning pills", event="medication_taken", at="08:00")
    profile = CareProfile(expectations=(pills,), family=(FamilyContact(email="son@example.org"),))
    for rid, agreed in ((mine, True), (theirs, False)):
        api.directory.add_resident(Resident(a, rid, "Gil Gum", "en", profile))
        api.directory.set_consent(Consent(a, rid, notify_family=agreed, updated_by="test"))
    api.service.follow_people(force=True)
    opens = api.clock.now_ms() // 86_400_000 * 86_400_000 + 8 * 3_600_000  # 08:00 today
    client = MqttTestClient(api.broker.host, api.broker.port).connect()
    try:
        client.publish(str(NeedTopic(a, mine)), encode_need(_missed(api, mine, opens)))
    finally:
        client.close()
    alert = _alert(api, mine)
    token, record = api.directory.create_token("family", mine, [a])
    other = api.directory.create_token("family", theirs, [a])[0]
    with _client(api, token) as fam:
        got = fam.get("/api/v1/family/missed")
        assert got.status_code == 200, got.text
        assert got.json() == {
            "items": [{"id": alert.id, "item": "morning pills", "at": "08:00", "due_ms": opens,
                       "open": True, "handled": False}],
            "count": 1,
        }  # fmt: skip
        with _client(api, other) as theirs_fam:  # another resident's family: nothing of it
            assert theirs_fam.get("/api/v1/family/missed").json()["items"] == []
            assert theirs_fam.post(f"/api/v1/family/missed/{alert.id}/handle").status_code == 404
        done = fam.post(f"/api/v1/family/missed/{alert.id}/handle")
        assert done.status_code == 200, done.text
        assert (done.json()["open"], done.json()["handled"]) == (False, True)
        again = fam.post(f"/api/v1/family/missed/{alert.id}/handle")
        assert again.status_code == 409 and "not_allowed" in again.text
        closed = api.service.store.get(alert.id)
        assert (closed.state, closed.outcome) == ("cancelled", "family_handles")
        cancelled = [e for e in api.service.store.audit_log(alert.id) if e.action == "cancelled"]
        assert [(e.actor, e.reason) for e in cancelled] == [
            (f"family:{record.id}", "family_handles")
        ]
        # the resident withdraws the consent: the page lists nothing
        api.directory.set_consent(Consent(a, mine, notify_family=False, updated_by="test"))
        assert fam.get("/api/v1/family/missed").json() == {"items": [], "count": 0}
