"""``careloop eval icu``: risk of in-hospital death from vital signs and consciousness only.

PhysioNet/CinC 2012 (set A layout): the first 48 h of adult ICU stays. Only heart rate,
respiration rate, temperature, systolic/diastolic/mean blood pressure (invasive and not),
SaO2 and GCS are read (:data:`models.features.icu.PARAMETERS`); no labs, urine, FiO2,
ventilation, demographics or admission scores. One row per stay (RecordID = patient), a
soft-voting ensemble of a regularised logistic regression and a small gradient-boosted tree
model, stratified 5-fold cross-validation with a seed, out-of-fold probabilities ->
AUROC (with a bootstrap 95 % interval) and AUPRC.

References on exactly the same stays, never features: SAPS-I from ``outcomes.csv`` (uses labs,
age and ventilation) where recorded; the worst-value NEWS2-like score (sum over parameters of
each one's worst chart score in 48 h); and the same model without measurement-count features
("values only", since how often a series was charted, e.g. whether breathing was charted at
all, partly stands in for ventilation).

``python -m models.evaluation.icu --data DIR --plot docs/evaluation/img`` also draws the ROC
plot of the docs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.progress import Progress
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from careloop.errors import SettingsError
from models.evaluation.cli import plot_main, save_figure
from models.features.icu import (
    MEASUREMENT_FEATURES,
    PARAMETERS,
    SERIES,
    feature_matrix,
    read_outcomes,
    read_stays,
)

F64 = NDArray[np.float64]
TARGET_AUROC = 0.80
FOLDS = 5


def make_model(seed: int, *, indicators: bool = True) -> Pipeline:
    """The estimator: impute (with missing indicators), scale, soft-vote LR and boosted trees.

    ``indicators=False`` imputes medians without saying what was missing (values-only runs).
    """
    linear = Pipeline(
        [
            ("scale", StandardScaler()),
            ("logistic", LogisticRegression(C=0.03, max_iter=3000)),
        ]
    )
    trees = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=150,
        max_leaf_nodes=8,
        min_samples_leaf=40,
        l2_regularization=1.0,
        random_state=seed,
    )
    return Pipeline(
        [
            (
                "impute",
                SimpleImputer(
                    strategy="median", add_indicator=indicators, keep_empty_features=True
                ),
            ),
            ("vote", VotingClassifier([("linear", linear), ("trees", trees)], voting="soft")),
        ]
    )


def out_of_fold(
    model: BaseEstimator,
    X: F64,
    y: NDArray[np.int_],
    *,
    seed: int,
    progress: Callable[[], None] | None = None,
) -> F64:
    """Out-of-fold probabilities of death from stratified K-fold CV (one row per patient)."""
    pred = np.full(len(y), np.nan)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(X, y):
        fitted = clone(model).fit(X[train], y[train])
        pred[test] = fitted.predict_proba(X[test])[:, 1]
        if progress is not None:
            progress()
    return pred


def rank_auroc(y: NDArray[np.int_], p: F64) -> float:
    """AUROC as the Mann-Whitney statistic (ties count half): roc_auc_score, but fast."""
    ranks = rankdata(p)
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def bootstrap_auroc(y: NDArray[np.int_], p: F64, *, seed: int, n: int = 1000) -> list[float]:
    """A percentile 95 % interval of the AUROC over stays resampled with replacement."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        if 0 < y[idx].sum() < len(idx):
            values.append(rank_auroc(y[idx], p[idx]))
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [round(float(lo), 3), round(float(hi), 3)]


def operating_point(y: NDArray[np.int_], p: F64, share: float) -> dict[str, float]:
    """Sensitivity and PPV when the ``share`` of stays with the highest risk are flagged."""
    flagged = p >= np.quantile(p, 1.0 - share)
    hits = int((flagged & (y == 1)).sum())
    return {
        "sensitivity": round(hits / max(int(y.sum()), 1), 3),
        "ppv": round(hits / max(int(flagged.sum()), 1), 3),
    }


def _metrics(y: NDArray[np.int_], score: F64) -> dict[str, Any]:
    ok = ~np.isnan(score)
    return {
        "auroc": round(float(roc_auc_score(y[ok], score[ok])), 4),
        "auprc": round(float(average_precision_score(y[ok], score[ok])), 4),
        "n": int(ok.sum()),
    }


@dataclass(frozen=True)
class IcuRun:
    """Everything one evaluation computed: the JSON summary and the curves' raw scores."""

    summary: dict[str, Any]
    y: NDArray[np.int_]
    scores: dict[str, F64]


def run(data: Path, *, seed: int, progress: bool) -> IcuRun:
    """Read ``data``, build features, cross-validate; see the module docstring."""
    series, outcomes = data / "timeseries_long.csv.gz", data / "outcomes.csv"
    for path in (series, outcomes):
        if not path.is_file():
            raise SettingsError("data", f"{path} not found (PhysioNet 2012 layout expected)")
    started = time.monotonic()
    labels = read_outcomes(outcomes)
    stays = [s for s in read_stays(series) if s.record_id in labels]
    y = np.array([labels[s.record_id][0] for s in stays], dtype=np.int_)
    saps = np.array([labels[s.record_id][1] for s in stays], dtype=np.float64)
    X, names = feature_matrix(stays)
    values_only = [i for i, k in enumerate(names) if not k.endswith(MEASUREMENT_FEATURES)]
    no_gcs = [i for i, k in enumerate(names) if not k.startswith("gcs_")]

    # One thread: the folds are small, and OpenMP threads spinning on a shared machine
    # cost far more than they save.
    with threadpool_limits(1), Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("icu: cross-validating", total=3 * FOLDS)

        def step() -> None:
            bar.advance(task)

        model = make_model(seed)
        full = out_of_fold(model, X, y, seed=seed, progress=step)
        blind = make_model(seed, indicators=False)
        ablation = out_of_fold(blind, X[:, values_only], y, seed=seed, progress=step)
        without_gcs = out_of_fold(model, X[:, no_gcs], y, seed=seed, progress=step)
    news2_worst = X[:, names.index("news2_worst_sum")]

    summary: dict[str, Any] = {
        "task": "icu",
        **_metrics(y, full),
        "auroc_ci95": bootstrap_auroc(y, full, seed=seed),
        "target_auroc": TARGET_AUROC,
        "positives": int(y.sum()),
        "parameters": sorted(PARAMETERS),
        "features": len(names),
        "model": "impute(median, indicators) -> soft vote(LR C=0.03, HistGB 150x8 leaves)",
        "cv": f"stratified {FOLDS}-fold by stay, seed {seed}",
        "references": {
            "saps_i": _metrics(y, saps),
            "worst_news2": _metrics(y, news2_worst),
            "values_only": {**_metrics(y, ablation), "features": len(values_only)},
            "no_gcs": {**_metrics(y, without_gcs), "features": len(no_gcs)},
        },
        "alerting": {f"top_{q}pct": operating_point(y, full, q / 100) for q in (10, 20, 30)},
        "coverage": {
            name: round(float(np.mean(X[:, names.index(f"{name}_present")])), 3) for name in SERIES
        },
        "seconds": round(time.monotonic() - started, 1),
    }
    scores = {
        "model": full,
        "values_only": ablation,
        "no_gcs": without_gcs,
        "saps_i": saps,
        "worst_news2": news2_worst,
    }
    return IcuRun(summary, y, scores)


def evaluate(data: Path, *, seed: int, progress: bool) -> dict[str, Any]:
    """``careloop eval icu``: the summary of :func:`run`."""
    return run(data, seed=seed, progress=progress).summary


_LABELS = {
    "model": "vitals + GCS model",
    "values_only": "same, values only (no counts)",
    "no_gcs": "same, without GCS",
    "saps_i": "SAPS-I (uses labs; reference)",
    "worst_news2": "worst-value NEWS2 sum",
}


def plot_roc(result: IcuRun, path: Path) -> None:
    """ROC curves of the model and the references, with each one's AUROC and n."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 5.0), dpi=100)
    for key, label in _LABELS.items():
        score = result.scores[key]
        ok = ~np.isnan(score)
        fpr, tpr, _ = roc_curve(result.y[ok], score[ok])
        auc = roc_auc_score(result.y[ok], score[ok])
        ax.plot(fpr, tpr, lw=1.6, label=f"{label}: {auc:.3f} (n={int(ok.sum())})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", xlim=(0, 1), ylim=(0, 1))
    ax.set_title("In-hospital death, first 48 h (out-of-fold)", fontsize=10)
    ax.legend(loc="lower right", fontsize=7.5, title="AUROC", title_fontsize=8)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation, print its JSON, and optionally write the plot."""
    return plot_main(
        __doc__, run, plot_roc, filename="icu_roc.png", data_help="PhysioNet 2012 folder", argv=argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
