"""``careloop eval icu-runtime`` and the risk model's training on small synthetic files in the
PhysioNet 2012 layout (the real data is read only by the commands, never by tests)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import models.evaluation.icu_runtime as icu_runtime
from careloop.wire import ACVPU
from models.evaluation.icu_replay import acvpu_code, replay, stay_readings
from models.evaluation.icu_train import feature_names, load, main, snapshots
from models.features.icu import Stay
from models.runtime.columns import COL
from models.runtime.riskmodel import load_risk_model
from tests.models.test_icu import _synthetic_icu


def test_stays_become_contract_valid_readings_minute_by_minute() -> None:
    stay = Stay(
        1,
        {
            "hr": (np.array([0.0, 0.5, 0.505, 2.0]), np.array([80.0, 300.0, 90.0, 95.0])),
            "sbp": (np.array([0.5, 2.0]), np.array([120.0, 60.0])),
            "dbp": (np.array([0.5, 2.0]), np.array([70.0, 65.0])),  # 65 >= 60: refused
            "gcs": (np.array([1.0]), np.array([9.0])),
            "map": (np.array([1.0]), np.array([90.0])),  # no careloop field
            "temp": (np.array([3.0]), np.array([28.0])),  # under the contract's 30 °C
        },
        invasive_bp=0,
    )
    got = stay_readings(stay)
    assert sorted(got) == [0, 30, 60, 120]  # minute 180 (only the refused temperature) is gone
    assert got[0][COL["heart_rate"]] == 80.0
    assert got[30][COL["heart_rate"]] == 90.0  # 300 bpm is out of contract; 90 is kept
    assert got[30][COL["systolic_bp"]] == 120.0 and got[30][COL["diastolic_bp"]] == 70.0
    assert ACVPU[int(got[60][COL["consciousness"]])] == "V"
    assert math.isnan(got[120][COL["systolic_bp"]]) and got[120][COL["heart_rate"]] == 95.0
    assert [ACVPU[acvpu_code(g)] for g in (15, 14, 13, 12, 9, 8, 4, 3)] == list("ACCVVPPU")
    no_gcs = stay_readings(stay, series=("hr", "sbp", "dbp"))
    assert sorted(no_gcs) == [0, 30, 120]
    rep = replay([stay, stay])
    assert len(rep) == 8 and list(rep.minute) == [0, 0, 30, 30, 60, 60, 120, 120]
    assert list(rep.stay) == [0, 1] * 4


def test_training_writes_a_model_the_engine_can_load(tmp_path: Path, capsys) -> None:
    _synthetic_icu(tmp_path)
    out = tmp_path / "model" / "risk.json"
    assert main(["--data", str(tmp_path), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    model = load_risk_model(out)
    assert summary["bytes"] == out.stat().st_size and summary["stays"] == 80
    assert model.features == feature_names("vitals+consciousness")
    assert model.about["licence"] == "ODC-By 1.0" and model.about["stays"] == 80
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "again.json")]) == 0
    assert (tmp_path / "again.json").read_bytes() == out.read_bytes()
    assert main(["--data", str(tmp_path / "nowhere"), "--out", str(out)]) == 2


def test_cross_fitting_never_scores_a_stay_with_a_model_that_saw_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _synthetic_icu(tmp_path)
    stays, y = load(tmp_path)
    rep = replay(stays)
    last = snapshots(rep, len(y))[-1]
    fitted: list[set[int]] = []
    scored: list[set[int]] = []
    fit, play = icu_runtime.fit_risk_model, icu_runtime.replay_fold

    def spy_fit(X3, y_train, **kw):
        seen = {
            i
            for i in range(len(y))
            for j in range(X3.shape[1])
            if np.array_equal(X3[-1, j], last[i], equal_nan=True)
        }
        fitted.append(seen)
        return fit(X3, y_train, **kw)

    def spy_play(rep_, stays_, model):
        scored.append(set(stays_.tolist()))
        return play(rep_, stays_, model)

    monkeypatch.setattr(icu_runtime, "fit_risk_model", spy_fit)
    monkeypatch.setattr(icu_runtime, "replay_fold", spy_play)
    peak, _ = icu_runtime.cross_fit(rep, y, "vitals+consciousness", seed=0)
    assert len(scored) == icu_runtime.FOLDS and set().union(*scored) == set(range(len(y)))
    for train, test in zip(fitted, scored, strict=True):
        assert not train & test and len(train) >= len(y) - len(test) - 2
    assert np.isfinite(peak).all()


def test_evaluate_through_the_runtime_on_synthetic_stays(tmp_path: Path) -> None:
    _synthetic_icu(tmp_path)
    result = icu_runtime.evaluate(tmp_path, seed=0, progress=False)
    assert {"auroc", "auprc", "n", "needs_per_stay", "seconds"} <= set(result)
    assert result["n"] == 80 and result["never_scored"] == 0
    assert result["auroc"] > 0.65  # death follows consciousness and pulse here
    assert 0.5 < result["references"]["vitals_only"]["auroc"] <= 1.0  # pulse carries some
    assert result["references"]["in_sample"]["auroc"] >= result["auroc"] - 0.05
    needs = result["deterioration_risk_needs"]
    assert result["needs_per_stay"] == pytest.approx(sum(needs["by_tier"].values()) / 80, abs=1e-3)
    assert 0 <= needs["sensitivity"] <= 1 and 0 <= needs["ppv"] <= 1
    again = icu_runtime.evaluate(tmp_path, seed=0, progress=False)
    assert again["auroc"] == result["auroc"] and again["needs_per_stay"] == result["needs_per_stay"]
