"""The shipped care-intent model as a fitted artefact: ``models/speech_data/intent_model.npz``.

Fitting :class:`~models.speech.intent.CareIntentClassifier` on the whole corpus takes several
seconds on a busy two-core machine, and every scorer process did it at its first utterance.
The artefact stores what the fit learnt - each TF-IDF part's vocabulary and idf, the logistic
regression's classes, weights and intercepts, the parameters - as plain numpy arrays plus one
JSON string, read with ``np.load(allow_pickle=False)``: loading it can run no code.

It carries a digest of everything the model depends on (the corpus, the cue lexicon, the
Cantonese table and the source of the text-preparation, cue and classifier modules). If any of
them changed since it was written, :func:`load_default` returns None and the caller fits from
the corpus instead, so a stale artefact is never used; a unit test fails until it is rewritten:

    .venv/bin/python -m models.speech.artefact      # refit on the corpus, write the artefact
"""

from __future__ import annotations

import hashlib
import json
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from models.base import ModelError
from models.speech import cues, intent, text
from models.speech.intent import CareIntentClassifier

FILENAME = "intent_model.npz"
#: Data files (in ``models/speech_data``) and modules the fitted model depends on.
_DATA_FILES = ("intents.tsv", "intent_cues.tsv", "cantonese.tsv")
_MODULES = (text, cues, intent)
_FORMAT = 1


def default_path() -> Path:
    """Where the packaged artefact lives."""
    return Path(str(resources.files("models") / "speech_data" / FILENAME))


def digest() -> str:
    """SHA-256 over the data files and the source of the modules the model depends on."""
    h = hashlib.sha256()
    for name in _DATA_FILES:
        h.update(name.encode())
        h.update((resources.files("models") / "speech_data" / name).read_bytes())
    for module in _MODULES:
        h.update(module.__name__.encode())
        h.update(Path(str(module.__file__)).read_bytes())
    return h.hexdigest()


def save(model: CareIntentClassifier, path: Path) -> None:
    """Write a fitted model's learnt state (numpy arrays and one JSON string)."""
    union = model.pipeline_.named_steps["features"]
    logistic = model.pipeline_.named_steps["logistic"]
    arrays: dict[str, Any] = {}
    parts: list[str] = []
    for name, part in union.transformer_list:
        parts.append(name)
        if isinstance(part, TfidfVectorizer):
            terms = sorted(part.vocabulary_, key=part.vocabulary_.__getitem__)
            arrays[f"{name}_terms"] = np.asarray(terms, dtype=str)
            arrays[f"{name}_idf"] = np.asarray(part.idf_, dtype=np.float64)
    meta = {
        "format": _FORMAT,
        "digest": digest(),
        "params": model.get_params(),
        "parts": parts,
        "classes": [str(c) for c in logistic.classes_],
    }
    arrays["meta"] = np.asarray(json.dumps(meta, ensure_ascii=False))
    arrays["coef"] = np.asarray(logistic.coef_, dtype=np.float64)
    arrays["intercept"] = np.asarray(logistic.intercept_, dtype=np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)


def load(path: Path) -> tuple[CareIntentClassifier, str]:
    """A fitted model from an artefact, and the digest it was written with.

    Raises :class:`~models.base.ModelError` for a file that is not such an artefact."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays["meta"]))
        if meta.get("format") != _FORMAT:
            raise ModelError(f"{path}: artefact format {meta.get('format')}, expected {_FORMAT}")
        model = CareIntentClassifier(**meta["params"])
        pipeline = model.build_pipeline()
        union = pipeline.named_steps["features"]
        if [name for name, _ in union.transformer_list] != meta["parts"]:
            raise ModelError(f"{path}: feature parts {meta['parts']} do not match the params")
        for name, part in union.transformer_list:
            if isinstance(part, TfidfVectorizer):
                terms = arrays[f"{name}_terms"].tolist()
                part.vocabulary_ = {t: i for i, t in enumerate(terms)}
                part.idf_ = arrays[f"{name}_idf"]
            else:
                part.fit([])
        logistic = pipeline.named_steps["logistic"]
        logistic.classes_ = np.asarray(meta["classes"])
        logistic.coef_ = arrays["coef"]
        logistic.intercept_ = arrays["intercept"]
        logistic.n_features_in_ = int(arrays["coef"].shape[1])
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"{path}: not a care-intent artefact ({exc})") from exc
    model.pipeline_ = pipeline
    model.classes_ = np.asarray(meta["classes"])
    width = sum(
        len(p.vocabulary_) if isinstance(p, TfidfVectorizer) else 2 * len(p.cues_)
        for _, p in union.transformer_list
    )
    if logistic.coef_.shape != (model.classes_.size, width):
        raise ModelError(f"{path}: weights {logistic.coef_.shape} for {width} features")
    return model, str(meta["digest"])


def load_default() -> CareIntentClassifier | None:
    """The packaged artefact if it exists and matches the current corpus and code, else None."""
    path = default_path()
    if not path.is_file():
        return None
    model, written_with = load(path)
    if written_with != digest() or model.get_params() != CareIntentClassifier().get_params():
        return None
    return model


def fit_default() -> CareIntentClassifier:
    """The default classifier fitted on the whole packaged corpus (what the artefact holds)."""
    from models.speech.text import load_intent_corpus

    rows = load_intent_corpus()
    return CareIntentClassifier().fit([r.text for r in rows], [r.intent for r in rows])


def main() -> int:
    """Refit the default model on the corpus and write the packaged artefact."""
    model = fit_default()
    save(model, default_path())
    print(f"wrote {default_path()} ({default_path().stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


@lru_cache(maxsize=1)
def default_intent_classifier() -> CareIntentClassifier:
    """The classifier fitted on the whole packaged corpus: read from the packaged artefact
    when it matches the corpus and code (a fraction of a second), else fitted (seconds, once
    per process; see :mod:`models.speech.artefact`).

    Shared and cached: treat it as read-only.
    """
    model = load_default()
    return model if model is not None else fit_default()
