"""Dedup and grouping: one open alert per resident and need kind; new evidence merges into
it (and can raise its tier) instead of paging again; a cleared need cancels the alert."""

from __future__ import annotations

from tests.alerts.conftest import T0, need


def test_new_evidence_merges_and_raises_the_tier(start_service, apps, site):
    svc = start_service()
    apps.publish_need(need(site, kind="inactivity", tier="general", ts=T0))
    first = apps.wait(lambda x: x.type == "page", n=2)
    alert_id = first[0].alert
    apps.publish_need(need(site, kind="inactivity", tier="general", ts=T0 + 60_000))
    apps.publish_need(need(site, kind="inactivity", tier="important", ts=T0 + 120_000))
    updates = apps.wait(lambda x: x.type == "update", n=2)
    assert {u.volunteer for u in updates} == {p.volunteer for p in first}
    assert {u.tier for u in updates} == {"important"}
    merged = svc.only_alert()
    assert (merged.id, merged.tier, merged.evidence) == (alert_id, "important", 3)
    # The respond deadline moved up to the important tier's 12 h (from general's 24 h).
    assert merged.respond_due_ms == merged.opened_ms + 12 * 3600 * 1000
    assert len(apps.pages(alert_id)) == 2  # no new page for the same need
    assert [e.action for e in svc.audit(alert_id)].count("merge") == 1
    assert len(svc.audit(alert_id, "tier_raised")) == 1


def test_a_redelivered_need_is_handled_once(start_service, apps, site):
    svc = start_service()
    message = need(site, kind="inactivity", tier="general")
    apps.publish_need(message)
    apps.publish_need(message)
    apps.wait(lambda x: x.type == "page", n=2)
    apps.drain(0.3)
    alert = svc.only_alert()
    assert alert.evidence == 1


def test_other_kinds_and_residents_get_their_own_alerts(start_service, apps, site):
    svc = start_service()
    apps.publish_need(need(site, kind="inactivity", tier="general"))
    apps.publish_need(need(site, kind="fever", tier="general"))
    apps.publish_need(need(site, resident="r2", kind="inactivity", tier="general"))
    apps.wait(lambda x: x.type == "page", n=6)
    assert len(svc.reader.alerts(open_only=True)) == 3


def test_cleared_need_cancels_and_a_new_one_opens_a_new_alert(start_service, apps, site):
    svc = start_service()
    apps.publish_need(need(site, kind="fall", tier="emergency", need_id="n1"))
    first = apps.wait(lambda x: x.type == "page", n=3)
    apps.publish_need(need(site, kind="fall", state="cleared", need_id="n1", ts=T0 + 1))
    apps.wait(lambda x: x.type == "cancelled", n=3)
    assert svc.alert(first[0].alert).state == "cancelled"
    apps.publish_need(need(site, kind="fall", need_id="n2", ts=T0 + 2))
    second = apps.wait(lambda x: x.type == "page" and x.alert != first[0].alert, n=3)
    assert second[0].alert != first[0].alert
