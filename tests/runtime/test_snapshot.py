"""Snapshot/restore: a restored engine continues exactly as the one that never stopped."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from careloop.i18n.summary import render_summary
from models.base import ModelError, StateError
from models.evaluation.scenarios import care_profile
from models.runtime import ScoringEngine, encode_readings
from simulators import Assignment, CareHome
from tests.helpers import state_files as sf

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


# -- every part of the state, and files that are not snapshots of this version ---------------

HOUR = 3_600_000
NOON = START + 52 * HOUR  # day 2, 12:00: two care days closed before it


def multi_day_engine() -> tuple[ScoringEngine, CareHome, dict]:
    """Two days at two-minute readings (decline detectors, care-plan progress, voices),
    then 40 minutes at ten-second readings with episodes still open at the end."""
    n = 10
    ids = [p.id for p in CareHome(n, seed=4, site=SITE, start_ms=START, scenarios="none").profiles]
    days = CareHome(
        n, seed=4, site=SITE, start_ms=START, interval_s=120.0,
        scenarios=[Assignment(ids[0], "slow_decline", day=0)],
    )  # fmt: skip
    episodes = [
        Assignment(ids[1], "hypoxia", start_ms=NOON + 600_000, end_ms=NOON + 3 * HOUR),
        Assignment(ids[2], "agitation", start_ms=NOON + 900_000),
        Assignment(ids[3], "low_mood_en", start_ms=NOON),
        Assignment(ids[4], "sos_call", start_ms=NOON + 30 * 60_000),
    ]
    hour = CareHome(n, seed=4, site=SITE, start_ms=NOON, interval_s=10.0, scenarios=episodes)
    profiles = {(SITE, p.id): care_profile(p) for p in hour.profiles}
    engine = ScoringEngine(profiles=profiles)
    feed(engine, days, 0, 52 * 30)
    feed(engine, hour, 0, 240)
    return engine, hour, profiles


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, CareHome, dict]:
    engine, hour, profiles = multi_day_engine()
    path = tmp_path_factory.mktemp("populated") / "state.snapshot"
    engine.snapshot(path)
    return path.read_bytes(), hour, profiles


def test_every_part_of_the_state_survives_a_restore(tmp_path):
    original, hour, profiles = multi_day_engine()
    voices = original.speech.voices.values()
    assert original.daily.detectors and original.planner.progress
    assert any(v.mood for v in voices) and any(v.agitated for v in voices)
    assert {kind for _, kind in original.fusion.open} >= {"hypoxia", "agitation", "sos"}
    path = tmp_path / "state.snapshot"
    original.snapshot(path)

    restored = ScoringEngine(profiles=profiles)
    restored.restore(path)
    restored.snapshot(tmp_path / "again.snapshot")
    assert (tmp_path / "again.snapshot").read_bytes() == path.read_bytes()

    a = feed(original, hour, 240, 360)
    b = feed(restored, hour, 240, 360)
    assert a and a == b
    for later in (HOUR, 26 * HOUR):  # timers: the check-up window, expiry of open needs
        a_tick, b_tick = original.tick(original.now + later), restored.tick(restored.now + later)
        assert [n.model_dump() for n in a_tick] == [n.model_dump() for n in b_tick]
    assert original._snapshot_bytes() == restored._snapshot_bytes()


def _json(change):
    return lambda data: sf.with_header(data, lambda doc: change(doc["state"]))


def _replace_array(name, make):
    return lambda data: sf.with_member(data, f"{name}.npy", sf.npy(make(sf.array(data, name))))


def _first_table_field(data):
    return next(n for n in sf.members(data) if n.startswith("table/"))


ENGINE_CORRUPT = {
    "truncated": lambda data: data[: len(data) // 3],
    "table field missing": lambda data: sf.with_member(data, _first_table_field(data), None),
    "table field of another dtype": lambda data: sf.with_member(
        data,
        _first_table_field(data),
        sf.npy(sf.array(data, _first_table_field(data)[:-4]).astype(np.float16)),
    ),
    "fewer residents than table rows": _json(lambda s: (s["sites"].pop(), s["residents"].pop())),
    "a resident twice": _json(lambda s: s["residents"].__setitem__(1, s["residents"][0])),
    "a site that is not a string": _json(lambda s: s["sites"].__setitem__(0, 5)),
    "now a string": _json(lambda s: s.__setitem__("now", "later")),
    "readings negative": _json(lambda s: s.__setitem__("readings", -1)),
    "no speech part": _json(lambda s: s.pop("speech")),
    "a decline detector for a slot that does not exist": _replace_array(
        "daily/slot", lambda a: a + 100
    ),
    "voices and their detectors differ in number": _replace_array("speech/slot", lambda a: a[:-1]),
    "a detector count as floats": _replace_array(
        "speech/detector/n_seen", lambda a: a.astype(np.float64)
    ),
    "care-plan lengths that do not add up": _replace_array("planner/done/lengths", lambda a: a + 1),
    "an open need of an unknown kind": _json(
        lambda s: s["fusion"]["open"][0].__setitem__("kind", "party")
    ),
    "an open need for a slot that does not exist": _json(
        lambda s: s["fusion"]["open"][0].__setitem__("slot", 999)
    ),
    "an open need with an id the wire refuses": _json(
        lambda s: s["fusion"]["open"][0].__setitem__("id", "has spaces")
    ),
    "malformed evidence": _json(
        lambda s: s["fusion"]["open"][0].__setitem__("evidence", [{"what": 1}])
    ),
    "the same open need twice": _json(lambda s: s["fusion"]["open"].append(s["fusion"]["open"][0])),
    "an open need whose summary key the wire refuses": _json(
        lambda s: s["fusion"]["open"][0].__setitem__("summary_key", "Fall! call now")
    ),
    "summary arguments that are not short values": _json(
        lambda s: s["fusion"]["open"][0].__setitem__("summary_args", {"said": ["a", "list"]})
    ),
}


def test_open_needs_of_a_snapshot_without_summary_keys_restore_in_english(tmp_path, populated):
    """A snapshot written before needs carried catalog text: its open needs keep their
    English summary and have no key."""
    data, _, _ = populated

    def drop(s):
        for need in s["fusion"]["open"]:
            need.pop("summary_key"), need.pop("summary_args")

    path = tmp_path / "older.snapshot"
    path.write_bytes(_json(drop)(data))
    engine = ScoringEngine()
    engine.restore(path)
    needs = list(engine.fusion.open.values())
    assert needs and all(n.summary and n.summary_key is None for n in needs)


@pytest.mark.parametrize("corrupt", ENGINE_CORRUPT.values(), ids=ENGINE_CORRUPT.keys())
def test_a_corrupt_snapshot_is_refused_and_changes_nothing(tmp_path, populated, corrupt):
    data, _, _ = populated
    path = tmp_path / "bad.snapshot"
    path.write_bytes(corrupt(data))
    engine = ScoringEngine()
    feed(engine, make_home(), 0, 5)
    before = engine._snapshot_bytes()
    with pytest.raises(StateError, match=f"^unreadable snapshot {path}: ") as e:
        engine.restore(path)
    assert not e.value.stale
    assert engine._snapshot_bytes() == before


@pytest.mark.parametrize(
    "old",
    [
        lambda data: sf.old_layout(pickle.dumps({"version": 1})),
        lambda data: sf.with_header(data, lambda doc: doc.__setitem__("version", 1)),
    ],
    ids=["pickle-based (version 1)", "format version 1"],
)
def test_another_versions_snapshot_is_refused_as_stale(tmp_path, populated, old):
    path = tmp_path / "old.snapshot"
    path.write_bytes(old(populated[0]))
    with pytest.raises(StateError, match=f"^unreadable snapshot {path}: ") as e:
        ScoringEngine().restore(path)
    assert e.value.stale


def test_the_open_needs_of_a_busy_home_are_catalog_text_in_every_language(tmp_path, populated):
    """Decline, hypoxia, agitation, low mood, SOS: each open need's summary is a catalog key
    whose English rendering is the English summary, and which reads in Chinese too."""
    path = tmp_path / "state.snapshot"
    path.write_bytes(populated[0])
    engine = ScoringEngine()
    engine.restore(path)
    needs = list(engine.fusion.open.values())
    assert len(needs) >= 3
    for need in needs:
        assert need.summary_key, need
        own = {k: v for k, v in need.summary_args.items() if k != "also"}
        assert need.summary.startswith(render_summary("en", need.summary_key, own))
        for locale in ("zh-Hant", "zh-Hans"):
            text = render_summary(locale, need.summary_key, need.summary_args)
            assert text and text != need.summary and not text.isascii(), (locale, text)
