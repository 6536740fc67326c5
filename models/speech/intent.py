"""Care intents in Chinese and English text: help request, pain/unwell, low mood, confusion.

Fitted on the corpus we wrote for it (``models/speech_data/intents.tsv``, about 70 hand-written
lines per intent per language), so it needs no downloaded weights and works offline. Features
are character n-grams within word boundaries (Chinese needs no segmenter this way) plus English
word n-grams, both over :func:`~models.speech.text.mark_negation` text, into a multinomial
logistic regression. One model serves both languages: the scripts do not share n-grams.

The score careloop uses is **need** = 1 - P(neutral): higher = more in need, whichever intent.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Literal, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from models.base import ModelError
from models.speech.text import load_intent_corpus, mark_negation, to_simplified

Intent = Literal["help", "pain", "low_mood", "confusion", "neutral"]
#: Every intent, in a fixed order. "neutral" (code 0) is the absence of a care need, so
#: integer codes cast to bool read "in need".
INTENTS: tuple[Intent, ...] = ("neutral", "help", "pain", "low_mood", "confusion")


def _intent_name(label: object) -> str:
    if isinstance(label, int | np.integer):
        if not 0 <= int(label) < len(INTENTS):
            raise ModelError(f"intent code {label} is not an index of {INTENTS}")
        return INTENTS[int(label)]
    return str(label)


def normalise(text: str) -> str:
    """Simplified script (one feature per character, however it was written), then
    negation marks (see :func:`~models.speech.text.mark_negation`)."""
    return mark_negation(to_simplified(text))


class CareIntentClassifier(BaseEstimator, ClassifierMixin):
    """Text -> care intent; ``score_samples`` is the need score 1 - P(neutral).

    Parameters: ``C`` (inverse regularisation), ``char_ngrams`` (longest character n-gram),
    ``word_ngrams`` (longest English word n-gram; 0 = none), ``random_state``.
    """

    def __init__(
        self,
        C: float = 10.0,
        char_ngrams: int = 4,
        word_ngrams: int = 2,
        random_state: int | None = 0,
    ) -> None:
        self.C = C
        self.char_ngrams = char_ngrams
        self.word_ngrams = word_ngrams
        self.random_state = random_state

    def fit(self, X: Sequence[str], y: Sequence[str] | Sequence[int]) -> Self:
        """Fit on texts ``X`` labelled with intents: names from :data:`INTENTS` or their integer
        codes (index in :data:`INTENTS`, 0 = neutral); :attr:`classes_` holds names either way."""
        texts = list(X)
        labels = [_intent_name(v) for v in y]
        if len(texts) != len(labels) or not texts:
            raise ModelError(f"need as many labels as texts, got {len(texts)} and {len(labels)}")
        unknown = sorted(set(labels) - set(INTENTS))
        if unknown:
            raise ModelError(f"unknown intents {unknown}; expected some of {INTENTS}")
        if "neutral" not in labels or len(set(labels)) < 2:
            raise ModelError("training data needs 'neutral' and at least one care intent")
        if self.C <= 0 or self.char_ngrams < 1 or self.word_ngrams < 0:
            raise ModelError("C must be > 0, char_ngrams >= 1, word_ngrams >= 0")
        parts: list[tuple[str, TfidfVectorizer]] = [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(1, self.char_ngrams),
                    sublinear_tf=True,
                    preprocessor=normalise,
                    lowercase=False,
                ),
            )
        ]
        if self.word_ngrams:
            parts.append(
                (
                    "words",
                    TfidfVectorizer(
                        analyzer="word",
                        ngram_range=(1, self.word_ngrams),
                        sublinear_tf=True,
                        preprocessor=normalise,
                        lowercase=False,
                        token_pattern=r"[A-Za-z']+",
                    ),
                )
            )
        pipeline = Pipeline(
            [
                ("features", FeatureUnion(parts)),
                (
                    "logistic",
                    LogisticRegression(
                        C=self.C,
                        class_weight="balanced",
                        max_iter=5000,
                        random_state=self.random_state,
                    ),
                ),
            ]
        )
        # One BLAS thread: L-BFGS on a corpus this small takes a fraction of a second, and
        # OpenBLAS threads spinning on a shared 2-core machine made it ten times slower.
        with threadpool_limits(1):
            self.pipeline_ = pipeline.fit(texts, labels)
        self.classes_: NDArray[np.str_] = np.asarray(self.pipeline_.classes_)
        return self

    def predict_proba(self, X: Sequence[str]) -> NDArray[np.float64]:
        """Probabilities, columns in :attr:`classes_` order."""
        check_is_fitted(self, "pipeline_")
        return np.asarray(self.pipeline_.predict_proba(list(X)), dtype=float)

    def predict(self, X: Sequence[str]) -> NDArray[np.str_]:
        """The most probable intent of each text."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def score_samples(self, X: Sequence[str]) -> NDArray[np.float64]:
        """Need score: 1 - P(neutral), higher = more in need."""
        proba = self.predict_proba(X)
        neutral = int(np.flatnonzero(self.classes_ == "neutral")[0])
        return 1.0 - proba[:, neutral]


@lru_cache(maxsize=1)
def default_intent_classifier() -> CareIntentClassifier:
    """The classifier fitted on the whole packaged corpus (about a second, once per process).

    Shared and cached: treat it as read-only.
    """
    rows = load_intent_corpus()
    return CareIntentClassifier().fit([r[2] for r in rows], [r[0] for r in rows])
