"""The scorer's intake keeps vitals in one batch unless order for one resident needs a cut.

An event, utterance or status flushes the vitals before it only when its own resident has
vitals waiting: that keeps a resident's readings and events in arrival order, while the
events of other residents (a care home's door sensors, a flood of hostile-but-valid events
in the fuzz test) no longer cut a stream into batches of a few readings each, each paying
the whole vectorised step. The registry is a real SQLite people database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from careloop.wire import Topic, data_message, encode
from models.runtime.engine import EngineConfig, ScoringEngine
from models.runtime.intake import Intake
from models.runtime.metrics import ScoreMetrics
from people import Device, DeviceRegistry

SITE = "home"
T0 = 1_767_600_000_000


def message(resident: str, kind: str, seq: int, *readings: dict[str, Any]) -> tuple[str, bytes]:
    device = f"term-{resident}"
    body = data_message(
        kind, device=device, resident=resident, seq=seq, ts=max(r["ts"] for r in readings),
        readings=readings,
    )  # fmt: skip
    return str(Topic(SITE, device, kind)), encode(body)  # type: ignore[arg-type]


def intake(tmp_path: Path) -> tuple[Intake, list[tuple[str, Any]]]:
    """An intake on a fresh engine; the list records each engine call as it happens."""
    registry = DeviceRegistry(tmp_path / "people.sqlite3")
    registry.add([Device(f"term-{r}", SITE, r) for r in ("ann", "ben", "cy")])
    engine = ScoringEngine(EngineConfig(auto_tick=False))
    calls: list[tuple[str, Any]] = []
    score_vitals, score_event = engine.score_vitals, engine.score_event

    def vitals_spy(batch: Any) -> Any:
        calls.append(("vitals", sorted(engine.directory.residents[s].id
                                       for s in batch.resident.tolist())))  # fmt: skip
        return score_vitals(batch)

    def event_spy(slot: int, reading: Any) -> Any:
        calls.append(("event", engine.directory.residents[slot].id))
        return score_event(slot, reading)

    engine.score_vitals = vitals_spy  # type: ignore[method-assign]
    engine.score_event = event_spy  # type: ignore[method-assign]
    counts = dict.fromkeys(("received", "rejected", "readings"), 0)
    return Intake(
        engine, registry, ScoreMetrics(), counts, max_batch_readings=5000,
        max_clock_skew_s=0, on_erase=lambda topic, payload: None,
    ), calls  # fmt: skip


def vitals(resident: str, seq: int, ts: int) -> tuple[str, bytes]:
    return message(resident, "vitals", seq, {"ts": ts, "heart_rate": 70.0, "steps": 1})


def door(resident: str, seq: int, ts: int) -> tuple[str, bytes]:
    return message(resident, "event", seq, {"ts": ts, "type": "door"})


def test_another_residents_event_does_not_cut_the_vitals_batch(tmp_path: Path) -> None:
    scorer, calls = intake(tmp_path)
    items = [
        vitals("ann", 1, T0), vitals("ben", 1, T0), door("cy", 1, T0 + 1),
        vitals("ann", 2, T0 + 2), door("ben", 2, T0 + 3), vitals("cy", 2, T0 + 4),
    ]  # fmt: skip
    scorer.score(items)
    # cy's door opened while only ann's vitals waited: no cut; ben's door had ben's vitals
    # waiting: cut there, so ben's reading is scored before ben's event
    assert calls == [
        ("event", "cy"),
        ("vitals", ["ann", "ann", "ben"]),
        ("event", "ben"),
        ("vitals", ["cy"]),
    ]
    assert scorer.counts["readings"] == 6


def test_a_residents_own_event_still_comes_between_their_readings(tmp_path: Path) -> None:
    scorer, calls = intake(tmp_path)
    fall = message("ann", "event", 2, {"ts": T0 + 1, "type": "fall_detected"})
    scorer.score([vitals("ann", 1, T0), fall, vitals("ann", 3, T0 + 2)])
    assert calls == [("vitals", ["ann"]), ("event", "ann"), ("vitals", ["ann"])]
