"""Train the deterioration-risk model that ``careloop score`` ships, from PhysioNet 2012 stays.

``python -m models.evaluation.icu_train --data DIR --out models/artifacts/icu_risk_v1.json``

1. Each stay is replayed as one resident's readings (:mod:`models.evaluation.icu_replay`:
   vitals and consciousness only, what a terminal sends) through the runtime's own summary
   code (:func:`models.runtime.riskfeatures.update`), vectorised over stays.
2. The features (:func:`models.runtime.riskfeatures.features`) are taken every
   :data:`SNAPSHOT_HOURS` (6, 12, ... 48 h after admission), each row labelled with the
   stay's in-hospital death: the runtime scores a resident at every hour of the stay, so
   the model must rank early rows as well as late ones.
3. A logistic regression (:class:`RiskLogistic`): missing features imputed with the
   training median (no missing-value indicators: *whether* the ICU charted breathing or
   drew a blood gas says something about ICU practice, nothing about a care home),
   standardised, L2 (C = :data:`LOGISTIC_C`). The "high risk" threshold is the
   :data:`THRESHOLD_QUANTILE` quantile of the training rows' risks.

The result is a :class:`~models.runtime.riskmodel.RiskModel`, written as JSON. ``careloop
eval icu-runtime`` cross-fits exactly this function (:func:`fit_risk_model`) fold by fold.
Choices (time constants, hold and warm-up, C, inputs) were made by stay-level
cross-validation; docs/evaluation/icu.md lists what was tried.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from careloop.errors import SettingsError
from models.evaluation.icu_replay import FIELD_OF, Replay, replay
from models.features.icu import Stay, read_outcomes, read_stays
from models.runtime import riskfeatures as rf
from models.runtime.riskmodel import RiskModel

F64 = NDArray[np.float64]

SNAPSHOT_HOURS: tuple[int, ...] = (6, 12, 18, 24, 30, 36, 42, 48)
LOGISTIC_C = 0.05
THRESHOLD_QUANTILE = 0.8
MODEL_NAME = "icu_deterioration_v1"
#: Inputs: every followed vital, or without consciousness (the "vitals only" ablation).
INPUTS: dict[str, tuple[str, ...]] = {
    "vitals+consciousness": tuple(FIELD_OF),
    "vitals": tuple(s for s in FIELD_OF if s != "gcs"),
}
ABOUT = {
    "data": "PhysioNet/CinC Challenge 2012, set A: first 48 h of adult ICU stays, "
    "label in-hospital death",
    "licence": "ODC-By 1.0",
    "citation": "Silva, Moody, Scott, Celi & Mark (2012), Comput Cardiol 39:245-248; "
    "Goldberger et al. (2000), Circulation 101:e215",
    "command": "python -m models.evaluation.icu_train --data DIR --out FILE",
}
_MS_PER_MIN = 60_000


#: The summaries the model reads, per vital: the recent level, its change against the last
#: day, the spread and the chart-hours; and the shock index. Chosen by cross-validation over
#: the whole catalogue (58 features, with latest readings and running extremes): as good
#: (0.771 vs 0.770 and 0.767 vs 0.766, fold seeds 1 and 2) with half the features and far
#: fewer near-copies pulling against each other in the explanations.
MODEL_STATS = ("_fast", "_trend", "_sd", "_burden")


def feature_names(inputs: str) -> tuple[str, ...]:
    """The model's features for ``inputs`` (a key of :data:`INPUTS`)."""
    chosen = tuple(f for f in rf.FEATURES if f.endswith(MODEL_STATS) or f.startswith("shock"))
    if inputs == "vitals":
        return tuple(f for f in chosen if rf.FEATURE_VITAL[f] != "consciousness")
    return chosen


def snapshots(rep: Replay, n: int, hours: tuple[int, ...] = SNAPSHOT_HOURS) -> F64:
    """Features of every stay at each of ``hours`` after admission: (len(hours), n, features),
    NaN rows for stays with no reading yet. Readings are folded in minute by minute with
    the runtime's :func:`~models.runtime.riskfeatures.update`."""
    summary = np.full((n, len(rf.STATS), len(rf.VITALS)), np.nan, dtype=np.float32)
    seen = np.zeros((n, len(rf.VITALS)), dtype=np.int64)
    out = np.full((len(hours), n, len(rf.FEATURES)), np.nan)
    ts, x = rep.ts(0), rf.readings(rep.x)
    bounds = np.r_[0, np.nonzero(np.diff(rep.minute))[0] + 1, len(rep)]
    k = 0
    for lo, hi in itertools.pairwise(bounds):
        while k < len(hours) and rep.minute[lo] > hours[k] * 60:
            out[k] = _features(summary, seen)
            k += 1
        r = rep.stay[lo:hi]  # one reading per stay and minute
        summary[r], seen[r] = rf.update(summary[r], seen[r], x[lo:hi], ts[lo:hi])
    for j in range(k, len(hours)):
        out[j] = _features(summary, seen)
    return out


def _features(summary: NDArray[np.float32], seen: NDArray[np.int64]) -> F64:
    X = rf.features(summary, seen)
    X[(seen == 0).all(axis=1)] = np.nan
    return X


class RiskLogistic(BaseEstimator):
    """The risk model's estimator: rows of :data:`~models.runtime.riskfeatures.FEATURES` in,
    a :class:`~models.runtime.riskmodel.RiskModel` (``model_``) out.

    Median imputation (no missing-value indicators), standardisation, L2 logistic
    regression on ``features``; ``threshold_`` is the ``threshold_quantile`` quantile of the
    training rows' risks. ``score_samples`` is the risk (higher = more at risk).
    """

    def __init__(
        self,
        features: tuple[str, ...] = rf.FEATURES,
        C: float = LOGISTIC_C,
        threshold_quantile: float = THRESHOLD_QUANTILE,
        seed: int = 0,
    ) -> None:
        self.features = features
        self.C = C
        self.threshold_quantile = threshold_quantile
        self.seed = seed

    def fit(self, X: F64, y: NDArray[np.int_]) -> RiskLogistic:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(rf.FEATURES) or len(X) != len(y):
            raise ValueError(f"X must be (n, {len(rf.FEATURES)}) rows of FEATURES, y (n,)")
        unknown = set(self.features) - set(rf.FEATURES)
        if unknown or not 0.0 < self.threshold_quantile < 1.0:
            raise ValueError(f"bad features {sorted(unknown)} or threshold_quantile")
        x = X[:, [rf.FEATURES.index(f) for f in self.features]]
        empty = np.isnan(x).all(axis=0)
        impute = np.nanmedian(np.where(empty, 0.0, x), axis=0)
        x = np.where(np.isnan(x), impute, x)
        center, scale = x.mean(axis=0), x.std(axis=0)
        scale = np.where(scale > 1e-9, scale, 1.0)
        with threadpool_limits(1):
            lr = LogisticRegression(C=self.C, max_iter=5000, random_state=self.seed)
            lr.fit((x - center) / scale, y)
        model = RiskModel(
            name=MODEL_NAME,
            features=tuple(self.features),
            impute=_rounded(impute),
            center=_rounded(center),
            scale=_rounded(scale),
            coef=_rounded(lr.coef_[0]),
            intercept=float(_rounded(lr.intercept_)[0]),
            threshold=0.5,
        )
        risk = model.predict(X)
        self.threshold_ = float(_rounded(np.quantile(risk, [self.threshold_quantile]))[0])
        self.model_ = replace(model, threshold=self.threshold_)
        return self

    def score_samples(self, X: F64) -> F64:
        """Risk (0-1) of each row."""
        return self.model_.predict(np.asarray(X, dtype=np.float64))


def _rounded(a: Any) -> F64:
    """Seven significant digits: the file stays small and reads back exactly."""
    return np.array([float(f"{v:.7g}") for v in np.asarray(a, dtype=np.float64)])


def fit_risk_model(
    X3: F64,
    y: NDArray[np.int_],
    *,
    features: tuple[str, ...] = rf.FEATURES,
    seed: int = 0,
    about: dict[str, Any] | None = None,
) -> RiskModel:
    """Fit on snapshot rows ``X3`` (snapshots, stays, :data:`FEATURES`) and labels per stay;
    rows of stays with no reading yet are left out."""
    X = X3.reshape(-1, X3.shape[-1])
    yy = np.tile(y, X3.shape[0])
    keep = ~np.isnan(X).all(axis=1)
    est = RiskLogistic(features, seed=seed).fit(X[keep], yy[keep])
    return replace(est.model_, about=dict(about or {}))


def load(data: Path) -> tuple[list[Stay], NDArray[np.int_]]:
    """Stays of ``data`` with an outcome (vitals and consciousness only), and their deaths."""
    series, outcomes = data / "timeseries_long.csv.gz", data / "outcomes.csv"
    for path in (series, outcomes):
        if not path.is_file():
            raise SettingsError("data", f"{path} not found (PhysioNet 2012 layout expected)")
    labels = read_outcomes(outcomes)
    stays = [s for s in read_stays(series) if s.record_id in labels]
    y = np.array([labels[s.record_id][0] for s in stays], dtype=np.int_)
    return stays, y


def train(data: Path, *, inputs: str = "vitals+consciousness", seed: int = 0) -> RiskModel:
    """The shipped model: fitted on every stay of ``data``."""
    stays, y = load(data)
    X3 = snapshots(replay(stays, series=INPUTS[inputs]), len(y))
    about = {
        **ABOUT,
        "inputs": [FIELD_OF[s] for s in INPUTS[inputs]],
        "stays": len(y),
        "deaths": int(y.sum()),
        "snapshot_hours": list(SNAPSHOT_HOURS),
        "logistic_c": LOGISTIC_C,
        "threshold_quantile": THRESHOLD_QUANTILE,
        "seed": seed,
    }
    return fit_risk_model(X3, y, features=feature_names(inputs), seed=seed, about=about)


def main(argv: list[str] | None = None) -> int:
    """Train, write the model file, print a JSON summary."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="PhysioNet 2012 folder")
    p.add_argument("--out", type=Path, required=True, help="model file to write (JSON)")
    p.add_argument("--inputs", choices=sorted(INPUTS), default="vitals+consciousness")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    started = time.monotonic()
    try:
        model = train(args.data, inputs=args.inputs, seed=args.seed)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = model.save(args.out)
    summary = {
        "out": str(args.out),
        "bytes": size,
        "model": model.name,
        "features": len(model.features),
        "threshold": round(model.threshold, 4),
        "stays": model.about["stays"],
        "deaths": model.about["deaths"],
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
