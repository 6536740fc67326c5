"""Runs the generic checks over every model case in ``tests/models/cases_*.py``."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import models
from models.base import StreamingDetector
from tests.models.checks import Case, batch_checks, stream_checks


def _cases() -> list[Case]:
    found: list[Case] = []
    for path in sorted(Path(__file__).parent.glob("cases_*.py")):
        module = importlib.import_module(f"tests.models.{path.stem}")
        found.extend(module.CASES)
    return found


CASES = _cases()
ROOT = Path(models.__file__).parent.parent


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_generic_model_checks(case: Case) -> None:
    if case.kind == "stream":
        stream_checks(case)
    else:
        batch_checks(case)


def test_every_model_has_a_case() -> None:
    assert CASES, "no model cases found"
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


def _subclasses(cls: type) -> set[type]:
    return {c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))}


def test_every_streaming_detector_has_a_stream_case() -> None:
    # the stream checks are where each detector's state round-trips (snapshot, restore, the
    # same scores after): a detector without a case would have an unchecked state()
    for path in sorted(Path(models.__file__).parent.rglob("*.py")):
        if "evaluation" not in path.parts:
            importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    covered = {type(c.make(0)) for c in CASES if c.kind == "stream"}
    detectors = {c for c in _subclasses(StreamingDetector) if not inspect.isabstract(c)}
    assert detectors, "no streaming detectors found"
    missing = sorted(c.__name__ for c in detectors - covered)
    assert not missing, f"streaming detectors without a case in tests/models/: {missing}"
