"""Snapshot/restore: a restored engine continues exactly as the one that never stopped."""

from __future__ import annotations

import numpy as np
import pytest

from models.base import ModelError
from models.evaluation.scenarios import care_profile
from models.runtime import ScoringEngine, encode_readings
from simulators import Assignment, CareHome

SITE = "snap-home"
START = 1_767_600_000_000  # 2026-01-05 08:00 UTC
INTERVAL_S = 10.0
WARM_STEPS = 120  # 20 minutes of readings before the snapshot
NEXT_STEPS = 60  # 10 more minutes after it


def make_home() -> CareHome:
    probe = CareHome(8, seed=3, site=SITE, start_ms=START, scenarios="none")
    ids = [p.id for p in probe.profiles]
    # episodes that straddle the snapshot, so restored timers and open needs matter
    scenarios = [
        Assignment(ids[0], "fall_no_movement", start_ms=START + (WARM_STEPS - 3) * 10_000),
        Assignment(ids[1], "sos_call", start_ms=START + (WARM_STEPS - 30) * 10_000),
        Assignment(ids[2], "hypoxia", start_ms=START + 600_000),
    ]
    return CareHome(
        8, seed=3, site=SITE, start_ms=START, interval_s=INTERVAL_S, scenarios=scenarios
    )


def feed(engine: ScoringEngine, home: CareHome, start: int, stop: int) -> list[dict]:
    """Score steps ``[start, stop)`` as the service would; the needs as plain dicts."""
    out = []
    for _, emissions in home.iter_emissions(start, stop):
        vitals = [e for e in emissions if e.kind == "vitals"]
        slots = [engine.slot(SITE, e.resident) for e in vitals]
        needs = engine.score_vitals(encode_readings(slots, [e.reading for e in vitals]))
        for e in emissions:
            slot = engine.slot(SITE, e.resident)
            if e.kind == "event":
                needs += engine.score_event(slot, e.reading)
            elif e.kind == "utterance":
                needs += engine.score_utterance(slot, e.reading)
        out += [n.model_dump() for n in needs]
    return out


def test_restored_engine_scores_like_the_original(tmp_path):
    home = make_home()
    profiles = {(SITE, p.id): care_profile(p) for p in home.profiles}
    original = ScoringEngine(profiles=profiles)
    feed(original, home, 0, WARM_STEPS)
    path = tmp_path / "state.snapshot"
    assert original.snapshot(path) == path.stat().st_size > 0

    restored = ScoringEngine(profiles=profiles)
    restored.restore(path)
    assert restored.readings == original.readings > 0
    assert restored.now == original.now
    assert restored.directory.keys() == original.directory.keys()

    a = feed(original, home, WARM_STEPS, WARM_STEPS + NEXT_STEPS)
    b = feed(restored, home, WARM_STEPS, WARM_STEPS + NEXT_STEPS)
    assert a == b
    kinds = {n["kind"] for n in a}
    assert "fall" in kinds, kinds  # the fall straddling the snapshot was confirmed after it
    a_tick, b_tick = (
        original.tick(original.now + 3_600_000),
        restored.tick(restored.now + 3_600_000),
    )
    assert [n.model_dump() for n in a_tick] == [n.model_dump() for n in b_tick]

    rows = len(original.directory)
    sa, sb = original.table.state(rows), restored.table.state(rows)
    assert sa.keys() == sb.keys()
    for name in sa:
        assert np.array_equal(sa[name], sb[name], equal_nan=sa[name].dtype.kind == "f"), name


def test_corrupt_snapshot_raises_a_model_error(tmp_path):
    engine = ScoringEngine()
    feed(engine, make_home(), 0, 5)
    good = tmp_path / "good.snapshot"
    engine.snapshot(good)
    truncated = tmp_path / "truncated.snapshot"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.snapshot"
    garbage.write_bytes(b"this is not a snapshot")
    for path in (truncated, garbage, tmp_path / "missing.snapshot"):
        with pytest.raises(ModelError, match=f"unreadable snapshot {path}"):
            ScoringEngine().restore(path)
