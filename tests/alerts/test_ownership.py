"""Ownership: exactly one owner under a race, explicit handover, others told it is taken,
the resident's device told help is coming; bad replies rejected with a reason and audited."""

from __future__ import annotations

import threading

from tests.alerts.conftest import T0, need
from tests.helpers.mqtt import MqttTestClient


def test_two_accepts_at_once_make_exactly_one_owner(start_service, apps, site, mosquitto):
    svc = start_service()
    apps.publish_need(need(site))
    paged = apps.wait(lambda x: x.type == "page", n=3)
    alert_id = paged[0].alert
    a, b = paged[0].volunteer, paged[1].volunteer
    # Two apps on their own connections, released together.
    from careloop.wire.alerts import AlertReply, encode_alert, reply_topic

    clients = [MqttTestClient(mosquitto.host, mosquitto.port).connect() for _ in (a, b)]
    gate = threading.Barrier(2)

    def accept(client: MqttTestClient, volunteer: str) -> None:
        body = AlertReply(nonce=f"race-{volunteer}", alert=alert_id, action="accept", ts=T0)
        gate.wait()
        client.publish(reply_topic(site, volunteer), encode_alert(body))

    threads = [
        threading.Thread(target=accept, args=(c, v)) for c, v in zip(clients, (a, b), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    accepted = apps.wait(lambda x: x.type == "accepted")
    rejected = apps.wait(lambda x: x.type == "rejected")
    assert len(accepted) == 1 and len(rejected) == 1
    winner, loser = accepted[0].volunteer, rejected[0].volunteer
    assert {winner, loser} == {a, b}
    assert rejected[0].reason == "already_owned"
    assert svc.alert(alert_id).owner == winner
    assert len(svc.audit(alert_id, "accept")) == 1
    # The third volunteer, who did not answer, is told it is taken.
    third = paged[2].volunteer
    taken = apps.wait(lambda x: x.type == "taken" and x.volunteer == third)
    assert taken[0].reason == "accepted_by_another"
    # The resident's device says help is on the way, in Chinese as they write it
    # (r1's language is "zh": Traditional script).
    apps.drain(0.3)
    assert [(c["action"], c["language"], c["alert"], c["text"]) for c in apps.commands] == [
        ("say", "zh-Hant", alert_id, "有人馬上來幫您。志工正在趕來。")
    ]


def test_handover_needs_the_new_volunteers_accept(start_service, apps, site):
    svc = start_service()
    apps.publish_need(need(site))
    paged = apps.wait(lambda x: x.type == "page", n=3)
    alert_id, owner = paged[0].alert, paged[0].volunteer
    apps.reply(owner, alert_id, "accept")
    apps.wait(lambda x: x.type == "accepted")
    apps.reply(owner, alert_id, "handover", to="v08")
    apps.wait(lambda x: x.type == "handover" and x.volunteer == "v08")
    assert svc.alert(alert_id).owner == owner  # still the owner until v08 accepts
    apps.reply("v08", alert_id, "accept")
    apps.wait(lambda x: x.type == "taken" and x.volunteer == owner and x.reason == "handover")
    now = svc.alert(alert_id)
    assert (now.owner, now.handover_to, now.state) == ("v08", None, "accepted")
    # Only the new owner may resolve.
    apps.reply(owner, alert_id, "resolve")
    assert apps.wait(lambda x: x.type == "rejected")[0].reason == "wrong_volunteer"
    apps.reply("v08", alert_id, "resolve")
    apps.wait(lambda x: x.type == "resolved" and x.volunteer == owner)
    assert svc.alert(alert_id).state == "resolved"
    actions = [e.action for e in svc.audit(alert_id)]
    assert actions.index("handover_requested") < actions.index("handover_accepted")


def test_handover_lapses_without_an_accept(start_service, apps, site):
    svc = start_service()
    apps.publish_need(need(site))
    alert_id, owner = (lambda p: (p.alert, p.volunteer))(apps.wait(lambda x: x.type == "page")[0])
    apps.reply(owner, alert_id, "accept")
    apps.wait(lambda x: x.type == "accepted")
    apps.reply(owner, alert_id, "handover", to="v07")
    apps.wait(lambda x: x.type == "handover")
    svc.advance(601)
    lapsed = apps.wait(lambda x: x.reason == "handover_lapsed")
    assert lapsed[0].volunteer == owner
    assert svc.alert(alert_id).handover_to is None


def test_bad_replies_are_rejected_with_a_reason(start_service, apps, site):
    svc = start_service()
    apps.publish_need(need(site))
    paged = apps.wait(lambda x: x.type == "page", n=3)
    alert_id = paged[0].alert
    paged_ids = {p.volunteer for p in paged}
    outsider = next(v for v in ("v01", "v02", "v03", "v04", "v05") if v not in paged_ids)

    apps.reply(paged[0].volunteer, "a-doesnotexist", "accept")
    apps.reply(outsider, alert_id, "accept")
    apps.reply(paged[0].volunteer, alert_id, "resolve")
    nonce = apps.reply(paged[1].volunteer, alert_id, "accept")
    apps.reply(paged[1].volunteer, alert_id, "accept", nonce=nonce)  # the same message again
    apps.reply(paged[1].volunteer, alert_id, "handover")  # no "to"
    got = apps.wait(lambda x: x.type == "rejected", n=4)
    apps.drain(0.5)
    # A nonce seen before is a copy (a redelivery, or one reply heard by every replica of an
    # active-active service): dropped, neither answered nor audited (docs/scale-alerts.md).
    assert [(x.volunteer, x.reason) for x in apps.seen if x.type == "rejected"] == [
        (paged[0].volunteer, "unknown_alert"),
        (outsider, "wrong_volunteer"),
        (paged[0].volunteer, "not_allowed"),
        (paged[1].volunteer, "bad_reply"),
    ]
    assert all(x.nonce != nonce for x in got)
    assert len(apps.wait(lambda x: x.type == "accepted" and x.alert == alert_id)) == 1
    assert svc.alert(alert_id).owner == paged[1].volunteer
    reasons = [e.reason for e in svc.reader.audit_log() if (e.reason or "").startswith("rejected")]
    assert reasons == [
        "rejected:unknown_alert",
        "rejected:wrong_volunteer",
        "rejected:not_allowed",
        "rejected:bad_reply",
    ]
    assert svc.service.metrics.value("careloop_alerts_replies_rejected_total", reason="replay") == 0
