"""ICU features and ``careloop eval icu`` on small synthetic files in the PhysioNet 2012 layout
(the real data is read only by the evaluation command, never by tests)."""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from careloop.errors import SettingsError
from models.evaluation.icu import evaluate, operating_point
from models.features.icu import (
    PARAMETERS,
    VITAL_SERIES,
    Stay,
    feature_matrix,
    hourly,
    read_outcomes,
    read_stays,
    stay_features,
)
from models.features.icu_clinical import clinical_features


def _write(folder: Path, rows: Sequence[tuple], outcomes: Sequence[tuple]) -> None:
    with gzip.open(folder / "timeseries_long.csv.gz", "wt", newline="") as f:
        w = csv.writer(f)
        w.writerow(["RecordID", "Time", "Parameter", "Value"])
        w.writerows(rows)
    with (folder / "outcomes.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["RecordID", "SAPS-I", "SOFA", "Length_of_stay", "Survival", "In-hospital_death"]
        )
        w.writerows(outcomes)


def test_only_vitals_and_consciousness_are_read():
    assert set(PARAMETERS) == {
        "HR", "RespRate", "Temp", "SysABP", "NISysABP", "DiasABP", "NIDiasABP", "MAP", "NIMAP",
        "SaO2", "GCS",
    }  # fmt: skip


def test_reader_drops_other_parameters_and_recording_errors(tmp_path):
    rows = [
        (1, "00:00", "RecordID", 1),
        (1, "00:00", "Age", 80),
        (1, "00:30", "HR", 80),
        (1, "01:00", "HR", 0),  # a recording error
        (1, "01:00", "Lactate", 5.1),  # a lab: never read
        (1, "01:00", "MechVent", 1),
        (1, "01:30", "Temp", -17.8),
        (1, "02:00", "SysABP", 120),
        (1, "02:10", "NISysABP", 118),
        (1, "47:59", "GCS", 14),
        (2, "00:00", "RecordID", 2),
    ]
    _write(tmp_path, rows, [(1, 10, 2, 5, -1, 0), (2, -1, 1, 3, -1, 1)])
    stays = {s.record_id: s for s in read_stays(tmp_path / "timeseries_long.csv.gz")}
    assert set(stays) == {1, 2}
    one = stays[1]
    assert set(one.series) == {"hr", "sbp", "gcs"}
    np.testing.assert_array_equal(one.series["hr"][1], [80.0])
    np.testing.assert_allclose(one.series["sbp"][0], [2.0, 2 + 10 / 60])
    assert one.invasive_bp == 1 and stays[2].series == {}
    outcomes = read_outcomes(tmp_path / "outcomes.csv")
    assert outcomes[1] == (0, 10.0) and outcomes[2][0] == 1 and math.isnan(outcomes[2][1])


def test_hourly_grid_carries_the_last_value_forward_only():
    grid = hourly(np.array([2.5, 2.9, 5.0]), np.array([80.0, 90.0, 100.0]))
    assert np.isnan(grid[:2]).all()
    assert grid[2] == 85.0 and grid[3] == grid[4] == 85.0 and grid[5] == grid[47] == 100.0
    assert np.isnan(hourly(np.zeros(0), np.zeros(0))).all()


def test_stay_features_score_the_chart_and_leave_missing_missing():
    stay = Stay(
        7,
        {
            "hr": (np.array([0.0, 1.0, 2.0, 30.0]), np.array([80.0, 90.0, 135.0, 100.0])),
            "gcs": (np.array([1.0, 20.0]), np.array([15.0, 14.0])),
            "sbp": (np.array([0.5]), np.array([100.0])),
        },
        invasive_bp=0,
    )
    f = stay_features(stay)
    assert f["hr_n"] == 4 and f["hr_max"] == 135.0 and f["hr_last"] == 100.0
    assert f["hr_news2_worst"] == 3 and f["gcs_news2_worst"] == 3 and f["sbp_news2_worst"] == 2
    assert f["news2_worst_sum"] == 8  # 3 + 3 + 2; absent parameters add nothing
    assert f["rr_n"] == 0 and f["rr_present"] == 0 and "rr_mean" not in f
    assert f["shock_index_max"] == pytest.approx(1.35)
    breathing = Stay(8, {"rr": (np.array([3.0]), np.array([18.0]))}, invasive_bp=0)
    X, names = feature_matrix([stay, breathing], exclude=("_n", "_present"))
    assert "hr_n" not in names and "rr_present" not in names
    assert np.isnan(X[0, names.index("rr_max")]) and X[1, names.index("rr_max")] == 18.0


def _synthetic_icu(folder: Path, n: int = 80, seed: int = 0) -> None:
    """Stays whose death depends on consciousness and pulse, as in real ICUs (roughly)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, str, str, float]] = []
    outcomes: list[tuple[int, ...]] = []
    for rid in range(1000, 1000 + n):
        sick = rng.random() < 0.3
        gcs = 8 if sick else 15
        hr = 115 if sick else 80
        rows.append((rid, "00:00", "RecordID", rid))
        for h in range(0, 48, 2):
            rows.append((rid, f"{h:02d}:00", "HR", round(rng.normal(hr, 12))))
            rows.append((rid, f"{h:02d}:05", "NISysABP", round(rng.normal(120, 15))))
            if h % 8 == 0:
                rows.append((rid, f"{h:02d}:10", "GCS", int(np.clip(rng.normal(gcs, 3), 3, 15))))
                rows.append((rid, f"{h:02d}:15", "Temp", round(rng.normal(37.0, 0.5), 1)))
        died = int(rng.random() < (0.6 if sick else 0.08))
        outcomes.append((rid, int(rng.integers(5, 25)), 3, 5, -1, died))
    _write(folder, rows, outcomes)


def test_evaluate_end_to_end_on_synthetic_stays(tmp_path):
    _synthetic_icu(tmp_path)
    result = evaluate(tmp_path, seed=0, progress=False)
    assert result["n"] == 80 and result["positives"] > 5
    assert result["auroc"] > 0.7  # death follows GCS and pulse here
    assert result["auroc_ci95"][0] <= result["auroc"] <= result["auroc_ci95"][1]
    refs = result["references"]
    assert set(refs) == {
        "in_sample", "saps_i", "worst_news2", "values_only", "vitals_gcs", "vitals", "vitals_age"
    }  # fmt: skip
    assert refs["vitals"]["auroc"] > 0.6 and refs["vitals_gcs"]["auroc"] > 0.7  # pulse carries some
    assert 0.3 < refs["saps_i"]["auroc"] < 0.7  # random here: a reference, never a feature
    assert result["coverage"]["rr"] == 0.0 and result["coverage"]["hr"] == 1.0
    assert evaluate(tmp_path, seed=0, progress=False)["auroc"] == result["auroc"]


def test_clinical_inputs_are_read_only_when_asked_and_kept_apart(tmp_path):
    rows = [
        (1, "00:00", "Age", 81),
        (1, "00:00", "Weight", -1),
        (1, "03:00", "Weight", 70),
        (1, "01:00", "HR", 90),
        (1, "02:00", "BUN", 30),
        (1, "30:00", "BUN", 45),
        (1, "04:00", "pH", 187),  # a recording error
        (1, "05:00", "Urine", 200),
        (1, "06:00", "FiO2", 0.5),
        (1, "06:30", "PaO2", 80),
    ]
    _write(tmp_path, rows, [(1, 10, 2, 5, -1, 0)])
    plain = next(read_stays(tmp_path / "timeseries_long.csv.gz"))
    assert plain.clinical == {} and plain.descriptors == {}
    stay = next(read_stays(tmp_path / "timeseries_long.csv.gz", clinical=True))
    assert set(stay.series) == {"hr"} and set(stay.clinical) == {"bun", "urine", "fio2", "pao2"}
    assert stay.descriptors == {"Age": 81.0, "Weight": 70.0}
    f = clinical_features(stay)
    assert f["age"] == 81 and f["bun_first"] == 30 and f["bun_last"] == 45 and f["bun_n"] == 2
    assert f["ph_n"] == 0 and "ph_last" not in f
    assert f["pf_ratio_min"] == 160.0 and f["urine_48h"] == 200.0
    assert f["urine_ml_kg_h"] == pytest.approx(200 / 70 / 48)
    assert f["mechvent"] == 0.0 and math.isnan(f["height"])
    vitals = stay_features(stay, VITAL_SERIES)
    assert not any(k.startswith("gcs") for k in vitals)


def test_operating_point_and_missing_files(tmp_path):
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    p = np.linspace(1.0, 0.0, 10)
    assert operating_point(y, p, 0.2) == {"sensitivity": 1.0, "ppv": 1.0}
    assert operating_point(y, p, 0.4) == {"sensitivity": 1.0, "ppv": 0.5}
    with pytest.raises(SettingsError):
        evaluate(tmp_path, seed=0, progress=False)


def test_rank_auroc_matches_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score

    from models.evaluation.icu import rank_auroc

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300) + 0.3 * y, 1).astype(np.float64)  # many ties
    assert rank_auroc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
