"""Issue 11, item 5: a snapshot file cannot run code, however it was crafted.

The red team's payload is a pickle that asks ``pydantic._internal._validators.import_string``
for ``os.system`` and calls it: an allowlist of module prefixes let it through. Snapshots are
now a JSON document and numeric arrays, so every place a snapshot is read must refuse the
payload with a ModelError and the command must never run (here: it would create a file).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

from models.base import ModelError
from models.baseline import ResidentBaseline
from models.decline import DeclineDetector
from models.runtime import ScoringEngine
from tests.helpers import state_files as sf
from tests.helpers.state_files import old_layout, pickled_npy, red_team_pickle


def refused(restore: Callable[[], object], marker: Path) -> ModelError:
    """Run ``restore``; assert it ran no code (first: that is the point) and raised a
    ModelError, which is returned."""
    try:
        restore()
    except Exception as exc:  # checked below, after the marker
        raised: BaseException | None = exc
    else:
        raised = None
    assert not marker.exists(), f"reading the snapshot ran code ({marker} was created)"
    assert isinstance(raised, ModelError), f"expected a ModelError, got {raised!r}"
    return raised


def test_the_payload_really_runs_code_when_unpickled(tmp_path: Path) -> None:
    # the control: the payload is live, so the tests below that refuse it mean something
    marker = tmp_path / "ran"
    pickle.loads(red_team_pickle(marker))  # deliberately: proves the payload works
    assert marker.exists()


@pytest.mark.parametrize("detector", [ResidentBaseline, DeclineDetector])
def test_detector_restore_refuses_the_payload(tmp_path: Path, detector: type) -> None:
    marker = tmp_path / "ran"
    refused(lambda: detector.restore(red_team_pickle(marker)), marker)
    # the payload as an object array inside an otherwise good snapshot
    doctored = sf.with_member(detector().snapshot(), "state/evil.npy", pickled_npy(marker))
    refused(lambda: detector.restore(doctored), marker)


def test_engine_restore_refuses_the_payload(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "state.snapshot"
    path.write_bytes(old_layout(red_team_pickle(marker)))
    error = refused(lambda: ScoringEngine().restore(path), marker)
    assert str(error).startswith(f"unreadable snapshot {path}")


def test_engine_restore_refuses_a_pickle_inside_an_array(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    engine = ScoringEngine()
    engine.slot("s", "r1")
    path = tmp_path / "state.snapshot"
    engine.snapshot(path)
    path.write_bytes(sf.with_member(path.read_bytes(), "evil.npy", pickled_npy(marker)))
    error = refused(lambda: ScoringEngine().restore(path), marker)
    assert str(error).startswith(f"unreadable snapshot {path}")
