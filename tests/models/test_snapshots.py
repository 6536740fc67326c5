"""Snapshot files cannot run code: only careloop's own classes (and numpy's) are rebuilt."""

from __future__ import annotations

import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from models.base import ModelError
from models.baseline import ResidentBaseline
from models.runtime import ScoringEngine
from models.snapshots import safe_loads


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned > /dev/null",))


def test_a_pickle_that_calls_os_system_is_refused() -> None:
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        safe_loads(pickle.dumps(_Evil()))


def test_detector_restore_refuses_it_with_a_model_error() -> None:
    with pytest.raises(ModelError, match="unreadable snapshot"):
        ResidentBaseline.restore(pickle.dumps(_Evil()))


def test_engine_restore_refuses_a_doctored_snapshot(tmp_path) -> None:
    engine = ScoringEngine()
    engine.slot("s", "r1")
    path = tmp_path / "state.snapshot"
    engine.snapshot(path)
    with zipfile.ZipFile(path) as z:
        arrays = z.read("arrays.npz")
    doctored = io.BytesIO()
    with zipfile.ZipFile(doctored, "w") as z:
        z.writestr("arrays.npz", arrays)
        z.writestr("objects.pickle", pickle.dumps({"version": 1, "x": _Evil()}))
    path.write_bytes(doctored.getvalue())
    with pytest.raises(ModelError, match="not allowed"):
        ScoringEngine().restore(path)


def test_own_objects_still_round_trip() -> None:
    detector = ResidentBaseline()
    detector.learn_one({"ts": 1_767_600_000_000, "heart_rate": 70.0})
    back = ResidentBaseline.restore(detector.snapshot())
    assert np.array_equal(back._state, detector._state)
