"""A device speaks only for its own resident: the scorer checks every message against the
device registry, as ingest does, before it can open, update or clear anyone's needs."""

from __future__ import annotations

import json
import time

from tests.runtime.conftest import T0, Device, S, score_settings


def test_a_device_cannot_open_or_clear_another_residents_needs(
    mosquitto, tmp_path, site, publisher, needs, start_scorer
):
    registry = tmp_path / "people.sqlite3"
    scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
    anna, ben = Device(publisher, site, "r1", registry), Device(publisher, site, "r2", registry)

    # ben falls and lies still: a real emergency
    ben.vitals(T0)
    ben.send("event", {"ts": T0 + 10 * S, "type": "fall_detected", "confidence": 0.9})
    for k in range(1, 16):
        ben.vitals(T0 + 10 * S + k * 5 * S, moving=False)
    fall = needs.wait(lambda n: n.resident == "r2" and n.kind == "fall")
    assert fall.state == "open"

    # anna's own terminal (provisioned, on its own topic) claims to be ben: up and walking,
    # and pressing ben's SOS button
    anna.vitals(T0 + 90 * S)
    for k in range(5):
        anna.send(
            "vitals",
            {"ts": T0 + 95 * S + k * S, "posture": "walking", "steps": 25, "activity": 3.0},
            resident="r2",
        )
    anna.send("event", {"ts": T0 + 101 * S, "type": "sos_button"}, resident="r2")
    # a message from anna for herself, after them: once its need is out, the spoofed ones
    # were scored (or refused) before it
    anna.send("event", {"ts": T0 + 102 * S, "type": "sos_button"})
    needs.wait(lambda n: n.resident == "r1" and n.kind == "sos")
    scorer.wait_for(lambda s: s.counts["rejected"] >= 6)

    about_ben = [(n.kind, n.state) for n in needs.seen if n.resident == "r2"]
    assert about_ben == [("fall", "open")], about_ben  # not cleared, no SOS in his name
    m = scorer.service.metrics
    assert m.value("careloop_score_rejected_total", reason="spoofed") == 6
    engine = scorer.service.engine
    assert engine is not None
    live = engine.directory.residents[engine.directory.get(site, "r2")]
    assert live.id == "r2"


def test_unknown_devices_and_invented_residents_create_no_state(
    mosquitto, tmp_path, site, publisher, needs, start_scorer
):
    registry = tmp_path / "people.sqlite3"
    scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
    anna = Device(publisher, site, "r1", registry)
    anna.vitals(T0)
    scorer.wait_for(lambda s: s.counts["readings"] == 1)
    engine = scorer.service.engine
    assert engine is not None
    assert len(engine.directory) == 1

    # 300 residents invented by a registered device, and 20 by a device nobody registered
    for k in range(300):
        anna.send("vitals", {"ts": T0 + S + k, "heart_rate": 70.0}, resident=f"ghost{k}")
    stranger = Device(publisher, site, "r9", None, device="term-unknown")
    for k in range(20):
        stranger.send("event", {"ts": T0 + 2 * S + k, "type": "sos_button"})
    anna.send("event", {"ts": T0 + 5 * S, "type": "sos_button"})
    needs.wait(lambda n: n.resident == "r1" and n.kind == "sos")
    scorer.wait_for(lambda s: s.counts["rejected"] == 320)

    assert len(engine.directory) == 1  # no ghost got a state row
    assert [n.resident for n in needs.seen] == ["r1"]
    m = scorer.service.metrics
    assert m.value("careloop_score_rejected_total", reason="spoofed") == 300
    assert m.value("careloop_score_rejected_total", reason="unknown_device") == 20


def test_readings_stamped_far_ahead_are_refused_even_in_a_message_stamped_now(
    mosquitto, tmp_path, site, publisher, start_scorer
):
    # the scorer runs on reading time: one sensor a day fast would make everyone else look
    # silent for a day, so its readings are refused whatever the envelope says
    scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
    anna = Device(publisher, site, "r1", tmp_path / "people.sqlite3")
    now = int(time.time() * 1000)
    ahead = now + 86_400_000
    envelope = {"v": 1, "device": anna.device, "resident": "r1", "seq": 1, "ts": now}
    sent_now_one_reading_ahead = {
        **envelope,
        "readings": [{"ts": now, "heart_rate": 72.0}, {"ts": ahead, "heart_rate": 72.0}],
    }
    all_ahead = {**envelope, "seq": 2, "ts": ahead, "readings": [{"ts": ahead, "steps": 3}]}
    within_the_skew = {**envelope, "seq": 3, "readings": [{"ts": now + 60_000, "steps": 3}]}
    for body in (sent_now_one_reading_ahead, all_ahead, within_the_skew):
        anna.raw("vitals", json.dumps(body).encode())
    scorer.wait_for(lambda s: s.counts["rejected"] + s.counts["readings"] >= 3)

    svc = scorer.service
    assert svc.metrics.value("careloop_score_rejected_total", reason="too_far_ahead:ts") == 2
    assert svc.counts["readings"] == 1
    assert svc.reading_now() < ahead  # the engine's clock did not jump a day
