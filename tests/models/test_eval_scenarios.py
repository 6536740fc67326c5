"""``careloop eval scenarios``: the matching of needs to labels, and a small real run."""

from __future__ import annotations

from careloop.wire.needs import NeedMessage
from models.evaluation.scenarios import run, score
from simulators.episodes import Assignment
from simulators.home import DEFAULT_START_MS
from simulators.labels import Label

T0 = 1_767_600_000_000
MIN = 60_000


def _need(resident: str, ts: int, kind: str = "fall", tier: str = "emergency") -> NeedMessage:
    return NeedMessage(
        id=f"{resident}:{kind}:{ts}",
        site="s",
        resident=resident,
        kind=kind,  # type: ignore[arg-type]
        tier=tier,  # type: ignore[arg-type]
        ts=ts,
        onset=ts,
        score=1.0,
        summary="x",
    )


def test_score_counts_delay_acute_window_false_needs_and_cut_labels() -> None:
    labels = [
        Label("r1", "fall_no_movement", T0, T0 + 30 * MIN, "emergency"),  # found in 90 s
        Label("r2", "fall_no_movement", T0, T0 + 30 * MIN, "emergency"),  # found after 3 min
        Label("r3", "fever_onset", T0, T0 + 60 * MIN, "important"),  # never found
        Label("r4", "fever_onset", T0, T0 + 10_000 * MIN, "important"),  # runs past the end
    ]
    needs = [
        _need("r1", T0 + 90_000),
        _need("r2", T0 + 3 * MIN),
        _need("r1", T0 - 5 * MIN),  # before its label: neither a hit nor a false need
        _need("r9", T0 + 5 * MIN, "hypoxia"),  # a resident with no scenario: false
        _need("r9", T0 + 6 * MIN, "sos"),
        _need("r8", T0 + 7 * MIN, "device_silent", "general"),
    ]
    s = score(labels, needs, residents=10, days=2, span_end=T0 + 24 * 60 * MIN)
    assert s["labels"] == 3 and s["labels_cut_by_end_of_run"] == 1
    fall = s["scenarios"]["fall_no_movement"]
    assert fall["recall"] == 1.0 and fall["median_delay_s"] == 135.0
    assert s["acute_n"] == 2 and s["acute_recall_2min"] == 0.5
    assert s["scenarios"]["fever_onset"]["recall"] == 0.0
    assert s["missed"] == ["fever_onset:r3"]
    # residents r5..r10 have no label (r4's label was cut but r4 still had a scenario)
    assert s["clean_residents"] == 6
    assert s["false_needs"] == {"hypoxia": 1, "sos": 1, "device_silent": 1}
    assert s["false_needs_per_resident_day"] == round(3 / (6 * 2), 4)
    # per tier, every tier named (a zero says "none", not "not measured")
    assert s["false_needs_by_tier"] == {
        "emergency": 2, "important": 0, "general": 1, "emotional": 0
    }  # fmt: skip
    by_tier = s["false_needs_per_resident_day_by_tier"]
    assert by_tier["emergency"] == round(2 / 12, 4) and by_tier["important"] == 0.0
    assert s["recall"] == round(2 / 3, 3)  # r1 and r2 found, r3 missed


def test_a_small_simulated_home_finds_its_emergencies_in_time(tmp_path) -> None:
    day0 = DEFAULT_START_MS
    hour = 60 * MIN
    episodes = [
        Assignment("r001", "sos_call", start_ms=day0 + 10 * hour),
        Assignment("r002", "fall_no_movement", start_ms=day0 + 11 * hour),
        Assignment("r003", "hypoxia", start_ms=day0 + 15 * hour),
    ]
    result = run(
        residents=8, days=1, seed=3, progress=False, out_dir=tmp_path, assignments=episodes
    )
    s = result.summary
    assert s["readings"] == 8 * 8640
    assert (tmp_path / "labels.jsonl").read_text().count("\n") == 3
    assert s["labels"] == 3 and s["missed"] == []
    assert s["acute_n"] == 2 and s["acute_recall_2min"] == 1.0
    assert s["scenarios"]["fall_no_movement"]["median_delay_s"] <= 120
    assert s["scenarios"]["hypoxia"]["first_need"] == {"hypoxia": 1}
    assert s["false_needs"] == {}, s["false_needs"]
    assert 0 < s["state_bytes_per_resident"] < 4096
