"""Runs the generic checks over every model case in ``tests/models/cases_*.py``."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.models.checks import Case, batch_checks, stream_checks


def _cases() -> list[Case]:
    found: list[Case] = []
    for path in sorted(Path(__file__).parent.glob("cases_*.py")):
        module = importlib.import_module(f"tests.models.{path.stem}")
        found.extend(module.CASES)
    return found


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_generic_model_checks(case: Case) -> None:
    if case.kind == "stream":
        stream_checks(case)
    else:
        batch_checks(case)


def test_every_model_has_a_case() -> None:
    assert CASES, "no model cases found"
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
