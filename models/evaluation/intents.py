"""``careloop eval intents``: the shipped care-intent classifier on lines it never saw.

``--data DIR`` reads ``DIR/intents.tsv`` (tab-separated, header ``lang intent text``; a
``group`` column is allowed and ignored; lang one of en, zh-Hant, zh-Hans or a tag such as
zh-TW / zh-CN) and scores :func:`~models.speech.artefact.default_intent_classifier` - fitted on
the packaged corpus only, never on ``DIR`` - with macro-F1 overall and per language, F1 and
line count per intent, the need score's AUROC (care need vs neutral or praise), the most
frequent confusions, the latency per utterance and the time to get the model (read from the
packaged artefact, or fitted when that is stale).

``--cv`` instead cross-validates on the corpus itself: folds from
:class:`~sklearn.model_selection.StratifiedGroupKFold` leave whole paraphrase groups out (a
group holds the same situation in every language and script), so each line is predicted by a
model that saw no wording of its situation. That out-of-fold figure is printed beside the
in-sample one (the same model scored on its own training lines), which only shows how much the
corpus is memorised. It also prints ``low_mood_one_sentence``: the P(low_mood) at which one
sentence opens a low-mood need, chosen on the out-of-fold probabilities
(:mod:`models.speech.thresholds`), its out-of-fold recall and false-alarm rate, and the
threshold shipped in ``models/speech_data/thresholds.json`` (``careloop train intents``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from threadpoolctl import threadpool_limits

from careloop.errors import SettingsError
from models.base import ModelError
from models.speech.artefact import default_intent_classifier
from models.speech.intent import (
    INTENTS,
    NOT_NEEDS,
    CareIntentClassifier,
)
from models.speech.text import LANGS, IntentLine, load_intent_corpus, prepare, read_intent_lines
from models.speech.thresholds import LOW_MOOD_MAX_FPR, Threshold, choose_threshold
from models.speech.thresholds import load as load_thresholds

FOLDS = 5
#: What the classifier should reach on phrasing it never saw (macro-F1 over the 8 intents).
TARGET_MACRO_F1 = 0.85
_LANG_KEY = {"en": "en", "zh-Hant": "zh_hant", "zh-Hans": "zh_hans"}


def read_lines(data: Path) -> list[IntentLine]:
    """Labelled lines from ``data/intents.tsv`` (see the module docstring)."""
    path = data / "intents.tsv"
    if not path.is_file():
        raise SettingsError("data", f"{path} not found (expected intents.tsv: lang intent text)")
    try:
        rows = read_intent_lines(path.read_text(encoding="utf-8").splitlines(), grouped=False)
    except ValueError as exc:
        raise SettingsError("data", f"{path}: {exc}") from exc
    unknown = sorted({r.intent for r in rows} - set(INTENTS))
    if unknown:
        raise SettingsError("data", f"{path}: unknown intents {unknown}; expected {INTENTS}")
    if not rows:
        raise SettingsError("data", f"{path} has no lines")
    return rows


def _macro(y: NDArray[np.str_], pred: NDArray[np.str_]) -> float:
    labels = sorted(set(y.tolist()))
    return float(f1_score(y, pred, labels=labels, average="macro", zero_division=0))


def score(
    y: Sequence[str], pred: Sequence[str], langs: Sequence[str], need: Sequence[float]
) -> dict[str, Any]:
    """The figures both modes print, from true and predicted intents and need scores."""
    yt, yp, lg = np.asarray(y), np.asarray(pred), np.asarray(langs)
    out: dict[str, Any] = {"n": len(yt), "macro_f1": round(_macro(yt, yp), 4)}
    for lang in LANGS:
        k = lg == lang
        out[f"macro_f1_{_LANG_KEY[lang]}"] = round(_macro(yt[k], yp[k]), 4) if k.any() else None
        out[f"n_{_LANG_KEY[lang]}"] = int(k.sum())
    present = [i for i in INTENTS if (yt == i).any()]
    f1s = f1_score(yt, yp, labels=present, average=None, zero_division=0)
    out["f1"] = {i: round(float(v), 4) for i, v in zip(present, f1s, strict=True)}
    out["n_per_intent"] = {i: int((yt == i).sum()) for i in present}
    in_need = np.array([v not in NOT_NEEDS for v in yt])
    if 0 < in_need.sum() < len(in_need):
        out["need_auroc"] = round(float(roc_auc_score(in_need, np.asarray(need))), 4)
    wrong = Counter(f"{t}->{p}" for t, p in zip(yt, yp, strict=True) if t != p)
    out["confusions"] = dict(wrong.most_common(8))
    return out


def cross_validate(
    rows: Sequence[IntentLine],
    make: Callable[[], CareIntentClassifier],
    *,
    seed: int = 0,
    folds: int = FOLDS,
) -> tuple[NDArray[np.str_], NDArray[np.float64]]:
    """Out-of-fold intents and need scores, folds leaving whole paraphrase groups out."""
    proba, classes, need = cross_validate_proba(rows, make, seed=seed, folds=folds)
    return classes[np.argmax(proba, axis=1)].astype(str), need


def cross_validate_proba(
    rows: Sequence[IntentLine],
    make: Callable[[], CareIntentClassifier],
    *,
    seed: int = 0,
    folds: int = FOLDS,
) -> tuple[NDArray[np.float64], NDArray[np.str_], NDArray[np.float64]]:
    """Out-of-fold probabilities (columns: every intent of :data:`INTENTS`), those intents
    and need scores; folds leave whole paraphrase groups out."""
    X = np.array([r.text for r in rows], dtype=object)
    y = np.array([r.intent for r in rows])
    groups = np.array([r.group for r in rows])
    classes = np.asarray(INTENTS)
    proba = np.zeros((len(y), len(classes)))
    need = np.zeros(len(y))
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(X, y, groups):
        model = make().fit(list(X[train]), list(y[train]))
        p = model.predict_proba(list(X[test]))
        cols = [INTENTS.index(str(c)) for c in model.classes_]
        proba[np.ix_(test, cols)] = p
        need[test] = model.need_from_proba(p)
    return proba, classes, need


def low_mood_threshold(
    y: Sequence[str], proba: NDArray[np.float64], max_fpr: float = LOW_MOOD_MAX_FPR
) -> Threshold:
    """The one-sentence low-mood threshold chosen on out-of-fold ``proba`` (see
    :mod:`models.speech.thresholds`): every line that is not low mood is a negative."""
    positive = np.asarray(y) == "low_mood"
    return choose_threshold(positive, proba[:, INTENTS.index("low_mood")], max_fpr)


def _latency_ms(model: CareIntentClassifier, texts: Sequence[str]) -> float:
    """Mean time of one :meth:`~CareIntentClassifier.assess` call, text preparation included
    (its cache is emptied first, so no text is timed as already seen)."""
    sample = list(texts[:200])
    prepare.cache_clear()
    start = time.perf_counter()
    for text in sample:
        model.assess(text)
    return round((time.perf_counter() - start) / max(len(sample), 1) * 1000, 3)


def evaluate_cv(*, seed: int = 0) -> dict[str, Any]:
    """Grouped cross-validation on the packaged corpus, beside the in-sample figure."""
    rows = load_intent_corpus()
    y = [r.intent for r in rows]
    langs = [r.lang for r in rows]
    with threadpool_limits(1):
        proba_oof, classes, need = cross_validate_proba(
            rows, lambda: CareIntentClassifier(random_state=seed), seed=seed
        )
        pred = classes[np.argmax(proba_oof, axis=1)]
        start = time.perf_counter()
        model = CareIntentClassifier(random_state=seed).fit([r.text for r in rows], y)
        fit_s = time.perf_counter() - start
        texts = [r.text for r in rows]
        proba = model.predict_proba(texts)
    in_pred = model.classes_[np.argmax(proba, axis=1)]
    in_sample = score(y, in_pred.tolist(), langs, model.need_from_proba(proba).tolist())
    out = {"mode": "cv", "folds": FOLDS, "groups": len({r.group for r in rows})}
    out.update(score(y, pred.tolist(), langs, need.tolist()))
    out["in_sample_macro_f1"] = in_sample["macro_f1"]
    out["target_macro_f1"] = TARGET_MACRO_F1
    out["fit_seconds"] = round(fit_s, 2)
    chosen = low_mood_threshold(y, proba_oof)
    out["low_mood_one_sentence"] = {**chosen.as_dict(), "shipped": _shipped_low_mood()}
    return out


def _shipped_low_mood() -> float | None:
    try:
        return load_thresholds()[0]["low_mood"].value
    except (ModelError, KeyError):
        return None


def evaluate(
    data: Path | None, *, seed: int = 0, progress: bool = False, cv: bool = False
) -> dict[str, Any]:
    """Score the shipped classifier on ``data/intents.tsv`` (or, with ``cv``, the grouped
    cross-validation on the corpus). ``seed`` sets the folds; ``progress`` is unused (the
    run takes seconds)."""
    if cv:
        return evaluate_cv(seed=seed)
    if data is None:
        raise SettingsError("data", "eval intents needs --data DIR (with intents.tsv) or --cv")
    rows = read_lines(data)
    start = time.perf_counter()
    model = default_intent_classifier()  # the packaged artefact, or a fit if it is stale
    load_s = time.perf_counter() - start
    texts = [r.text for r in rows]
    with threadpool_limits(1):
        proba = model.predict_proba(texts)
        latency = _latency_ms(model, texts)
    pred = model.classes_[np.argmax(proba, axis=1)]
    out: dict[str, Any] = {"mode": "held-out", "data": str(data / "intents.tsv")}
    out.update(
        score(
            [r.intent for r in rows],
            pred.tolist(),
            [r.lang for r in rows],
            model.need_from_proba(proba).tolist(),
        )
    )
    out["target_macro_f1"] = TARGET_MACRO_F1
    out["ms_per_utterance"] = latency
    out["load_seconds"] = round(load_s, 2)
    return out


def write_thresholds(path: Path | None = None, *, seed: int = 0) -> Threshold:
    """Choose the one-sentence low-mood threshold by grouped CV on the packaged corpus and
    write it (``models/speech_data/thresholds.json`` by default) with the model digest."""
    from models.speech import artefact, thresholds

    rows = load_intent_corpus()
    with threadpool_limits(1):
        proba, _, _ = cross_validate_proba(
            rows, lambda: CareIntentClassifier(random_state=seed), seed=seed
        )
    chosen = low_mood_threshold([r.intent for r in rows], proba)
    thresholds.save(
        {"low_mood": chosen},
        artefact.digest(),
        f"grouped {FOLDS}-fold CV on the packaged corpus, seed {seed} (careloop train intents)",
        path or thresholds.default_path(),
    )
    thresholds.low_mood_threshold.cache_clear()
    return chosen
