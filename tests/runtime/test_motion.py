"""Worn tags' motion windows through the real broker and the scorer: falls, getting up, bad
windows, a device speaking for someone else, and a scorer without its posture model."""

from __future__ import annotations

import json

from careloop.wire.needs import NeedMessage
from simulators.motion import motion_window
from tests.runtime.conftest import T0, Device, S, score_settings

WIN = 30 * S


def windows(tag: Device, *acts: str, at: int = T0) -> int:
    """Publish one motion message per window, back to back from ``at``; the time after."""
    for k, act in enumerate(acts):
        tag.send("motion", motion_window(act, at + k * WIN, seconds=29.5, seed=k))  # type: ignore[arg-type]
    return at + len(acts) * WIN


def fall_needs(needs: list[NeedMessage], resident: str) -> list[tuple[str, str, str]]:
    return [(n.kind, n.tier, n.state) for n in needs if n.resident == resident]


def test_a_fall_candidate_then_lying_raises_the_fall_then_up_again_a_check_in(
    mosquitto, tmp_path, site, publisher, needs, start_scorer
):
    registry = tmp_path / "people.sqlite3"
    scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
    scorer.wait_for(lambda s: s.connected.is_set())
    ann = Device(publisher, site, "r1", registry, device="tag-r1")
    ben = Device(publisher, site, "r2", registry, device="tag-r2")

    # ann falls and stays down; ben falls and gets up
    windows(ann, "sitting", "walking", "fall", "lying", "lying")
    windows(ben, "walking", "fall", "sitting", "walking")
    fall = needs.wait(lambda n: n.resident == "r1" and n.kind == "fall")
    check_in = needs.wait(lambda n: n.resident == "r2" and n.kind == "fall_check_in")
    assert (fall.tier, fall.state) == ("emergency", "open")
    assert fall.evidence[0].measure == "fall_candidate"
    assert fall.ts - fall.onset >= 60 * S  # lying for the confirmation time after the impact
    assert check_in.tier == "general" and "no longer lying" in check_in.summary
    needs.pump(0.5)
    assert fall_needs(needs.seen, "r1") == [("fall", "emergency", "open")]
    assert fall_needs(needs.seen, "r2") == [("fall_check_in", "general", "open")]
    m = scorer.service.metrics
    assert m.value("careloop_score_posture_model") == 1
    assert m.value("careloop_score_readings_scored_total", kind="motion") == 9


def test_a_bad_window_is_refused_with_its_reason_and_the_rest_still_scored(
    mosquitto, tmp_path, site, publisher, needs, start_scorer
):
    registry = tmp_path / "people.sqlite3"
    scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
    scorer.wait_for(lambda s: s.connected.is_set())
    ann = Device(publisher, site, "r1", registry, device="tag-r1")

    t = windows(ann, "sitting", "fall")
    # a window whose ts is not start + the last t_ms, and one with a 20 g axis
    bad = motion_window("lying", t)
    body = {"v": 1, "device": "tag-r1", "resident": "r1", "seq": 99, "ts": bad["ts"]}
    ann.raw("motion", json.dumps({**body, "readings": [{**bad, "ts": bad["ts"] + 1}]}).encode())
    loud = {**bad, "acc_mg": [[0, 20_000, 0], *bad["acc_mg"][1:]]}
    ann.raw("motion", json.dumps({**body, "readings": [loud]}).encode())
    windows(ann, "lying", "lying", at=t)
    fall = needs.wait(lambda n: n.resident == "r1" and n.kind == "fall")
    assert fall.state == "open"
    scorer.wait_for(lambda s: s.counts["rejected"] == 2)
    m = scorer.service.metrics
    assert m.value("careloop_score_rejected_total", reason="value_error:t_ms") == 1
    assert m.value("careloop_score_rejected_total", reason="less_than_equal:acc_mg") == 1
    assert m.value("careloop_score_readings_scored_total", kind="motion") == 4


def test_a_tag_cannot_report_another_residents_fall(
    mosquitto, tmp_path, site, publisher, needs, start_scorer
):
    registry = tmp_path / "people.sqlite3"
    scorer = start_scorer(score_settings(mosquitto, tmp_path, sites=site))
    scorer.wait_for(lambda s: s.connected.is_set())
    ann = Device(publisher, site, "r1", registry, device="tag-r1")
    Device(publisher, site, "r2", registry, device="tag-r2")

    # ann's tag, on its own topic, claims ben fell and lies still
    for k, act in enumerate(("sitting", "fall", "lying", "lying")):
        ann.send("motion", motion_window(act, T0 + k * WIN, seconds=29.5), resident="r2")  # type: ignore[arg-type]
    ann.send("event", {"ts": T0 + 5 * WIN, "type": "sos_button"})  # then for herself
    needs.wait(lambda n: n.resident == "r1" and n.kind == "sos")
    scorer.wait_for(lambda s: s.counts["rejected"] == 4)
    assert [n for n in needs.seen if n.resident == "r2"] == []
    engine = scorer.service.engine
    assert engine is not None
    assert engine.motion.devices == {}  # nothing was buffered in anyone's name
    m = scorer.service.metrics
    assert m.value("careloop_score_rejected_total", reason="spoofed") == 4


def test_without_its_posture_model_the_scorer_runs_on_rules_and_says_so(
    mosquitto, tmp_path, site, publisher, needs, start_scorer
):
    registry = tmp_path / "people.sqlite3"
    missing = tmp_path / "no-such-posture-model.npz"
    scorer = start_scorer(
        score_settings(mosquitto, tmp_path, sites=site, posture_model=str(missing))
    )
    scorer.wait_for(lambda s: s.connected.is_set())
    ann = Device(publisher, site, "r1", registry, device="tag-r1")
    windows(ann, "sitting", "fall", "lying", "lying")
    # no posture without the model, but the fall rule needs none: the fall is raised
    needs.wait(lambda n: n.resident == "r1" and n.kind == "fall" and n.state == "open")
    # the other rules run as ever: an SOS from another resident's terminal
    term = Device(publisher, site, "r2", registry)
    term.send("event", {"ts": T0 + 5 * WIN, "type": "sos_button"})
    needs.wait(lambda n: n.resident == "r2" and n.kind == "sos")
    scorer.wait_for(lambda s: s.counts["readings"] == 5)
    engine = scorer.service.engine
    assert engine is not None
    assert not engine.motion.enabled and engine.motion.unscored == 4
    assert engine.motion.scored == 0
    assert "no-such-posture-model.npz" in engine.motion.status
    assert {(n.resident, n.kind) for n in needs.seen} == {("r1", "fall"), ("r2", "sos")}
    m = scorer.service.metrics
    assert m.value("careloop_score_posture_model") == 0
    assert m.value("careloop_score_risk_model") == 1
