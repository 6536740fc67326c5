"""Generic-suite case for the deterioration-risk estimator (``models.evaluation.icu_train``):
seeded rows of the runtime's risk features in which the risk follows pulse, breathing, SpO2
and consciousness, with a third of the values missing as in a sparse chart."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from models.evaluation.icu_train import RiskLogistic
from models.runtime import riskfeatures as rf
from tests.models.checks import Case

_SIGNAL = {"hr_fast": 1.2, "rr_hi": 1.0, "spo2_lo": -1.0, "acvpu_burden": 1.5}


def risk_rows(seed: int, n: int = 600) -> tuple[NDArray[np.float64], NDArray[np.int_]]:
    """(rows of FEATURES, outcome) with the outcome drawn from a logistic of four features."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(rf.FEATURES)))
    logit = -1.5 + sum(w * X[:, rf.FEATURES.index(f)] for f, w in _SIGNAL.items())
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int_)
    X[rng.random(X.shape) < 0.3] = np.nan
    return X, y


CASES = [
    Case(
        name="icu_risk_logistic",
        kind="batch",
        make=lambda seed: RiskLogistic(seed=seed),
        data=risk_rows,
        min_auroc=0.75,
    ),
]
