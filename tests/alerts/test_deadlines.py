"""Each tier's deadlines on the real broker, with a controllable clock (no sleeps).

For every tier (and the two kind overrides of the care standard: agitation and emotional
support) the first page goes out at once to ``parallel`` volunteers, nothing escalates
before ``step``, the next volunteers are paged just after it, the respond deadline brings in
the coordinator and counts a breach, and after an accept the resolve deadline reminds the
owner and tells the coordinator.
"""

from __future__ import annotations

import pytest

from alerts import Policy
from tests.alerts.conftest import need

CASES = [
    # (tier, kind, respond_s, step_s, resolve_s, parallel) as the care standard wants them
    ("emergency", "fall", 600, 120, 3600, 3),
    ("important", "slow_decline", 12 * 3600, 3600, 7 * 86400, 2),
    ("general", "inactivity", 24 * 3600, 4 * 3600, 48 * 3600, 2),
    ("emotional", "low_mood", 300, 90, 2 * 3600, 2),
    ("emergency", "agitation", 30, 10, 3600, 3),
]


@pytest.mark.parametrize(("tier", "kind", "respond", "step", "resolve", "parallel"), CASES)
def test_default_policy_follows_the_care_standard(tier, kind, respond, step, resolve, parallel):
    rule = Policy.load().rule("any-site", tier, kind)
    assert (rule.respond_ms, rule.step_ms, rule.resolve_ms, rule.parallel) == (
        respond * 1000,
        step * 1000,
        resolve * 1000,
        parallel,
    )
    assert rule.respond_ms <= 3600 * 1000 or tier != "emergency"


@pytest.mark.parametrize(("tier", "kind", "respond", "step", "resolve", "parallel"), CASES)
def test_tier_deadlines(start_service, apps, site, tier, kind, respond, step, resolve, parallel):
    svc = start_service()
    apps.publish_need(need(site, kind=kind, tier=tier))
    first = apps.wait(lambda x: x.type == "page", n=parallel)
    alert_id = first[0].alert
    assert {x.tier for x in first} == {tier}
    assert svc.alert(alert_id).state == "notified"

    svc.advance(step - 1)  # just before the step deadline: nobody new
    assert svc.audit(alert_id, "escalate") == []
    assert len(apps.pages(alert_id)) == parallel

    svc.advance(2)  # just after it: the next volunteers
    apps.wait(lambda x: x.type == "page", n=2 * parallel)
    assert svc.alert(alert_id).state == "escalated"
    assert [e.reason for e in svc.audit(alert_id, "escalate")] == ["no_answer"]

    svc.clock.set(svc.alert(alert_id).opened_ms + respond * 1000 + 1)  # respond deadline
    svc.settle()
    apps.wait(lambda x: x.type == "page" and x.volunteer == "c01")
    current = svc.alert(alert_id)
    assert current.respond_breached
    assert [e.reason for e in svc.audit(alert_id, "breach")] == ["respond_deadline"]
    assert (
        svc.service.metrics.value(
            "careloop_alerts_breaches_total", site=site, tier=tier, deadline="respond"
        )
        == 1
    )

    apps.reply("c01", alert_id, "accept")
    apps.wait(lambda x: x.type == "accepted" and x.volunteer == "c01")
    accepted = svc.alert(alert_id)
    assert accepted.owner == "c01"
    assert accepted.resolve_due_ms == accepted.accepted_ms + resolve * 1000

    svc.advance(resolve - 1)
    assert "resolve_deadline" not in [e.reason for e in svc.audit(alert_id, "escalate")]
    svc.advance(2)
    apps.wait(lambda x: x.type == "overdue" and x.volunteer == "c01")
    assert svc.alert(alert_id).resolve_breached
    assert svc.audit(alert_id, "escalate")[-1].reason == "resolve_deadline"

    apps.reply("c01", alert_id, "resolve")
    apps.wait(lambda x: x.type == "resolved" and x.volunteer != "c01", n=1)
    done = svc.alert(alert_id)
    assert done.state == "resolved"
    assert (
        svc.service.metrics.value(
            "careloop_alerts_time_to_resolve_seconds_count", site=site, tier=tier
        )
        == 1
    )
