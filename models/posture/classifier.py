"""Posture of an older adult from a chest-worn wearable: the batch classifier.

:class:`PostureClassifier` takes raw reading rows (:data:`RAW_COLUMNS`: a stream id, time in
seconds, frontal/vertical/lateral acceleration in g, and the RFID reader's antenna id, RSSI,
phase and channel frequency), builds **causal** features per row (only that stream's past:
what a device or the scorer can compute live, :mod:`models.posture.features`), and classifies
each row with an extremely randomised forest (seeded, one thread).

``rfid=False`` (the default, and the shipped model) uses the acceleration and its timing only:
that is what careloop's devices send. ``delay_s`` (default 4 s, the shipped model) answers
for each reading that many seconds late, adding the features at ``t + delay_s``
(:func:`~models.posture.features.delayed_features`); 0 is strictly causal.
``samples_only`` (default, shipped) fits on the readings that bring a new sample only: the
reader's repeats of one sample add weight to the densely read trials, not information.
``rfid=True`` adds how the reader heard the tag (:mod:`models.posture.rfid`), which only this
data set's reader infrastructure provides.
Antenna ids are never features as such: they would encode one room's layout.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.utils.validation import check_is_fitted

from models.base import ModelError
from models.posture.features import delayed_features, delayed_names, new_samples
from models.posture.labels import LYING
from models.posture.rfid import RFID_FEATURES, rfid_features

F64 = NDArray[np.float64]

#: Columns of the raw reading matrix every posture function takes.
RAW_COLUMNS = (
    "stream",
    "time_s",
    "frontal_g",
    "vertical_g",
    "lateral_g",
    "antenna",
    "rssi",
    "phase",
    "frequency_mhz",
)


def feature_names(*, rfid: bool = False, delay_s: float = 0.0) -> tuple[str, ...]:
    """Column names of :func:`posture_features`."""
    return delayed_names(delay_s) + (RFID_FEATURES if rfid else ())


def _checked_raw(raw: NDArray[Any]) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """The readings as floats and their order by stream, then time (ModelError if unusable)."""
    raw = np.asarray(raw, dtype=float)
    if raw.ndim != 2 or raw.shape[1] != len(RAW_COLUMNS):
        raise ModelError(f"raw readings need {len(RAW_COLUMNS)} columns {RAW_COLUMNS}")
    if not np.all(np.isfinite(raw)):
        raise ModelError("raw readings must be finite")
    return raw, np.lexsort((raw[:, 1], raw[:, 0]))


def sample_rows(raw: NDArray[Any]) -> NDArray[np.bool_]:
    """Per reading: does it bring a new sample (not the reader's repeat of the previous one)?"""
    raw, order = _checked_raw(raw)
    ordered = raw[order]
    new = new_samples(ordered[:, 2:5]) | np.r_[True, np.diff(ordered[:, 0]) != 0]
    out = np.empty(len(raw), dtype=bool)
    out[order] = new
    return out


def posture_features(
    raw: NDArray[Any], *, rfid: bool = False, delay_s: float = 0.0
) -> NDArray[np.float32]:
    """Feature rows (same order as ``raw``) from raw readings with :data:`RAW_COLUMNS`.

    Features never cross streams; within a stream, readings are taken in time order and the
    row at time ``t`` sees only readings up to ``t + delay_s`` (up to ``t`` for no delay).
    """
    raw, order = _checked_raw(raw)
    ordered = raw[order]
    bounds = np.flatnonzero(np.diff(ordered[:, 0])) + 1
    parts = []
    for chunk in np.split(ordered, bounds):
        t = chunk[:, 1]
        cols = [delayed_features(t, chunk[:, 2:5], t, delay_s)]
        if rfid:
            cols.append(rfid_features(t, chunk[:, 5], chunk[:, 6], chunk[:, 7], chunk[:, 8]))
        parts.append(np.hstack(cols))
    feats = np.vstack(parts)
    out = np.empty_like(feats)
    out[order] = feats
    return out.astype(np.float32)


class PostureClassifier(BaseEstimator, ClassifierMixin):
    """Raw wearable readings -> ADL posture; ``score_samples`` is P(``lying_label``).

    Parameters: ``n_estimators``, ``min_samples_leaf``, ``max_depth`` (the forest: the shipped
    artefact's size grows with them), ``max_features`` (share of the columns drawn at each
    split: 0.3 beat scikit-learn's square root on walking, docs/evaluation/adl.md), ``rfid``
    (add the RFID read features), ``delay_s`` (the answer's fixed delay, seconds),
    ``samples_only`` (fit on readings with a new sample only), ``lying_label`` (the label whose
    probability :meth:`score_samples` returns), and ``random_state``.
    """

    def __init__(
        self,
        n_estimators: int = 100,
        min_samples_leaf: int = 2,
        max_depth: int | None = None,
        max_features: float | str = 0.3,
        rfid: bool = False,
        delay_s: float = 4.0,
        samples_only: bool = True,
        lying_label: Any = LYING,
        random_state: int | None = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.max_features = max_features
        self.rfid = rfid
        self.delay_s = delay_s
        self.samples_only = samples_only
        self.lying_label = lying_label
        self.random_state = random_state

    def _features(self, X: NDArray[Any]) -> NDArray[np.float32]:
        return posture_features(X, rfid=self.rfid, delay_s=self.delay_s)

    def training_rows(self, X: NDArray[Any]) -> NDArray[np.bool_]:
        """The readings :meth:`fit` learns from (all, or those with a new sample)."""
        return sample_rows(X) if self.samples_only else np.ones(len(X), dtype=bool)

    def fit(self, X: NDArray[Any], y: NDArray[Any]) -> Self:
        """Fit on raw readings ``X`` (:data:`RAW_COLUMNS`) and their labels."""
        labels = np.asarray(y)
        if len(labels) != len(X):
            raise ModelError(f"{len(X)} readings but {len(labels)} labels")
        if len(np.unique(labels)) < 2:
            raise ModelError("need at least two posture classes to fit")
        if self.delay_s < 0:
            raise ModelError("delay_s must be >= 0")
        keep = self.training_rows(X)
        return self.fit_features(self._features(X)[keep], labels[keep])

    def fit_features(self, features: NDArray[Any], y: NDArray[Any]) -> Self:
        """Fit on precomputed :func:`posture_features` rows (cross-validation reuses them).

        The caller picks the rows: :meth:`training_rows` says which ones :meth:`fit` uses.
        """
        self.forest_ = ExtraTreesClassifier(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            max_depth=self.max_depth,
            max_features=self.max_features,
            random_state=self.random_state,
            n_jobs=1,
        ).fit(features, np.asarray(y))
        self.classes_ = self.forest_.classes_
        self.feature_names_ = feature_names(rfid=self.rfid, delay_s=self.delay_s)
        return self

    def proba_features(self, features: NDArray[Any]) -> F64:
        """Class probabilities of precomputed feature rows."""
        check_is_fitted(self, "forest_")
        return np.asarray(self.forest_.predict_proba(features), dtype=float)

    def predict_proba(self, X: NDArray[Any]) -> F64:
        """Class probabilities, columns in :attr:`classes_` order."""
        check_is_fitted(self, "forest_")
        return self.proba_features(self._features(X))

    def predict(self, X: NDArray[Any]) -> NDArray[Any]:
        """The most probable label of each reading."""
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])

    def score_samples(self, X: NDArray[Any]) -> F64:
        """P(lying) per reading (0 if ``lying_label`` was not among the training labels)."""
        proba = self.predict_proba(X)
        hit = np.flatnonzero(self.classes_ == self.lying_label)
        return proba[:, int(hit[0])] if len(hit) else np.zeros(len(proba))
