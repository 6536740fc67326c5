"""Posture of an older adult from a chest-worn accelerometer, and inactivity on top of it.

**Posture** (:class:`PostureClassifier`): per reading, one of sitting on the bed, sitting on a
chair, lying, ambulating (the labels of the older adults' RFID wearable data set). A single
reading says little (sitting and standing tilt the chest alike), so each reading gets the
statistics of its own stream around it (:func:`posture_features`): means and SDs of the three
axes, of reading-to-reading change, of which reader antenna heard the tag and of RSSI, over
past windows of 2, 5, 15 and 60 s and, optionally, centred windows of ±2, ±5 and ±10 s. The
centred windows are smoothing: they delay the posture by 10 s, which nothing in careloop
notices (inactivity is judged over hours), and they see the stand-up that ends a sit. An
extremely randomised forest (seeded) then classifies.

Input rows are raw readings, columns :data:`RAW_COLUMNS`: a stream id (one wearer's session),
time in seconds, frontal/vertical/lateral acceleration in g, antenna id and RSSI. Antenna ids
are one-hot over ``antennas``: they say *where* the wearer is (by the bed, by the chair), so a
model is specific to a room's reader layout.

**careloop fields**: ADL labels map to the wire contract's ``posture`` (sitting on bed or chair
-> "sitting", lying -> "lying", ambulating -> "walking"; this data has no standing-still class)
and a rough ``activity`` in METs (:data:`ACTIVITY_MET`, Compendium-of-Physical-Activities
ballpark values, not measured here).

**Inactivity** (:class:`InactivityDetector`): streaming, per resident, over those fields: time
since the resident last moved, weighted by how rarely they lie down at that hour, plus a term
for lying at an hour they usually do not. Night sleep scores low because the resident's own
hour-of-day lying profile says it is usual.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.utils.validation import check_is_fitted

from models.base import ModelError, Observation, StreamingDetector

F64 = NDArray[np.float64]

#: Columns of the raw reading matrix every posture function takes.
RAW_COLUMNS = ("stream", "time_s", "frontal_g", "vertical_g", "lateral_g", "antenna", "rssi")
#: The data set's activity labels.
ADL_LABELS = {1: "sit_on_bed", 2: "sit_on_chair", 3: "lying", 4: "ambulating"}
#: ADL label -> careloop ``posture`` (careloop.wire.measures.POSTURES).
CARELOOP_POSTURE = {1: "sitting", 2: "sitting", 3: "lying", 4: "walking"}
#: careloop ``posture`` -> rough ``activity`` in METs (ballpark, not measured).
ACTIVITY_MET = {"lying": 1.0, "sitting": 1.3, "standing": 1.5, "walking": 2.5}
PAST_WINDOWS_S = (2.0, 5.0, 15.0, 60.0)
CENTRED_HALF_WIDTHS_S = (2.0, 5.0, 10.0)


def careloop_fields(label: int) -> dict[str, Any]:
    """The ``posture`` and ``activity`` careloop records for one ADL label."""
    posture = CARELOOP_POSTURE[int(label)]
    return {"posture": posture, "activity": ACTIVITY_MET[posture]}


def _window_stats(t: F64, values: F64, lo: float, hi: float) -> tuple[F64, F64, F64]:
    """Mean, SD and count of ``values`` rows with time in [t + lo, t + hi], for every t.

    ``t`` is sorted; prefix sums make it O(n log n) whatever the sampling irregularity.
    """
    start = np.searchsorted(t, t + lo, side="left")
    stop = np.searchsorted(t, t + hi, side="right")
    zero = np.zeros((1, values.shape[1]))
    s1 = np.vstack([zero, np.cumsum(values, axis=0)])
    s2 = np.vstack([zero, np.cumsum(values**2, axis=0)])
    count = (stop - start).astype(float)
    n = np.maximum(count, 1.0)[:, None]
    mean = (s1[stop] - s1[start]) / n
    var = (s2[stop] - s2[start]) / n - mean**2
    return mean, np.sqrt(np.maximum(var, 0.0)), count


def _stream_features(raw: F64, antennas: tuple[int, ...], centred: bool) -> F64:
    t, acc, antenna, rssi = raw[:, 1], raw[:, 2:5], raw[:, 5].astype(int), raw[:, 6]
    onehot = np.column_stack([(antenna == a).astype(float) for a in antennas])
    gap = np.minimum(np.diff(t, prepend=t[0] - 1.0), 30.0)
    change = np.abs(np.diff(acc, axis=0, prepend=acc[:1]))
    switched = np.r_[0.0, (antenna[1:] != antenna[:-1]).astype(float)]
    per_reading = np.column_stack([acc, onehot, rssi, change, switched])
    cols = [acc, onehot, rssi[:, None], gap[:, None]]
    windows = [(-w, 0.0) for w in PAST_WINDOWS_S]
    if centred:
        windows += [(-w, w) for w in CENTRED_HALF_WIDTHS_S]
    for lo, hi in windows:
        mean, sd, count = _window_stats(t, per_reading, lo, hi)
        cols += [mean, sd, count[:, None]]
    return np.hstack(cols)


def posture_features(
    raw: NDArray[Any], *, antennas: tuple[int, ...] = (1, 2, 3, 4), centred: bool = True
) -> NDArray[np.float32]:
    """Feature rows (same order as ``raw``) from raw readings with :data:`RAW_COLUMNS`.

    Windows never cross streams; within a stream, readings are taken in time order.
    """
    raw = np.asarray(raw, dtype=float)
    if raw.ndim != 2 or raw.shape[1] != len(RAW_COLUMNS):
        raise ModelError(f"raw readings need {len(RAW_COLUMNS)} columns {RAW_COLUMNS}")
    if not np.all(np.isfinite(raw)):
        raise ModelError("raw readings must be finite")
    order = np.lexsort((raw[:, 1], raw[:, 0]))
    ordered = raw[order]
    bounds = np.flatnonzero(np.diff(ordered[:, 0])) + 1
    parts = [
        _stream_features(chunk, antennas, centred)
        for chunk in np.split(ordered, bounds)
        if len(chunk)
    ]
    feats = np.vstack(parts)
    out = np.empty_like(feats)
    out[order] = feats
    return out.astype(np.float32)


class PostureClassifier(BaseEstimator, ClassifierMixin):
    """Raw wearable readings -> ADL posture; ``score_samples`` is P(``lying_label``).

    Parameters: ``n_estimators``, ``min_samples_leaf`` (the forest), ``centred`` (use the
    centred smoothing windows: 10 s delay), ``antennas`` (reader antenna ids to one-hot),
    ``lying_label`` (the label whose probability :meth:`score_samples` returns), and
    ``random_state``.
    """

    def __init__(
        self,
        n_estimators: int = 200,
        min_samples_leaf: int = 2,
        centred: bool = True,
        antennas: tuple[int, ...] = (1, 2, 3, 4),
        lying_label: Any = 3,
        random_state: int | None = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.centred = centred
        self.antennas = antennas
        self.lying_label = lying_label
        self.random_state = random_state

    def _features(self, X: NDArray[Any]) -> NDArray[np.float32]:
        return posture_features(X, antennas=self.antennas, centred=self.centred)

    def fit(self, X: NDArray[Any], y: NDArray[Any]) -> Self:
        """Fit on raw readings ``X`` (:data:`RAW_COLUMNS`) and their labels."""
        labels = np.asarray(y)
        if len(labels) != len(X):
            raise ModelError(f"{len(X)} readings but {len(labels)} labels")
        if len(np.unique(labels)) < 2:
            raise ModelError("need at least two posture classes to fit")
        self.forest_ = ExtraTreesClassifier(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            random_state=self.random_state,
            n_jobs=1,
        ).fit(self._features(X), labels)
        self.classes_ = self.forest_.classes_
        return self

    def predict_proba(self, X: NDArray[Any]) -> F64:
        """Class probabilities, columns in :attr:`classes_` order."""
        check_is_fitted(self, "forest_")
        return np.asarray(self.forest_.predict_proba(self._features(X)), dtype=float)

    def predict(self, X: NDArray[Any]) -> NDArray[Any]:
        """The most probable label of each reading."""
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])

    def score_samples(self, X: NDArray[Any]) -> F64:
        """P(lying) per reading (0 if ``lying_label`` was not among the training labels)."""
        proba = self.predict_proba(X)
        hit = np.flatnonzero(self.classes_ == self.lying_label)
        return proba[:, int(hit[0])] if len(hit) else np.zeros(len(proba))


_HOUR_MS = 3_600_000


class InactivityDetector(StreamingDetector):
    """Per resident: long stillness at hours they are usually up, and unusual lying.

    Observations carry ``ts`` (epoch ms) and careloop's ``posture``; ``steps`` > 0 or
    ``activity`` >= ``moving_met`` also count as moving. Score (higher = more concerning):
    ``(1 - p) * hours_still / still_limit_h + (1 - p if lying else 0)``, where ``p`` is the
    resident's smoothed share of readings lying at this local hour (``prior`` pseudo-readings
    at 0.5) and ``hours_still`` the time since the last movement.
    """

    def __init__(
        self,
        still_limit_h: float = 3.0,
        prior: float = 4.0,
        moving_met: float = 2.0,
        utc_offset_h: float = 0.0,
    ) -> None:
        self.still_limit_h = still_limit_h
        self.prior = prior
        self.moving_met = moving_met
        self.utc_offset_h = utc_offset_h
        if still_limit_h <= 0 or prior <= 0:
            raise ModelError("still_limit_h and prior must be > 0")
        self._lying = np.zeros(24)
        self._seen = np.zeros(24)
        self._last_move_ms: float | None = None

    def _hour(self, ts_ms: float) -> int:
        return int(((ts_ms / _HOUR_MS) + self.utc_offset_h) % 24)

    def _moving(self, x: Observation) -> bool:
        if x.get("posture") == "walking":
            return True
        steps, met = x.get("steps"), x.get("activity")
        return bool(
            (steps is not None and steps > 0) or (met is not None and met >= self.moving_met)
        )

    def lying_share(self, ts_ms: float) -> float:
        """The resident's smoothed share of readings lying at the local hour of ``ts_ms``."""
        h = self._hour(ts_ms)
        return float((self._lying[h] + 0.5 * self.prior) / (self._seen[h] + self.prior))

    def hours_still(self, x: Observation) -> float:
        """Hours since the last movement before ``x`` (0 if ``x`` moves or nothing seen yet)."""
        if self._moving(x) or self._last_move_ms is None:
            return 0.0
        return max(0.0, (float(x["ts"]) - self._last_move_ms) / _HOUR_MS)

    def score_one(self, x: Observation) -> float:
        """Stillness at an unusual hour plus unusual lying."""
        unusual = 1.0 - self.lying_share(float(x["ts"]))
        lying = unusual if x.get("posture") == "lying" else 0.0
        return unusual * self.hours_still(x) / self.still_limit_h + lying

    def learn_one(self, x: Observation) -> None:
        """Update the hour-of-day lying profile and the last movement time."""
        ts = float(x["ts"])
        h = self._hour(ts)
        self._seen[h] += 1
        self._lying[h] += x.get("posture") == "lying"
        if self._moving(x) or self._last_move_ms is None:
            self._last_move_ms = ts
