"""Cross-validate the care-intent classifier on our own corpus; print the docs' table.

    .venv/bin/python scripts/speech_intent_cv.py [--seeds 3]

Stratified 5-fold by intent and language, repeated over seeds: every corpus line is predicted
by a model that never saw it. The corpus is small and hand-written, so these figures say how
well the model generalises to *paraphrases*, not how it does on residents' real speech.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from models.speech import INTENTS, CareIntentClassifier, load_intent_corpus


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    rows = load_intent_corpus()
    X = np.array([r[2] for r in rows], dtype=object)
    y = np.array([r[0] for r in rows])
    lang = np.array([r[1] for r in rows])
    strata = np.char.add(np.char.add(y, "|"), lang)
    per_class: dict[str, list[list[float]]] = {"en": [], "zh": []}
    macro: dict[str, list[float]] = {"en": [], "zh": []}
    need: dict[str, list[float]] = {"en": [], "zh": []}
    for seed in range(args.seeds):
        pred = np.empty(len(y), dtype=object)
        score = np.zeros(len(y))
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, strata):
            model = CareIntentClassifier().fit(list(X[train]), list(y[train]))
            pred[test] = model.predict(list(X[test]))
            score[test] = model.score_samples(list(X[test]))
        for code in ("en", "zh"):
            k = lang == code
            macro[code].append(float(f1_score(y[k], pred[k], average="macro")))
            f1s = f1_score(y[k], pred[k], labels=list(INTENTS), average=None)
            per_class[code].append([float(v) for v in f1s])
            need[code].append(float(roc_auc_score(y[k] != "neutral", score[k])))
    header = "| language | lines | macro-F1 | " + " | ".join(f"F1 {i}" for i in INTENTS)
    print(header + " | need AUROC (care intent vs neutral) |")
    print("|---" * (len(INTENTS) + 4) + "|")
    for code in ("en", "zh"):
        f1s = np.mean(per_class[code], axis=0)
        cells = " | ".join(f"{v:.2f}" for v in f1s)
        print(
            f"| {code} | {int((lang == code).sum())} | {np.mean(macro[code]):.2f} "
            f"(± {np.std(macro[code]):.2f}) | {cells} | {np.mean(need[code]):.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
