"""Each scenario's effect is where its label says, and nowhere it should not be."""

from __future__ import annotations

from statistics import mean
from typing import Any

from simulators import SCENARIOS, Label
from simulators.phrases import (
    HELP_EN,
    HELP_ZH,
    LOW_MOOD_EN,
    LOW_MOOD_ZH,
    QUESTIONS_EN,
    QUESTIONS_ZH,
)
from tests.simulators.conftest import Run

MINUTE = 60_000


def label_of(run: Run, scenario: str) -> Label:
    return next(lb for lb in run.home.labels if lb.scenario == scenario)


def readings(run: Run, label: Label, kind: str, lo: int = 0, hi: int = 0) -> list[dict[str, Any]]:
    """Readings of ``kind`` for the label's resident in ``[start + lo, end - hi)``."""
    return [
        e.reading
        for e in run.by_resident[label.resident]
        if e.kind == kind and label.start + lo <= e.reading["ts"] < label.end - hi
    ]


def core(run: Run, scenario: str, field: str) -> list[float]:
    """``field`` values inside the label, leaving out the ramps at either end."""
    label = label_of(run, scenario)
    ramp = int(SCENARIOS[scenario].ramp_s * 1000)
    return [r[field] for r in readings(run, label, "vitals", ramp, ramp) if field in r]


def test_every_scenario_has_a_label_with_its_tier(run: Run) -> None:
    for name, scenario in SCENARIOS.items():
        label = label_of(run, name)
        assert label.severity == scenario.tier
        assert label.resident == run.resident_with(name)


def test_fever_raises_temperature_by_a_degree(run: Run) -> None:
    base = run.profile(label_of(run, "fever_onset").resident).temperature
    temps = core(run, "fever_onset", "temperature")
    assert len(temps) > 50
    assert min(temps) >= base + 1.0


def test_hypoxia_drops_spo2_below_92(run: Run) -> None:
    values = core(run, "hypoxia", "spo2")
    assert values and max(values) < 92


def test_tachycardia_and_bradycardia(run: Run) -> None:
    assert min(core(run, "tachycardia", "heart_rate")) > 115
    assert max(core(run, "bradycardia", "heart_rate")) < 50


def test_hypertensive_crisis(run: Run) -> None:
    assert min(core(run, "hypertensive_crisis", "systolic_bp")) >= 175
    assert mean(core(run, "hypertensive_crisis", "diastolic_bp")) >= 110


def excess(run: Run, label: Label, field: str, readings_: list[dict[str, Any]]) -> list[float]:
    """How far ``field`` is from what the same resident would have had without the scenario.

    The counterfactual run shares every random draw, so the difference is the scenario alone.
    """
    plain = {
        e.reading["ts"]: e.reading
        for e in run.counterfactual[label.resident]
        if e.kind == "vitals" and field in e.reading
    }
    return [r[field] - plain[r["ts"]][field] for r in readings_ if field in r]


def test_news2_rise_worsens_over_hours_and_ends_confused(run: Run) -> None:
    label = label_of(run, "news2_rise")
    vitals = readings(run, label, "vitals")
    span = label.end - label.start
    early = [r for r in vitals if r["ts"] < label.start + span // 6]
    late = [r for r in vitals if r["ts"] >= label.end - span // 6]
    for field, least in (
        ("respiration_rate", 6.0),
        ("heart_rate", 20.0),
        ("spo2", -4.0),
        ("temperature", 1.0),
        ("systolic_bp", -18.0),
    ):
        assert abs(mean(excess(run, label, field, early))) < abs(least) / 3, field
        late_excess = mean(excess(run, label, field, late))
        assert late_excess >= least if least > 0 else late_excess <= least, field
    confusion = [r["consciousness"] for r in vitals if "consciousness" in r]
    assert confusion[0] == "A" and confusion[-1] == "C"
    outside = [
        e.reading.get("consciousness")
        for e in run.emissions
        if e.kind == "vitals"
        and not (e.resident == label.resident and label.covers(e.reading["ts"]))
    ]
    assert "C" not in outside


def test_fall_event_then_lying_still(run: Run) -> None:
    label = label_of(run, "fall_no_movement")
    events = readings(run, label, "event")
    assert events[0]["type"] == "fall_detected" and events[0]["ts"] == label.start
    assert 0.5 < events[0]["confidence"] <= 1.0
    vitals = readings(run, label, "vitals")
    assert len(vitals) >= 15
    assert all(r["steps"] == 0 and not r["room_motion"] and not r["bed_occupied"] for r in vitals)
    assert {r["posture"] for r in vitals} == {"lying"}
    said = readings(run, label, "utterance")
    assert len(said) == 1 and said[0]["ts"] < label.start + 3 * MINUTE
    if "text" in said[0]:
        assert said[0]["text"] in HELP_ZH + HELP_EN


def test_sos_button_then_a_call_for_help(run: Run) -> None:
    label = label_of(run, "sos_call")
    events = readings(run, label, "event")
    assert events[0] == {"ts": label.start, "type": "sos_button", "detail": "pendant"}
    assert readings(run, label, "utterance")


def test_not_out_of_bed_stays_in_bed_past_wake_time(run: Run) -> None:
    label = label_of(run, "not_out_of_bed")
    vitals = readings(run, label, "vitals")
    assert all(r["bed_occupied"] and r["steps"] == 0 for r in vitals)
    wake_h = run.profile(label.resident).wake_h
    assert label.start % 86_400_000 == round((wake_h - 0.25) * 3_600_000)
    assert label.end - label.start >= 150 * MINUTE


def test_night_wandering_walks_and_opens_doors_at_night(run: Run) -> None:
    label = label_of(run, "night_wandering")
    hour = (label.start // 3_600_000) % 24
    assert 1 <= hour < 4
    vitals = readings(run, label, "vitals")
    assert all(
        r["posture"] == "walking" and not r["bed_occupied"] and r["steps"] > 0 for r in vitals
    )
    doors = [r for r in readings(run, label, "event") if r["detail"] == "exit_door"]
    assert len(doors) >= 2
    exits = [e for e in run.emissions if e.kind == "event" and e.reading["detail"] == "exit_door"]
    assert all(e.resident == label.resident and label.covers(e.reading["ts"]) for e in exits)


def test_slow_decline_raises_resting_hr_and_lowers_activity(run: Run) -> None:
    label = label_of(run, "slow_decline")
    last_day = [r for r in readings(run, label, "vitals") if r["ts"] >= label.end - 86_400_000]
    plain = [
        e.reading
        for e in run.counterfactual[label.resident]
        if e.kind == "vitals" and label.end - 86_400_000 <= e.reading["ts"] < label.end
    ]
    resting = [r for r in last_day if r["posture"] == "lying" and r["bed_occupied"]]
    assert mean(excess(run, label, "heart_rate", resting)) > 6

    def day_steps(rs: list[dict[str, Any]]) -> int:
        return sum(r["steps"] for r in rs if 8 <= (r["ts"] // 3_600_000) % 24 < 20)

    # Walking falls by day; restless nights add toilet trips, so compare the day time.
    assert day_steps(last_day) < 0.7 * day_steps(plain)
    assert sum(r["bed_occupied"] for r in last_day) < sum(r["bed_occupied"] for r in plain) - 45


def test_low_mood_phrases_only_inside_their_windows(run: Run) -> None:
    pools = {"low_mood_zh": set(LOW_MOOD_ZH), "low_mood_en": set(LOW_MOOD_EN)}
    for name, phrases in pools.items():
        label = label_of(run, name)
        inside = [r for r in readings(run, label, "utterance") if r.get("text") in phrases]
        assert len(inside) >= 2, name
        usual = run.profile(label.resident).speech_rate
        assert mean(r["speech_rate"] for r in readings(run, label, "utterance")) < 0.9 * usual
    everything = set(LOW_MOOD_ZH) | set(LOW_MOOD_EN)
    for e in run.emissions:
        if e.kind == "utterance" and e.reading.get("text") in everything:
            label = label_of(run, run.scenario_of[e.resident])
            said_by = label.scenario.startswith("low_mood") or label.scenario == "lonely_sentence"
            assert said_by and label.covers(e.reading["ts"])


def test_agitation_fast_speech_and_repeated_questions(run: Run) -> None:
    label = label_of(run, "agitation")
    usual = run.profile(label.resident).speech_rate
    said = readings(run, label, "utterance")
    assert len(said) >= 6
    assert all(r["speech_rate"] >= 1.3 * usual for r in said)
    assert said[0]["repeated_question"] is False
    assert all(r["repeated_question"] for r in said[1:])
    texts = {r.get("text") for r in said}
    assert len(texts) == 1 and (texts <= set(QUESTIONS_ZH + QUESTIONS_EN) or texts == {None})
    repeated = [
        e for e in run.emissions if e.kind == "utterance" and e.reading["repeated_question"]
    ]
    assert all(e.resident == label.resident and label.covers(e.reading["ts"]) for e in repeated)


def test_missed_checkup_while_others_are_checked(run: Run) -> None:
    label = label_of(run, "missed_checkup")
    assert not [r for r in readings(run, label, "event") if r["type"] == "checkup_done"]
    day = label.start // 86_400_000
    for rid in run.normal_residents:
        p = run.profile(rid)
        due = day * 86_400_000 + round(p.checkup_h * 3_600_000)
        checks = [
            e.reading
            for e in run.by_resident[rid]
            if e.kind == "event" and e.reading["type"] == "checkup_done"
        ]
        assert len(checks) == 3  # one a day
        assert any(due <= r["ts"] < due + 2 * 3_600_000 for r in checks)
        meds = [
            e
            for e in run.by_resident[rid]
            if e.kind == "event" and e.reading["type"] == "medication_taken"
        ]
        assert len(meds) == 6  # morning and evening


def test_nothing_changes_outside_the_labels(run: Run) -> None:
    """Against the scenario-free run: identical outside each label (plus a short recovery)."""
    tail = 20 * MINUTE
    for rid, plain in run.counterfactual.items():
        mine = [lb for lb in run.home.labels if lb.resident == rid]

        def outside(es: list[Any], mine: list[Label] = mine) -> list[Any]:
            return [
                e for e in es if not any(lb.start <= e.reading["ts"] < lb.end + tail for lb in mine)
            ]

        assert outside(run.by_resident[rid]) == outside(plain), rid
        if mine:
            assert run.by_resident[rid] != plain, rid


def test_normal_residents_stay_in_normal_ranges(run: Run) -> None:
    for rid in run.normal_residents:
        vitals = [e.reading for e in run.by_resident[rid] if e.kind == "vitals"]
        assert min(r["spo2"] for r in vitals) >= 88
        assert max(r["temperature"] for r in vitals if "temperature" in r) <= 37.7
        assert all(r["heart_rate"] < 150 for r in vitals)
