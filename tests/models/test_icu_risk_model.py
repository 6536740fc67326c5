"""The deterioration-risk model file: written and read back exactly, the shipped one usable,
and every kind of bad file refused with a ModelError that says why."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.base import ModelError
from models.evaluation.icu_train import RiskLogistic
from models.runtime import ScoringEngine
from models.runtime import riskfeatures as rf
from models.runtime.riskmodel import (
    DEFAULT_PATH,
    FORMAT_VERSION,
    RiskModel,
    _digest,
    default_risk_model,
    load_risk_model,
)
from tests.models.cases_icu_risk import risk_rows


def _fitted() -> RiskModel:
    X, y = risk_rows(0)
    model = RiskLogistic(seed=0).fit(X, y).model_
    return replace(model, about={"licence": "ODC-By 1.0"})


def _doc(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, doc: dict[str, Any], *, rehash: bool = True) -> Path:
    if rehash:
        doc["sha256"] = _digest(doc["model"])
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_round_trip_keeps_every_number_and_prediction(tmp_path: Path) -> None:
    model = _fitted()
    path = tmp_path / "risk.json"
    size = model.save(path)
    back = load_risk_model(path)
    assert size == path.stat().st_size < 20_000
    assert back.features == model.features and back.name == model.name
    for key in ("impute", "center", "scale", "coef"):
        np.testing.assert_array_equal(getattr(back, key), getattr(model, key))
    assert (back.intercept, back.threshold) == (model.intercept, model.threshold)
    X, _ = risk_rows(1)
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert back.about == {"licence": "ODC-By 1.0"}
    # the same model writes the same bytes: a retrained file differs only if the model does
    model.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_the_shipped_model_loads_and_says_where_it_came_from() -> None:
    model = default_risk_model()
    doc = _doc(DEFAULT_PATH)
    assert doc["version"] == FORMAT_VERSION and DEFAULT_PATH.stat().st_size < 50_000
    assert set(model.features) <= set(rf.FEATURES) and 0 < model.threshold < 1
    assert model.about["licence"] == "ODC-By 1.0"
    assert "PhysioNet/CinC Challenge 2012, set A" in model.about["data"]
    assert "Silva" in model.about["citation"] and model.about["stays"] > 1000
    assert "consciousness" in model.vitals and "heart_rate" in model.vitals
    assert ScoringEngine().risk.enabled


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such file"):
        load_risk_model(tmp_path / "nope.json")


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"\xff\xfe\x00binary", b'{"format": "careloop-risk-model", "versi'],
    ids=["empty", "not-json", "binary", "truncated"],
)
def test_unreadable_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "risk.json"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="unreadable"):
        load_risk_model(path)


def test_another_format_or_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "risk.json"
    _fitted().save(path)
    doc = _doc(path)
    with pytest.raises(ModelError, match="format version 2"):
        load_risk_model(_write(tmp_path / "v2.json", {**doc, "version": 2}))
    with pytest.raises(ModelError, match="not a careloop-risk-model file"):
        load_risk_model(_write(tmp_path / "other.json", {**doc, "format": "something-else"}))
    with pytest.raises(ModelError, match="not a careloop-risk-model file"):
        load_risk_model(_write(tmp_path / "list.json", {"model": {}}, rehash=False))


def test_an_edited_file_fails_its_checksum(tmp_path: Path) -> None:
    path = tmp_path / "risk.json"
    _fitted().save(path)
    doc = _doc(path)
    doc["model"]["coef"][0] += 1.0
    with pytest.raises(ModelError, match="checksum"):
        load_risk_model(_write(path, doc, rehash=False))


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda m: m.update(coef=m["coef"][:-1]), "coef must be"),
        (lambda m: m.update(scale=[0.0] * len(m["scale"])), "scale must be positive"),
        (lambda m: m.update(threshold=1.5), "threshold"),
        (lambda m: m["features"].__setitem__(0, "pulse_mood"), "lacks"),
        (lambda m: m.pop("intercept"), "malformed"),
        (lambda m: m.update(center="abc"), "malformed"),
    ],
    ids=["short", "zero-scale", "threshold", "unknown-feature", "missing-key", "not-numbers"],
)
def test_a_malformed_model_is_refused_even_with_a_matching_checksum(
    tmp_path: Path, edit: Any, reason: str
) -> None:
    path = tmp_path / "risk.json"
    _fitted().save(path)
    doc = _doc(path)
    edit(doc["model"])
    with pytest.raises(ModelError, match=reason):
        load_risk_model(_write(path, doc))


def test_without_a_usable_model_the_engine_scores_on_rules_and_says_so(tmp_path: Path) -> None:
    bad = tmp_path / "risk.json"
    bad.write_text("{}", encoding="utf-8")
    for source in (None, tmp_path / "missing.json", bad):
        engine = ScoringEngine(risk_model=source)
        assert not engine.risk.enabled and engine.risk.status.startswith("off:")
        assert engine.risk.status.endswith("(rules only)")
        slot = engine.slot("home", "r001")
        needs = engine.score_event(slot, {"ts": 1_767_600_000_000, "type": "sos_button"})
        assert [n.kind for n in needs] == ["sos"]
