"""Snapshots set aside unread: named by why (another version's or corrupt), and deleted by
retention once older than the strictest site keeps data, whichever the suffix."""

from __future__ import annotations

import os
from pathlib import Path

from models.errors import ModelError, StateError
from models.runtime.setaside import drop_set_aside, set_aside
from people.retention import DAY_MS, Retention

NOW_MS = 1_767_600_000_000


def test_a_stale_snapshot_goes_to_old_anything_else_to_corrupt(tmp_path: Path) -> None:
    cases = [
        (StateError("f", "format version 1", stale=True), ".old", True),
        (StateError("f", "truncated"), ".corrupt", False),
        (ModelError("something else"), ".corrupt", False),
    ]
    for error, suffix, stale in cases:
        path = tmp_path / "p.snapshot"
        path.write_bytes(b"payload")
        aside, was_stale = set_aside(path, error)
        assert (aside, was_stale) == (path.with_name("p.snapshot" + suffix), stale)
        assert aside.read_bytes() == b"payload" and not path.exists()


def _aged(path: Path, days: float) -> Path:
    path.write_bytes(b"x")
    when = (NOW_MS - days * DAY_MS) / 1000
    os.utime(path, (when, when))
    return path


def test_retention_drops_set_aside_snapshots_older_than_the_strictest_cutoff(
    tmp_path: Path,
) -> None:
    kept = Retention({"a": NOW_MS - 30 * DAY_MS, "b": NOW_MS - 90 * DAY_MS}, frozenset("ab"))
    gone = [_aged(tmp_path / "p1.snapshot.old", 40), _aged(tmp_path / "p2.snapshot.corrupt", 31)]
    stay = [
        _aged(tmp_path / "p3.snapshot.old", 10),
        _aged(tmp_path / "p4.snapshot.corrupt", 29),
        _aged(tmp_path / "p5.snapshot", 400),  # the live snapshot is retention's by residents
    ]
    assert drop_set_aside(tmp_path, kept) == {"set_aside_snapshots": 2}
    assert not any(p.exists() for p in gone)
    assert all(p.exists() for p in stay)


def test_without_any_retention_nothing_set_aside_is_dropped(tmp_path: Path) -> None:
    old = _aged(tmp_path / "p.snapshot.old", 4000)
    assert drop_set_aside(tmp_path, Retention({}, frozenset({"a"}))) == {"set_aside_snapshots": 0}
    assert drop_set_aside(tmp_path / "none", Retention({"a": NOW_MS}, frozenset({"a"}))) == {
        "set_aside_snapshots": 0
    }
    assert old.exists()
