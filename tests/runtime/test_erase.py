"""Erasure reaches the scorer: an erase command makes it forget a resident, on disk too."""

from __future__ import annotations

import numpy as np

from careloop.mqtt import publish_once
from careloop.wire.control import EraseCommand, erase_topic
from models.runtime import ScoringEngine
from tests.runtime.conftest import T0, Device, S, score_settings


def test_erase_command_forgets_the_resident_and_rewrites_the_snapshot(
    mosquitto, tmp_path, site, publisher, start_scorer
):
    settings = score_settings(mosquitto, tmp_path, sites=site)
    scorer = start_scorer(settings)
    anna, ben = (
        Device(publisher, site, "r1", tmp_path / "people.sqlite3"),
        Device(publisher, site, "r2", tmp_path / "people.sqlite3"),
    )
    for k in range(20):
        anna.vitals(T0 + k * 5 * S, heart_rate=61.0)
        ben.vitals(T0 + k * 5 * S, heart_rate=88.0)
    scorer.wait_for(lambda s: s.counts["readings"] >= 40)

    cmd = EraseCommand(id="er-test", site=site, resident="r1", ts=T0 + 200 * S)
    publish_once(
        settings.mqtt, erase_topic(site), cmd.model_dump_json().encode(), client_id="eraser"
    )
    scorer.wait_for(lambda s: s.counts.get("erased", 0) == 1)

    # the snapshot written at once no longer knows r1; r2's state is untouched
    engine = ScoringEngine()
    engine.restore(scorer.service.snapshot_path)
    assert engine.directory.get(site, "r1") is None
    kept = engine.directory.get(site, "r2")
    assert kept is not None
    ids = [r.id for r in engine.directory.residents]
    assert "r1" not in ids and any(i.startswith("~erased-") for i in ids)
    gone = ids.index(next(i for i in ids if i.startswith("~erased-")))
    assert not engine.table["base"][gone].any()  # baselines reset to nothing
    assert engine.table["last_seen"][gone] == 0
    assert engine.table["base"][kept].any()

    # readings for r1 after the erasure start a fresh slot, with nothing learned
    anna.vitals(T0 + 300 * S)
    scorer.wait_for(lambda s: s.counts["readings"] >= 41)
    live = scorer.service.engine
    assert live is not None
    fresh = live.directory.get(site, "r1")
    assert fresh is not None and fresh != gone
    hr_n = live.table["base"][fresh][2, 0, -1]  # readings of heart rate learned, all day
    assert hr_n == 1.0


def test_forget_unknown_resident_is_a_no_op() -> None:
    engine = ScoringEngine()
    assert engine.forget("s", "nobody") is False
    slot = engine.slot("s", "r1")
    assert engine.forget("s", "r1") is True
    assert engine.forget("s", "r1") is False
    assert not np.isfinite(engine.table["carry"][slot]).any()
