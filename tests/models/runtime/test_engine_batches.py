"""Batching never changes what the engine concludes.

A seeded simulated run scored as whole batches (one per second, or several seconds shuffled
together, which :func:`models.runtime.engine._rounds` splits into rounds) must raise the same
needs, per resident in the same order, and end in the same state as the reference: every
reading scored alone, in time order, through ``score_vitals`` with a single-row batch.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest

from careloop.wire.needs import NeedMessage
from models.evaluation.scenarios import care_profile
from models.runtime import FIELDS, EngineConfig, ScoringEngine, VitalsBatch
from models.runtime.engine import _rounds
from simulators import CareHome
from simulators.episodes import Assignment
from simulators.home import DEFAULT_START_MS

RESIDENTS = 8
START_S = 8 * 3600  # 08:00 on day 0
STEPS = 720
TICK_EVERY = 10
_COL = {name: i for i, name in enumerate(FIELDS)}


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    probe = CareHome(RESIDENTS, seed=11, interval_s=1.0, scenarios="none")
    ids = [p.id for p in probe.profiles]
    at = DEFAULT_START_MS + START_S * 1000
    # vital episodes already under way when the window opens, acute ones inside it
    scenarios = [
        Assignment(ids[0], "hypoxia", start_ms=at - 600_000),
        Assignment(ids[1], "news2_rise", start_ms=at - 900_000),
        Assignment(ids[2], "fall_no_movement", start_ms=at + 60_000),
        Assignment(ids[3], "sos_call", start_ms=at + 90_000),
        Assignment(ids[4], "tachycardia", start_ms=at - 300_000),
        Assignment(ids[5], "hypertensive_crisis", start_ms=at - 900_000),
    ]
    home = CareHome(RESIDENTS, seed=11, interval_s=1.0, scenarios=scenarios)
    arrays = home.arrays(START_S, START_S + STEPS)
    x = np.full((STEPS, RESIDENTS, len(FIELDS)), np.nan, dtype=np.float32)
    for name, values in arrays.fields.items():
        x[:, :, _COL[name]] = values
    extras: dict[int, list[tuple[str, int, dict[str, Any]]]] = defaultdict(list)
    for k, r, reading in arrays.events:
        extras[k].append(("event", r, reading))
    for k, r, reading in arrays.utterances:
        extras[k].append(("utterance", r, reading))
    return {"home": home, "ts": arrays.ts, "x": x, "extras": extras}


def _engine(run: dict[str, Any]) -> tuple[ScoringEngine, np.ndarray]:
    home = run["home"]
    engine = ScoringEngine(
        EngineConfig(auto_tick=False),
        profiles={(home.site, p.id): care_profile(p) for p in home.profiles},
    )
    slots = np.array([engine.slot(home.site, p.id) for p in home.profiles], dtype=np.int64)
    return engine, slots


def _extras(engine: ScoringEngine, slots: np.ndarray, hits: list) -> list[NeedMessage]:
    out: list[NeedMessage] = []
    for kind, r, reading in sorted(hits, key=lambda h: h[2]["ts"]):
        if kind == "event":
            out += engine.score_event(int(slots[r]), reading)
        else:
            out += engine.score_utterance(int(slots[r]), reading)
    return out


def _by_resident(needs: list[NeedMessage]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in needs:
        out[n.resident].append(n.model_dump())
    return dict(out)


def _assert_same_state(a: ScoringEngine, b: ScoringEngine) -> None:
    rows = len(a.directory)
    for name, array in a.table.state(rows).items():
        assert np.array_equal(array, b.table.state(rows)[name], equal_nan=True), name
    assert a.readings == b.readings


def _one_at_a_time(run: dict[str, Any], *, with_extras: bool) -> tuple[ScoringEngine, list]:
    engine, slots = _engine(run)
    needs: list[NeedMessage] = []
    for k in range(STEPS):
        ts = np.array([run["ts"][k]], dtype=np.int64)
        for r in range(RESIDENTS):
            one = VitalsBatch(slots[r : r + 1], ts, run["x"][k, r : r + 1])
            needs += engine.score_vitals(one)
        if with_extras:
            needs += _extras(engine, slots, run["extras"].get(k, []))
        if (k + 1) % TICK_EVERY == 0:
            needs += engine.tick(int(run["ts"][k]))
    return engine, needs


def test_batches_of_one_second_equal_one_reading_at_a_time(run: dict[str, Any]) -> None:
    reference, expected = _one_at_a_time(run, with_extras=True)
    engine, slots = _engine(run)
    needs: list[NeedMessage] = []
    for k in range(STEPS):
        ts = np.full(RESIDENTS, run["ts"][k], dtype=np.int64)
        needs += engine.score_vitals(VitalsBatch(slots, ts, run["x"][k]))
        needs += _extras(engine, slots, run["extras"].get(k, []))
        if (k + 1) % TICK_EVERY == 0:
            needs += engine.tick(int(run["ts"][k]))
    # the run must exercise events and at least one vital rule, or it proves little
    kinds = {n.kind for n in expected if n.state == "open"}
    assert {"fall", "sos"} <= kinds and kinds - {"fall", "sos"}, kinds
    assert _by_resident(needs) == _by_resident(expected)
    _assert_same_state(engine, reference)


def test_shuffled_multi_second_batches_equal_one_reading_at_a_time(
    run: dict[str, Any],
) -> None:
    reference, expected = _one_at_a_time(run, with_extras=False)
    engine, slots = _engine(run)
    rng = np.random.default_rng(5)
    needs: list[NeedMessage] = []
    for lo in range(0, STEPS, TICK_EVERY):
        hi = lo + TICK_EVERY
        resident = np.tile(slots, hi - lo)
        ts = np.repeat(run["ts"][lo:hi], RESIDENTS).astype(np.int64)
        x = run["x"][lo:hi].reshape(-1, len(FIELDS))
        perm = rng.permutation(len(resident))
        needs += engine.score_vitals(VitalsBatch(resident[perm], ts[perm], x[perm]))
        needs += engine.tick(int(run["ts"][hi - 1]))
    assert expected, "the run raised no needs from vitals; it proves little"
    assert _by_resident(needs) == _by_resident(expected)
    _assert_same_state(engine, reference)


def test_rounds_keep_sorted_batches_whole_and_split_the_rest() -> None:
    x = np.zeros((4, len(FIELDS)), dtype=np.float32)
    ts = np.array([1, 2, 3, 4], dtype=np.int64)
    ordered = VitalsBatch(np.array([0, 1, 2, 5]), ts, x)
    kept = _rounds(ordered)
    assert len(kept) == 1 and kept[0] is ordered
    mixed = VitalsBatch(np.array([2, 0, 2, 1]), np.array([9, 1, 3, 2], dtype=np.int64), x)
    rounds = _rounds(mixed)
    assert [r.resident.tolist() for r in rounds] == [[0, 1, 2], [2]]
    assert [r.ts.tolist() for r in rounds] == [[1, 2, 3], [9]]
