"""Multivariate outliers of resident-normalised vitals: an isolation forest.

Each vital can be unremarkable on its own while the combination is not: a heart rate 1.5 SD
above the resident's usual is ordinary after a walk, but not with SpO2 1.5 SD below it and
breathing up. :class:`VitalsOutlierForest` learns which combinations of *resident-normalised*
deviations are ordinary across many residents (one forest for all, since normalising removes
the person) and scores how easily a new combination is isolated.

Features are signed robust z of ``FEATURES`` against each resident's own baseline: from
:meth:`models.baseline.ResidentBaseline.zscores_one` when streaming
(:func:`features_from_zscores`), or from :func:`resident_robust_z` on a batch grouped by
resident. A missing vital is imputed 0 (= the resident's usual), which can hide an anomaly in
that vital but never invents one.

scikit-learn's ``IsolationForest.score_samples`` is higher for *normal* points; careloop's one
direction is higher = more anomalous, so :meth:`VitalsOutlierForest.score_samples` returns
its negation (in (0, 1]: about 0.5 is ordinary, near 1 is isolated at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from models.base import ModelError, NotFittedError

#: Feature order of the forest: signed robust z of these vitals (wire names).
FEATURES: tuple[str, ...] = (
    "heart_rate",
    "respiration_rate",
    "spo2",
    "temperature",
    "systolic_bp",
)
_MAD_TO_SD = 1.4826


def features_from_zscores(zscores: Mapping[str, float]) -> NDArray[np.float64]:
    """One feature row from a vital -> signed z mapping; absent vitals are NaN (imputed 0)."""
    return np.array([zscores.get(name, np.nan) for name in FEATURES], dtype=np.float64)


def resident_robust_z(
    X: ArrayLike, groups: ArrayLike, *, min_scale: ArrayLike = 1e-6
) -> NDArray[np.float64]:
    """Each column as robust z within each resident: (x - median) / (1.4826 * MAD).

    ``groups`` names the resident of each row; ``min_scale`` (scalar or one per column)
    keeps a perfectly steady resident from dividing by zero. NaN stays NaN.
    """
    values = np.asarray(X, dtype=np.float64)
    keys = np.asarray(groups)
    if values.ndim != 2 or keys.shape != (values.shape[0],):
        raise ModelError("X must be 2-D and groups one label per row")
    floor = np.broadcast_to(np.asarray(min_scale, dtype=np.float64), (values.shape[1],))
    out = np.full_like(values, np.nan)
    for key in np.unique(keys):
        rows = keys == key
        block = values[rows]
        with np.errstate(all="ignore"):
            if np.all(np.isnan(block)):
                continue
            med = np.nanmedian(block, axis=0)
            mad = np.nanmedian(np.abs(block - med), axis=0) * _MAD_TO_SD
        scale = np.maximum(np.nan_to_num(mad, nan=1.0), floor)
        out[rows] = (block - med) / scale
    return out


def _as_matrix(X: ArrayLike) -> NDArray[np.float64]:
    """A float matrix with missing values imputed 0 (the resident's usual)."""
    values = np.asarray(X, dtype=np.float64)
    if values.ndim != 2:
        raise ModelError(f"X must be 2-D, not of shape {values.shape}")
    if np.isinf(values).any():
        raise ModelError("X holds infinite values")
    return np.nan_to_num(values, nan=0.0)


class VitalsOutlierForest(BaseEstimator):
    """Isolation forest on resident-normalised vitals; ``score_samples``: higher = stranger."""

    def __init__(
        self,
        n_estimators: int = 200,
        max_samples: int | float | str = "auto",
        max_features: float = 1.0,
        random_state: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: Any = None) -> Self:
        """Learn what ordinary deviations look like; ``y`` is ignored (unsupervised)."""
        if not (isinstance(self.n_estimators, int) and self.n_estimators >= 1):
            raise ModelError(f"n_estimators must be an int >= 1, not {self.n_estimators!r}")
        values = _as_matrix(X)
        if values.shape[0] < 2:
            raise ModelError("need at least two rows to fit")
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            max_features=self.max_features,
            random_state=self.random_state,
        ).fit(values)
        self.n_features_in_ = values.shape[1]
        return self

    def score_samples(self, X: ArrayLike) -> NDArray[np.float64]:
        """How anomalous each row is, higher = more (the forest's score, negated)."""
        try:
            check_is_fitted(self, "forest_")
        except SklearnNotFittedError as exc:
            raise NotFittedError("VitalsOutlierForest is not fitted; call fit first") from exc
        values = _as_matrix(X)
        if values.shape[1] != self.n_features_in_:
            raise ModelError(f"X has {values.shape[1]} columns, fitted on {self.n_features_in_}")
        return np.asarray(-self.forest_.score_samples(values), dtype=np.float64)
