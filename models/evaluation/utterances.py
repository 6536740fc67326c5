"""``careloop eval utterances``: distress (sadness or fear) vs the rest in short spoken lines.

XED layout: ``utterances.tsv`` with ``id, lang (en/zh), text, labels (comma-separated),
source``. A line is positive when its labels contain sadness or fear. Per language,
:class:`~models.speech.distress.DistressTextClassifier` is cross-validated: stratified 5-fold
with the seed, fitted only on each training fold, which itself picks the regularisation and
the F1 threshold by an inner CV (never the test fold). Out-of-fold probabilities give the
AUROC, out-of-fold decisions at each fold's own threshold give the F1.

A second run groups **near-duplicate lines** (same character set, Jaccard >= 0.6, joined
transitively) into one fold: the Chinese lines are projections of the same subtitles into
simplified and traditional script, so about a quarter have a near-twin that plain stratified
folds put on the other side. Those ``*_dedup`` figures are the honest estimate for new
sentences; the plain ones are comparable with the published floors. Naive Bayes on word
(en) / character (zh) counts runs on the same folds as a reference.

``python -m models.evaluation.utterances --data DIR --plot docs/evaluation/img`` also draws the
ROC plot of the docs.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.progress import Progress
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import f1_score, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from careloop.errors import SettingsError
from models.evaluation.cli import plot_main, save_figure
from models.speech.distress import DistressTextClassifier

F64 = NDArray[np.float64]
FOLDS = 5
LANGS = ("en", "zh")
DISTRESS = frozenset({"sadness", "fear"})
TARGET_AUROC = {"en": 0.72, "zh": 0.75}
NEAR_DUPLICATE_JACCARD = 0.6


@dataclass
class LangRun:
    """Out-of-fold scores of one language under one fold scheme."""

    y: NDArray[np.bool_]
    scores: dict[str, F64] = field(default_factory=dict)
    decisions: dict[str, NDArray[np.bool_]] = field(default_factory=dict)


def read_utterances(data: Path) -> dict[str, tuple[list[str], NDArray[np.bool_]]]:
    """``{lang: (texts, is_distress)}`` from ``data/utterances.tsv``."""
    path = data / "utterances.tsv"
    if not path.is_file():
        raise SettingsError("data", f"{path} not found (expected the XED utterances.tsv)")
    out: dict[str, tuple[list[str], list[bool]]] = {lang: ([], []) for lang in LANGS}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row["lang"] in out:
                texts, labels = out[row["lang"]]
                texts.append(row["text"])
                labels.append(bool(set(row["labels"].split(",")) & DISTRESS))
    return {lang: (t, np.asarray(y, dtype=bool)) for lang, (t, y) in out.items() if t}


def near_duplicate_groups(texts: list[str], lang: str) -> NDArray[np.int_]:
    """Group ids joining lines whose character (zh) or word (en) sets overlap by Jaccard >=
    :data:`NEAR_DUPLICATE_JACCARD`, transitively."""
    docs = [re.sub(r"[\W_]+", "" if lang == "zh" else " ", t.lower()) for t in texts]
    analyzer = "char" if lang == "zh" else "word"
    sets = CountVectorizer(analyzer=analyzer, binary=True).fit_transform(docs).astype(np.float32)
    sizes = np.asarray(sets.sum(axis=1)).ravel()
    rows: list[NDArray[np.int_]] = []
    cols: list[NDArray[np.int_]] = []
    for start in range(0, len(docs), 1000):  # chunks keep the overlap matrix small
        inter = (sets[start : start + 1000] @ sets.T).tocoo()
        r = inter.row + start
        union = sizes[r] + sizes[inter.col] - inter.data
        keep = (inter.data >= NEAR_DUPLICATE_JACCARD * np.maximum(union, 1)) & (r != inter.col)
        rows.append(r[keep])
        cols.append(inter.col[keep])
    n = len(docs)
    row, col = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(row)), (row, col)), shape=(n, n))
    return np.asarray(connected_components(graph, directed=False)[1])


def _naive_bayes(lang: str) -> Any:
    analyzer = "char" if lang == "zh" else "word"
    return make_pipeline(CountVectorizer(analyzer=analyzer), MultinomialNB())


def folds(
    y: NDArray[np.bool_], groups: NDArray[np.int_], seed: int
) -> Iterator[tuple[NDArray[np.int_], NDArray[np.int_]]]:
    """Stratified folds that keep each group on one side (singleton groups = plain folds)."""
    cv = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
    yield from cv.split(np.zeros(len(y)), y, groups)


def cross_validate(
    texts: list[str],
    y: NDArray[np.bool_],
    groups: NDArray[np.int_],
    lang: str,
    *,
    seed: int,
    step: Callable[[], None],
) -> LangRun:
    """Out-of-fold distress probabilities and thresholded decisions, plus naive Bayes."""
    X = np.asarray(texts, dtype=object)
    run = LangRun(y=y)
    model_p, model_d, nb_p = np.zeros(len(y)), np.zeros(len(y), dtype=bool), np.zeros(len(y))
    for train, test in folds(y, groups, seed):
        model = DistressTextClassifier(lang=lang, random_state=seed).fit(X[train], y[train])
        model_p[test] = model.score_samples(X[test])
        model_d[test] = model.predict(X[test])
        nb_p[test] = _naive_bayes(lang).fit(X[train], y[train]).predict_proba(X[test])[:, 1]
        step()
    run.scores = {"model": model_p, "naive_bayes": nb_p}
    run.decisions = {"model": model_d}
    return run


@dataclass
class UtterancesRun:
    summary: dict[str, Any]
    runs: dict[tuple[str, str], LangRun]


def run(data: Path, *, seed: int, progress: bool) -> UtterancesRun:
    """Both languages, plain and near-duplicate-grouped folds."""
    started = time.monotonic()
    corpus = read_utterances(data)
    runs: dict[tuple[str, str], LangRun] = {}
    summary: dict[str, Any] = {"task": "utterances"}
    with threadpool_limits(1), Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("utterances: cross-validating", total=2 * FOLDS * len(corpus))
        for lang, (texts, y) in corpus.items():
            schemes = {
                "plain": np.arange(len(y)),
                "dedup": near_duplicate_groups(texts, lang),
            }
            for scheme, groups in schemes.items():
                r = cross_validate(
                    texts, y, groups, lang, seed=seed, step=lambda: bar.advance(task)
                )
                runs[(lang, scheme)] = r
                tag = "" if scheme == "plain" else "_dedup"
                summary[f"distress_auroc_{lang}{tag}"] = round(
                    float(roc_auc_score(y, r.scores["model"])), 4
                )
                summary[f"distress_f1_{lang}{tag}"] = round(
                    float(f1_score(y, r.decisions["model"])), 4
                )
                summary[f"naive_bayes_auroc_{lang}{tag}"] = round(
                    float(roc_auc_score(y, r.scores["naive_bayes"])), 4
                )
            summary[f"n_{lang}"] = len(y)
            summary[f"positives_{lang}"] = int(y.sum())
            summary[f"dedup_groups_{lang}"] = len(np.unique(schemes["dedup"]))
    summary["target_auroc"] = TARGET_AUROC
    summary["cv"] = (
        f"stratified {FOLDS}-fold, seed {seed}; C and F1 threshold by inner 3-fold CV on the "
        "training folds; *_dedup: near-duplicate lines kept in one fold"
    )
    summary["seconds"] = round(time.monotonic() - started, 1)
    return UtterancesRun(summary, runs)


def evaluate(data: Path, *, seed: int, progress: bool) -> dict[str, Any]:
    """``careloop eval utterances``: the summary of :func:`run`."""
    return run(data, seed=seed, progress=progress).summary


def plot_roc(result: UtterancesRun, path: Path) -> None:
    """Out-of-fold ROC curves per language: model and naive Bayes, plain and dedup folds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 4.4), dpi=100)
    for ax, lang in zip(axes, LANGS, strict=True):
        for (lg, scheme), r in result.runs.items():
            if lg != lang:
                continue
            for key, style in (("model", "-"), ("naive_bayes", ":")):
                fpr, tpr, _ = roc_curve(r.y, r.scores[key])
                auc = roc_auc_score(r.y, r.scores[key])
                name = "TF-IDF+lexicon LR" if key == "model" else "naive Bayes"
                ax.plot(fpr, tpr, style, lw=1.5, label=f"{name}, {scheme}: {auc:.3f}")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
        ax.set(xlabel="false-positive rate", ylabel="true-positive rate", xlim=(0, 1), ylim=(0, 1))
        n = len(result.runs[(lang, "plain")].y)
        ax.set_title(f"distress, {lang} (n={n}, out-of-fold)", fontsize=10)
        ax.legend(loc="lower right", fontsize=7.5, title="AUROC", title_fontsize=8)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation, print its JSON, and optionally write the plot."""
    return plot_main(
        __doc__,
        run,
        plot_roc,
        filename="utterances_roc.png",
        data_help="folder with utterances.tsv",
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
