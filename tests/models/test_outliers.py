"""Multivariate outliers: the sign is converted at the boundary, normalisation is per
resident, and misuse fails loudly."""

from __future__ import annotations

import numpy as np
import pytest

from models.base import ModelError, NotFittedError
from models.baseline import ResidentBaseline
from models.outliers import (
    FEATURES,
    VitalsOutlierForest,
    features_from_zscores,
    resident_robust_z,
)
from tests.models.cases_vitals import MINUTE_MS, T0_MS, outlier_data


def test_higher_is_more_anomalous():
    X, y = outlier_data(1)
    model = VitalsOutlierForest(n_estimators=100, random_state=0).fit(X)
    usual = model.score_samples(np.zeros((1, len(FEATURES))))
    odd = model.score_samples(np.array([[1.8, 1.8, -2.5, 0.0, 0.0]]))
    assert odd[0] > usual[0]
    scores = model.score_samples(X)
    assert scores[y].mean() > scores[~y].mean()
    assert np.all((scores > 0) & (scores <= 1))


def test_normalisation_is_per_resident():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (50, 2))
    X = np.vstack([60 + 3 * a, 95 + 3 * a])  # same shape around two different normals
    z = resident_robust_z(X, np.repeat(["r1", "r2"], 50))
    np.testing.assert_allclose(z[:50], z[50:])
    assert abs(np.median(z[:50, 0])) < 1e-9
    X[0, 1] = np.nan
    z = resident_robust_z(X, np.repeat(["r1", "r2"], 50), min_scale=[1.0, 1.0])
    assert np.isnan(z[0, 1]) and np.isfinite(z[1:]).all()
    with pytest.raises(ModelError):
        resident_robust_z(X, ["r1"])


def test_missing_features_are_imputed_at_the_residents_usual():
    X, _ = outlier_data(0)
    model = VitalsOutlierForest(n_estimators=50, random_state=0).fit(X)
    row = features_from_zscores({"heart_rate": 2.0})
    assert np.isnan(row[1:]).all()
    expected = model.score_samples(np.array([[2.0, 0, 0, 0, 0]]))
    np.testing.assert_array_equal(model.score_samples(row[None, :]), expected)


def test_streaming_baseline_feeds_the_forest():
    baseline = ResidentBaseline(warmup=10)
    for i in range(50):
        baseline.learn_one({"ts": T0_MS + i * MINUTE_MS, "heart_rate": 60.0 + i % 5})
    row = features_from_zscores(baseline.zscores_one({"ts": T0_MS, "heart_rate": 95.0}))
    assert row[0] > 5.0 and np.isnan(row[1])


def test_misuse_fails_loudly():
    model = VitalsOutlierForest()
    with pytest.raises(NotFittedError):
        model.score_samples(np.zeros((2, 5)))
    with pytest.raises(ModelError):
        VitalsOutlierForest(n_estimators=0).fit(np.zeros((5, 5)))
    with pytest.raises(ModelError):
        model.fit(np.array([[np.inf, 0.0], [0.0, 0.0]]))
    model.fit(np.zeros((10, 5)))
    with pytest.raises(ModelError):
        model.score_samples(np.zeros((2, 4)))
