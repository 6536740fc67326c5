"""Choose the care-intent design by grouped cross-validation; print the docs' table.

    .venv/bin/python scripts/speech_intent_cv.py [--seeds 1] [--variants default,script,...]

Every variant is scored with the same folds, which leave whole paraphrase groups out
(:func:`models.evaluation.intents.cross_validate`): a line is predicted by a model that saw no
wording of its situation in any language. The held-out file is never read here, so the design
is not tuned to it. The corpus is hand-written, so these figures say how well the model carries
to new phrasing of the situations it covers, not how it does on residents' real speech.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from models.evaluation.intents import cross_validate, score
from models.speech import CareIntentClassifier, load_intent_corpus

#: name -> (what it changes, factory given a seed)
VARIANTS: dict[str, tuple[str, Callable[[int], CareIntentClassifier]]] = {
    "default": (
        "shipped: Cantonese folding, negation, cues, C=10, chars 1-3, words 1-2",
        lambda s: CareIntentClassifier(random_state=s),
    ),
    "script": (
        "script folding only (no Cantonese table)",
        lambda s: CareIntentClassifier(fold="script", random_state=s),
    ),
    "plain": ("no negation marks", lambda s: CareIntentClassifier(fold="plain", random_state=s)),
    "C3": ("C=3", lambda s: CareIntentClassifier(C=3.0, random_state=s)),
    "C30": ("C=30", lambda s: CareIntentClassifier(C=30.0, random_state=s)),
    "chars4": ("chars 1-4", lambda s: CareIntentClassifier(char_ngrams=4, random_state=s)),
    "chars5": ("chars 1-5", lambda s: CareIntentClassifier(char_ngrams=5, random_state=s)),
    "nowords": ("no word n-grams", lambda s: CareIntentClassifier(word_ngrams=0, random_state=s)),
    "nocues": ("no cue-word features", lambda s: CareIntentClassifier(cues=0.0, random_state=s)),
    "cues0.5": ("cue weight 0.5", lambda s: CareIntentClassifier(cues=0.5, random_state=s)),
    "cues2": ("cue weight 2", lambda s: CareIntentClassifier(cues=2.0, random_state=s)),
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--variants", default=",".join(VARIANTS))
    args = p.parse_args()
    rows = load_intent_corpus()
    y = [r.intent for r in rows]
    langs = [r.lang for r in rows]
    print(f"{len(rows)} lines, {len({r.group for r in rows})} paraphrase groups")
    print("| variant | macro-F1 | en | zh-Hant | zh-Hans | need AUROC | fit s | what |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.variants.split(","):
        what, make = VARIANTS[name]
        figures: dict[str, list[float]] = {}
        start = time.perf_counter()
        for seed in range(args.seeds):
            with threadpool_limits(1):
                pred, need = cross_validate(rows, partial(make, seed), seed=seed)
            out = score(y, pred.tolist(), langs, need.tolist())
            for key in (
                "macro_f1",
                "macro_f1_en",
                "macro_f1_zh_hant",
                "macro_f1_zh_hans",
                "need_auroc",
            ):
                figures.setdefault(key, []).append(float(out[key]))
        fit_s = (time.perf_counter() - start) / (5 * args.seeds)
        cells = " | ".join(f"{np.mean(v):.3f}" for v in figures.values())
        print(f"| {name} | {cells} | {fit_s:.1f} | {what} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
