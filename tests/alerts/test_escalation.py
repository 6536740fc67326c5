"""Escalation chains: volunteers in parallel, the next ones, the coordinator, the webhook;
declines move the alert on; nobody left means the chain is exhausted, not a silent stop."""

from __future__ import annotations

from tests.alerts.conftest import make_roster, need, policy_with_webhook


def test_full_chain_then_expiry(start_service, apps, site):
    svc = start_service()
    apps.publish_need(need(site, kind="help_request", tier="general"))
    step0 = apps.wait(lambda x: x.type == "page", n=2)
    alert_id = step0[0].alert
    svc.advance(4 * 3600 + 1)
    apps.wait(lambda x: x.type == "page", n=4)
    svc.advance(4 * 3600 + 1)
    coordinator = apps.wait(lambda x: x.type == "page" and x.volunteer == "c01")
    assert len(coordinator) == 1
    svc.advance(4 * 3600 + 1)
    assert svc.audit(alert_id, "chain_exhausted")
    svc.clock.set(svc.alert(alert_id).opened_ms + 7 * 86400 * 1000 + 1)
    svc.settle()
    apps.wait(lambda x: x.type == "cancelled" and x.reason == "nobody_accepted", n=5)
    gone = svc.alert(alert_id)
    assert (gone.state, gone.outcome) == ("expired", "nobody_accepted")
    paged = apps.pages(alert_id)
    assert len(paged) == 5 and all(len(ids) == 1 for ids in paged.values())


def test_decline_pages_a_replacement_and_is_audited(start_service, apps, site):
    svc = start_service()
    apps.publish_need(need(site, kind="help_request", tier="general"))
    first = apps.wait(lambda x: x.type == "page", n=2)
    alert_id = first[0].alert
    decliner = first[0].volunteer
    apps.reply(decliner, alert_id, "decline")
    apps.wait(lambda x: x.type == "page", n=3)  # a replacement, at once
    declines = svc.audit(alert_id, "decline")
    assert [(e.actor, e.channel) for e in declines] == [(decliner, "mqtt")]
    # The one who declined is not paged again later in the chain.
    svc.advance(4 * 3600 + 1)
    apps.wait(lambda x: x.type == "page", n=5)
    assert len(apps.pages(alert_id)[decliner]) == 1


def test_all_declined_moves_to_next_step_when_nobody_is_left(start_service, apps, site):
    svc = start_service(roster=make_roster(site, volunteers=2))
    apps.publish_need(need(site, kind="help_request", tier="general"))
    first = apps.wait(lambda x: x.type == "page", n=2)
    alert_id = first[0].alert
    for note in first:
        apps.reply(note.volunteer, alert_id, "decline")
    apps.wait(lambda x: x.type == "page" and x.volunteer == "c01")
    assert [e.reason for e in svc.audit(alert_id, "escalate")] == ["all_declined"]


def test_rotation_and_override_decide_who_is_on_call(start_service, apps, site):
    roster = make_roster(
        site,
        volunteers=4,
        rotations=[
            {
                "site": site,
                "name": "day",
                "members": ["v01", "v02"],
                "start": "2026-01-05T09:00",  # local, Berlin: 08:00Z = T0
                "shift": "12h",
                "timezone": "Europe/Berlin",
            }
        ],
        overrides=[
            {"rotation": "day", "volunteer": "v04", "start": "2026-01-05T21:00",
             "end": "2026-01-06T09:00"},
        ],
    )  # fmt: skip
    svc = start_service(roster=roster)
    apps.publish_need(need(site, kind="help_request", tier="general"))
    first = apps.wait(lambda x: x.type == "page")
    assert [x.volunteer for x in first] == ["v01"]  # one on call: only v01
    apps.reply("v01", first[0].alert, "accept")
    apps.wait(lambda x: x.type == "accepted")
    svc.advance(13 * 3600)  # 22:00 Berlin: the override, not v02
    apps.publish_need(need(site, resident="r2", kind="help_request", tier="general"))
    second = apps.wait(lambda x: x.type == "page", n=2)
    assert second[-1].volunteer == "v04"


def test_load_balancing_spreads_pages(start_service, apps, site):
    svc = start_service(roster=make_roster(site, volunteers=6))
    alerts = []
    for i in range(3):
        apps.publish_need(
            need(site, resident=f"x{i}", kind="help_request", tier="general", language="en")
        )
        alerts.append(apps.wait(lambda x: x.type == "page", n=2 * (i + 1))[-1].alert)
    paged = apps.pages()
    assert sorted(len(ids) for ids in paged.values()) == [1] * 6  # six pages, six people
    assert svc.reader.open_counts() == {(site, "general"): 3}


def test_webhook_step_and_coordinator_with_the_policy_file(start_service, apps, site, tmp_path):
    policy = policy_with_webhook(tmp_path, site, "http://127.0.0.1:9/hook")
    svc = start_service(policy=policy)
    apps.publish_need(need(site, kind="agitation", tier="emergency"))
    alert_id = apps.wait(lambda x: x.type == "page", n=3)[0].alert
    svc.advance(31)  # agitation: respond within 30 s -> breach, coordinator and webhook now
    apps.wait(lambda x: x.volunteer == "c01")
    webhook = [d for d in svc.reader.deliveries(alert_id) if d["channel"] == "webhook"]
    assert len(webhook) == 1 and webhook[0]["target"] == "http://127.0.0.1:9/hook"


def test_a_volunteer_of_several_sites_is_paged_at_each(start_service, apps, site):
    """Volunteers whose home is another site but who also serve this one are paged here."""
    roster = make_roster("elsewhere", volunteers=3)
    for v in roster["volunteers"]:
        v["also"] = [site]
    roster["residents"] = [{"id": "r1", "site": site, "device": "term-r1", "language": "zh"}]
    svc = start_service(roster=roster)
    apps.publish_need(need(site, kind="help_request", tier="general"))
    pages = apps.wait(lambda x: x.type == "page", n=2)
    assert {p.site for p in pages} == {site}
    alert_id = pages[0].alert
    apps.reply(pages[0].volunteer, alert_id, "accept")
    apps.wait(lambda x: x.type == "accepted")
    assert svc.alert(alert_id).owner == pages[0].volunteer
