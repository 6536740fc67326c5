"""``careloop eval adl``: posture of older adults (66-86) from a chest-worn wearable.

Layout: ``S*_Dataset/`` folders (two rooms), one headerless CSV per trial: time (s),
frontal/vertical/lateral acceleration (g), antenna id, RSSI, phase, frequency, label (1 sit on
bed, 2 sit on chair, 3 lying, 4 ambulating). :class:`~models.posture.PostureClassifier` is
cross-validated with 5 folds **grouped by trial file** (stratified on labels, seeded): a trial's
readings are never on both sides. The files are anonymised per trial, not per person, so one
person's other trials may sit in the training folds. Phase and frequency are not used.

``n`` counts readings (every row of every trial file), ``trials`` the files. Per-reading
macro-F1 over the four labels, lying F1, per-class F1, the confusion matrix, and macro-F1 after
mapping to careloop's ``posture`` field (sitting / lying / walking). References on the same
folds: the same model with past windows only (no smoothing delay), and a nearest-centroid
classifier on the raw reading (standardised acceleration, antenna, RSSI).

``python -m models.evaluation.adl --data DIR --plot docs/evaluation/img`` also draws the
confusion matrix and one held-out trial's timeline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.progress import Progress
from sklearn.metrics import confusion_matrix, f1_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from careloop.errors import SettingsError
from models.evaluation.cli import plot_main, save_figure
from models.posture import ADL_LABELS, CARELOOP_POSTURE, PostureClassifier

FOLDS = 5
TARGET_MACRO_F1 = 0.90
LYING = 3


@dataclass
class AdlRun:
    summary: dict[str, Any]
    raw: NDArray[np.float64]
    y: NDArray[np.int_]
    predicted: NDArray[np.int_]
    files: list[str]


def read_trials(data: Path) -> tuple[NDArray[np.float64], NDArray[np.int_], list[str]]:
    """Raw readings (:data:`models.posture.RAW_COLUMNS`, stream = file index), labels, names."""
    paths = sorted(
        p for p in data.glob("S*_Dataset/*") if p.is_file() and p.suffix.lower() != ".txt"
    )
    if not paths:
        raise SettingsError("data", f"no trial files under {data}/S*_Dataset/")
    raws, labels, names = [], [], []
    for i, path in enumerate(paths):
        table = np.loadtxt(path, delimiter=",", ndmin=2)
        if table.shape[1] != 9:
            raise SettingsError("data", f"{path}: expected 9 columns, found {table.shape[1]}")
        stream = np.full((len(table), 1), float(i))
        raws.append(np.hstack([stream, table[:, :6]]))
        labels.append(table[:, 8].astype(int))
        names.append(f"{path.parent.name}/{path.name}")
    return np.vstack(raws), np.concatenate(labels), names


def _f1s(y: NDArray[np.int_], pred: NDArray[np.int_]) -> dict[str, float]:
    per = f1_score(y, pred, labels=sorted(ADL_LABELS), average=None, zero_division=0)
    return {ADL_LABELS[k]: round(float(v), 4) for k, v in zip(sorted(ADL_LABELS), per, strict=True)}


def _careloop_macro_f1(y: NDArray[np.int_], pred: NDArray[np.int_]) -> float:
    to = np.vectorize(CARELOOP_POSTURE.__getitem__)
    return float(f1_score(to(y), to(pred), average="macro"))


def run(data: Path, *, seed: int, progress: bool) -> AdlRun:
    """Grouped cross-validation of the posture model and its references."""
    started = time.monotonic()
    raw, y, files = read_trials(data)
    groups = raw[:, 0].astype(int)
    cv = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
    splits = list(cv.split(raw, y, groups))
    pred = np.zeros_like(y)
    past_only = np.zeros_like(y)
    centroid = np.zeros_like(y)
    with threadpool_limits(1), Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("adl: cross-validating", total=FOLDS)
        for train, test in splits:
            model = PostureClassifier(random_state=seed).fit(raw[train], y[train])
            pred[test] = model.predict(raw[test])
            past = PostureClassifier(centred=False, random_state=seed).fit(raw[train], y[train])
            past_only[test] = past.predict(raw[test])
            # nearest centroid on the single reading: acceleration, antenna id, RSSI
            nc = make_pipeline(StandardScaler(), NearestCentroid())
            centroid[test] = nc.fit(raw[train, 2:7], y[train]).predict(raw[test, 2:7])
            bar.advance(task)

    summary: dict[str, Any] = {
        "task": "adl",
        "macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
        "lying_f1": _f1s(y, pred)["lying"],
        "n": len(y),
        "trials": len(files),
        "f1": _f1s(y, pred),
        "careloop_posture_macro_f1": round(_careloop_macro_f1(y, pred), 4),
        "confusion": {
            "labels": [ADL_LABELS[k] for k in sorted(ADL_LABELS)],
            "rows_true_cols_predicted": confusion_matrix(y, pred, labels=sorted(ADL_LABELS))
            .astype(int)
            .tolist(),
        },
        "target_macro_f1": TARGET_MACRO_F1,
        "references": {
            "past_windows_only": {
                "macro_f1": round(float(f1_score(y, past_only, average="macro")), 4),
                "f1": _f1s(y, past_only),
            },
            "nearest_centroid": {
                "macro_f1": round(float(f1_score(y, centroid, average="macro")), 4),
                "f1": _f1s(y, centroid),
            },
        },
        "labels": {str(k): int((y == k).sum()) for k in sorted(ADL_LABELS)},
        "cv": f"{FOLDS}-fold grouped by trial file, stratified, seed {seed}; n = readings",
        "model": "extra trees (200, min leaf 2) on past 2/5/15/60 s + centred ±2/5/10 s windows",
        "seconds": round(time.monotonic() - started, 1),
    }
    return AdlRun(summary, raw, y, pred, files)


def evaluate(data: Path, *, seed: int, progress: bool) -> dict[str, Any]:
    """``careloop eval adl``: the summary of :func:`run`."""
    return run(data, seed=seed, progress=progress).summary


def plot(result: AdlRun, path: Path) -> None:
    """Row-normalised confusion matrix and the timeline of the longest held-out trial."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted(ADL_LABELS)
    names = [ADL_LABELS[k].replace("_", " ") for k in labels]
    cm = confusion_matrix(result.y, result.predicted, labels=labels).astype(float)
    cm /= np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(10.0, 4.0), dpi=100, gridspec_kw={"width_ratios": [1, 1.6]}
    )
    left.imshow(cm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            colour = "white" if cm[i, j] > 0.6 else "black"
            left.text(j, i, f"{cm[i, j]:.2f}", ha="center", va="center", fontsize=8, color=colour)
    left.set_xticks(range(len(labels)), names, rotation=30, fontsize=8)
    left.set_yticks(range(len(labels)), names, fontsize=8)
    left.set(xlabel="predicted", ylabel="true")
    left.set_title("out-of-fold, row-normalised", fontsize=10)

    stream = result.raw[:, 0].astype(int)
    longest = int(np.bincount(stream).argmax())
    rows = stream == longest
    t = result.raw[rows, 1]
    right.step(t, result.y[rows], where="post", lw=2.2, alpha=0.5, label="true")
    right.step(t, result.predicted[rows], where="post", lw=1.0, color="k", label="predicted")
    right.set_yticks(labels, names, fontsize=8)
    right.set(xlabel="time in trial (s)")
    right.set_title(f"held-out trial {result.files[longest]}", fontsize=10)
    right.legend(fontsize=8, loc="upper right")
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation, print its JSON, and optionally write the plot."""
    return plot_main(
        __doc__,
        run,
        plot,
        filename="adl_posture.png",
        data_help="folder with S1_Dataset, S2_Dataset",
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
