"""``careloop eval adl``: posture of older adults (66-86) from a chest-worn wearable.

Data: every trial file under ``S*_Dataset/`` (:func:`models.posture.data.read_trials`; two
rooms, file names end in the wearer's gender). The model is the shipped one:
:class:`~models.posture.PostureClassifier` on features of the acceleration alone (what a
device sends) at ``t`` and at ``t + delay_s`` (the answer comes that late; 4 s), fitted on the
readings that bring a new sample, with the parameters of
:data:`models.posture.__main__.SHIPPED_PARAMS`. Three cross-validations, none of which ever
scores a row of a trial it trained on:

* ``trials``: 5 folds grouped by trial file (stratified on labels, seeded). The files are
  anonymised per trial, so one person's other trials may sit in the training folds;
* ``people``: leave one gender out (2 folds). Train on the women, score the men, and back: the
  only split the files allow that certainly keeps every person on one side;
* ``rooms``: leave one room out (2 folds): a new room, its own reader and furniture.

The headline (``macro_f1``, ``lying_f1``, ``ambulating_f1``) is ``trials``; ``in_sample``
(fit and score on everything) is beside it to show the gap. References on the same folds: the
previous shipped model (strictly causal, fitted on every reading), the same forest with the
RFID read features added (antenna switches, RSSI and phase changes: this
data set's reader only), and a nearest-centroid floor on the single reading. ``walks`` counts
ambulating episodes of at least 1 s with at least one reading called ambulating, and false
walks (predicted runs with no true ambulating reading) per hour. ``runtime`` times
:func:`models.posture.window.classify_window` on 60 s windows with the fitted model loaded from
its artefact.

``python -m models.evaluation.adl --data DIR --plot docs/evaluation/img`` also draws the
confusion matrix and one held-out trial's timeline.
"""

from __future__ import annotations

import tempfile
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

from models.evaluation.cli import plot_main, save_figure
from models.posture import (
    ADL_LABELS,
    AMBULATING,
    CARELOOP_POSTURE,
    LYING,
    PostureClassifier,
    posture_features,
)
from models.posture.__main__ import SHIPPED_PARAMS
from models.posture.artifact import load_posture_model, save_artifact
from models.posture.data import Trials, read_trials
from models.posture.features import distinct_samples
from models.posture.window import classify_window

FOLDS = 5
TARGET_MACRO_F1 = 0.90
TARGET_AMBULATING_F1 = 0.85
SCHEMES = ("trials", "people", "rooms")
#: The model shipped before the delay: causal, square-root column draws, fitted on every reading.
PREVIOUS_PARAMS: dict[str, Any] = {
    "n_estimators": 100,
    "min_samples_leaf": 2,
    "max_features": "sqrt",
    "delay_s": 0.0,
    "samples_only": False,
}
Split = tuple[NDArray[np.intp], NDArray[np.intp]]


@dataclass
class AdlRun:
    summary: dict[str, Any]
    raw: NDArray[np.float64]
    y: NDArray[np.int_]
    predicted: NDArray[np.int_]
    files: list[str]


def splits(trials: Trials, scheme: str, seed: int) -> list[Split]:
    """Train/test row indices of one cross-validation scheme (see the module docstring)."""
    stream = trials.stream
    if scheme == "trials":
        cv = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
        return list(cv.split(trials.raw, trials.y, stream))
    per_file = {"people": trials.genders, "rooms": trials.rooms}[scheme]
    group = np.asarray(per_file)[stream]
    return [(np.flatnonzero(group != g), np.flatnonzero(group == g)) for g in sorted(set(group))]


def _f1s(y: NDArray[np.int_], pred: NDArray[np.int_]) -> dict[str, float]:
    per = f1_score(y, pred, labels=sorted(ADL_LABELS), average=None, zero_division=0)
    return {ADL_LABELS[k]: round(float(v), 4) for k, v in zip(sorted(ADL_LABELS), per, strict=True)}


def _scores(y: NDArray[np.int_], pred: NDArray[np.int_]) -> dict[str, Any]:
    to = np.vectorize(CARELOOP_POSTURE.__getitem__)
    return {
        "macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
        "f1": _f1s(y, pred),
        "careloop_posture_macro_f1": round(float(f1_score(to(y), to(pred), average="macro")), 4),
    }


def _runs(flag: NDArray[np.bool_]) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.r_[0, flag.astype(int), 0]))
    return list(zip(edges[::2], edges[1::2], strict=True))


def walk_episodes(raw: NDArray[np.float64], y: NDArray[Any], pred: NDArray[Any]) -> dict[str, Any]:
    """Ambulating episodes (>= 1 s) seen, and predicted walks with no true walking, per hour."""
    seen = total = false = 0
    hours = 0.0
    for s in np.unique(raw[:, 0]):
        rows = np.flatnonzero(raw[:, 0] == s)
        rows = rows[np.argsort(raw[rows, 1], kind="stable")]
        t, truth, called = raw[rows, 1], y[rows] == AMBULATING, pred[rows] == AMBULATING
        hours += (t[-1] - t[0]) / 3600.0
        for a, b in _runs(truth):
            if t[b - 1] - t[a] >= 1.0:
                total += 1
                seen += bool(called[a:b].any())
        false += sum(1 for a, b in _runs(called) if not truth[a:b].any())
    return {
        "episodes": total,
        "seen": seen,
        "share_seen": round(seen / max(total, 1), 4),
        "false_walks_per_hour": round(false / max(hours, 1e-9), 2),
    }


def _cross_validate(
    raw: NDArray[np.float64],
    feats: NDArray[np.float32],
    y: NDArray[np.int_],
    folds: list[Split],
    params: dict[str, Any],
) -> NDArray[np.int_]:
    pred = np.zeros_like(y)
    keep = PostureClassifier(**params).training_rows(raw)
    for train, test in folds:
        fit_rows = train[keep[train]]
        model = PostureClassifier(**params).fit_features(feats[fit_rows], y[fit_rows])
        pred[test] = model.classes_[np.argmax(model.proba_features(feats[test]), axis=1)]
    return pred


def _runtime_cost(model: PostureClassifier, trials: Trials) -> dict[str, Any]:
    """Milliseconds per 60 s window through the artefact, and the artefact's size."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "posture.npz"
        save_artifact(model, path)
        loaded = load_posture_model(path)
        size = path.stat().st_size
    raw = trials.raw[trials.raw[:, 0] == np.bincount(trials.stream).argmax()]
    # what a device sends: its samples, not the reader's repeats of them
    t_s, acc = distinct_samples(raw[:, 1], raw[:, 2:5])
    t_ms = t_s * 1000.0
    ends = np.linspace(60_000, t_ms[-1], 40)
    windows = [(t_ms >= e - 60_000) & (t_ms <= e) for e in ends]
    started = time.perf_counter()
    for w in windows:
        classify_window(t_ms[w], acc[w], model=loaded)
    per = (time.perf_counter() - started) * 1000.0 / len(windows)
    return {"ms_per_window": round(per, 2), "artefact_bytes": size, "nodes": loaded.n_nodes}


def run(data: Path, *, seed: int, progress: bool) -> AdlRun:
    """Grouped cross-validations of the shipped posture model and its references."""
    started = time.monotonic()
    trials = read_trials(data)
    raw, y = trials.raw, trials.y
    params = {**SHIPPED_PARAMS, "random_state": seed}
    rfid_params = {**params, "rfid": True}
    causal_params = {**PREVIOUS_PARAMS, "random_state": seed}
    delay = float(params["delay_s"])
    folds = {s: splits(trials, s, seed) for s in SCHEMES}
    cv: dict[str, Any] = {}
    with threadpool_limits(1), Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("adl: cross-validating", total=3 * len(SCHEMES) + 2)
        motion = posture_features(raw, delay_s=delay)
        with_rfid = posture_features(raw, rfid=True, delay_s=delay)
        causal = posture_features(raw)
        keep = PostureClassifier(**params).training_rows(raw)
        full = PostureClassifier(**params).fit_features(motion[keep], y[keep])
        in_sample = full.classes_[np.argmax(full.proba_features(motion), axis=1)]
        runtime = _runtime_cost(full, trials)
        bar.advance(task)
        preds = {}
        for scheme in SCHEMES:
            preds[scheme] = _cross_validate(raw, motion, y, folds[scheme], params)
            cv[scheme] = _scores(y, preds[scheme])
            bar.advance(task)
        rfid_cv = {}
        for scheme in SCHEMES:
            rfid_pred = _cross_validate(raw, with_rfid, y, folds[scheme], rfid_params)
            rfid_cv[scheme] = _scores(y, rfid_pred)
            bar.advance(task)
        causal_cv = {}
        for scheme in SCHEMES:
            causal_pred = _cross_validate(raw, causal, y, folds[scheme], causal_params)
            causal_cv[scheme] = _scores(y, causal_pred)
            if scheme == "trials":
                causal_cv["walks"] = walk_episodes(raw, y, causal_pred)
            bar.advance(task)
        centroid = np.zeros_like(y)
        for train, test in folds["trials"]:
            # nearest centroid on the single reading: acceleration, antenna id, RSSI
            nc = make_pipeline(StandardScaler(), NearestCentroid())
            centroid[test] = nc.fit(raw[train, 2:7], y[train]).predict(raw[test, 2:7])
        bar.advance(task)

    pred = preds["trials"]
    head = cv["trials"]
    summary: dict[str, Any] = {
        "task": "adl",
        "macro_f1": head["macro_f1"],
        "lying_f1": head["f1"][ADL_LABELS[LYING]],
        "ambulating_f1": head["f1"][ADL_LABELS[AMBULATING]],
        "n": len(y),
        "trials": len(trials.names),
        "cv": cv,
        "in_sample": _scores(y, in_sample),
        "walks": walk_episodes(raw, y, pred),
        "confusion": {
            "labels": [ADL_LABELS[k] for k in sorted(ADL_LABELS)],
            "rows_true_cols_predicted": confusion_matrix(y, pred, labels=sorted(ADL_LABELS))
            .astype(int)
            .tolist(),
        },
        "target_macro_f1": TARGET_MACRO_F1,
        "target_ambulating_f1": TARGET_AMBULATING_F1,
        "delay_s": delay,
        "references": {
            "previous_causal_every_reading": causal_cv,
            "with_rfid_read_features": rfid_cv,
            "nearest_centroid": _scores(y, centroid),
        },
        "runtime": runtime,
        "labels": {str(k): int((y == k).sum()) for k in sorted(ADL_LABELS)},
        "folds": (
            f"trials: {FOLDS}-fold grouped by trial file, stratified, seed {seed}; people: leave "
            "one gender out; rooms: leave one room out; n = readings"
        ),
        "model": (
            f"extra trees {SHIPPED_PARAMS} on acceleration features at t and t + {delay:g} s "
            "(the answer for t comes that late), fitted on readings with a new sample"
        ),
        "seconds": round(time.monotonic() - started, 1),
    }
    return AdlRun(summary, raw, y, pred, list(trials.names))


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
    left.set_title("out-of-fold (trials), row-normalised", fontsize=10)

    stream = result.raw[:, 0].astype(int)
    longest = int(np.bincount(stream).argmax())
    rows = np.flatnonzero(stream == longest)
    rows = rows[np.argsort(result.raw[rows, 1], kind="stable")]
    t = result.raw[rows, 1]
    right.step(t, result.y[rows], where="post", lw=2.2, alpha=0.5, label="true")
    right.step(t, result.predicted[rows], where="post", lw=1.0, color="k", label="predicted")
    right.set_yticks(labels, names, fontsize=8)
    right.set(xlabel="time in trial (s)")
    right.set_title(f"held-out trial {result.files[longest]} (4 s delay)", fontsize=10)
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
