"""Care intents in English and Chinese (both scripts, Mandarin and Cantonese) from text.

Eight intents: ``help`` (an urgent call for a person now), ``pain`` (pain or feeling unwell),
``low_mood`` (sadness, loneliness, boredom, worry), ``confusion``, ``request`` (an everyday ask
for someone to do something), ``complaint`` (dissatisfaction with care, staff, food, noise),
``praise`` (thanks, appreciation) and ``neutral`` (chat, negated needs, and what a voice
assistant answers itself: weather, time, music, news).

Fitted on the corpus we wrote for it (``models/speech_data/intents.tsv``, lines in paraphrase
groups), so it needs no downloaded weights and works offline. Chinese is folded onto one form
first (Simplified script, Mandarin words for Cantonese ones: :func:`~models.speech.text.
fold_chinese`), then negation is marked (:func:`~models.speech.text.mark_negation`). Features
are character n-grams within word boundaries (Chinese needs no segmenter this way), English
word n-grams and our cue-word features (:mod:`models.speech.cues`), into a class-balanced
multinomial logistic regression. One model serves every
language: the scripts do not share n-grams. The design was chosen by cross-validation that
leaves whole paraphrase groups out (``scripts/speech_intent_cv.py``,
docs/evaluation/intents.md).

The score careloop uses is **need** = 1 - P(neutral) - P(praise): the probability that the
resident needs something from someone (thanks and chat need nothing); higher = more in need.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Self, cast

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from models.base import ModelError
from models.speech.cues import CueFeatures
from models.speech.text import (
    Lang,
    fold_chinese,
    mark_negation,
    normalise_lang,
    prepare,
    to_simplified,
)

Intent = Literal[
    "neutral", "help", "pain", "low_mood", "confusion", "request", "complaint", "praise"
]
#: Every intent, in a fixed order. "neutral" (code 0) is the absence of a care need, so
#: integer codes cast to bool read "in need" - except "praise" (7), which needs nothing either.
INTENTS: tuple[Intent, ...] = (
    "neutral",
    "help",
    "pain",
    "low_mood",
    "confusion",
    "request",
    "complaint",
    "praise",
)
#: Intents that ask nothing of anyone: the need score leaves their probability out.
NOT_NEEDS: frozenset[str] = frozenset({"neutral", "praise"})


def _intent_name(label: object) -> str:
    if isinstance(label, int | np.integer):
        if not 0 <= int(label) < len(INTENTS):
            raise ModelError(f"intent code {label} is not an index of {INTENTS}")
        return INTENTS[int(label)]
    return str(label)


def normalise(text: str) -> str:
    """Chinese folded onto Simplified Mandarin, then negation marks (cached)."""
    return prepare(text)


def normalise_script_only(text: str) -> str:
    """Simplified script and negation marks, no Cantonese folding (the older design)."""
    return mark_negation(to_simplified(text))


def _no_negation(text: str) -> str:
    return fold_chinese(text).lower()


def _tfidf_row(vec: TfidfVectorizer, text: str) -> tuple[NDArray[np.int_], NDArray[np.float64]]:
    """One text's non-zero TF-IDF columns and values, as ``vec.transform`` computes them with
    sublinear tf, smoothed idf and L2 norm (the settings :class:`CareIntentClassifier` uses)."""
    vocab = vec.vocabulary_
    counts = Counter(t for t in vec.build_analyzer()(text) if t in vocab)
    idx = np.fromiter((vocab[t] for t in counts), dtype=np.int_, count=len(counts))
    tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))
    val = tf * vec.idf_[idx]
    norm = float(np.sqrt(val @ val))
    return idx, (val / norm if norm > 0 else val)


@dataclass(frozen=True, slots=True)
class IntentAssessment:
    """What one line of text asks for."""

    intent: Intent
    #: every intent's probability (sums to 1)
    intent_proba: Mapping[str, float]
    #: 1 - P(neutral) - P(praise): the probability that someone needs to do something
    need: float
    #: the language tag given, normalised (None when not given)
    lang: Lang | None = None


class CareIntentClassifier(BaseEstimator, ClassifierMixin):
    """Text -> care intent; ``score_samples`` is the need score 1 - P(neutral) - P(praise).

    Parameters: ``C`` (inverse regularisation), ``char_ngrams`` (longest character n-gram),
    ``word_ngrams`` (longest English word n-gram; 0 = none), ``fold`` (how text is prepared:
    "cantonese" = script and dialect folding plus negation marks, "script" = script folding and
    negation only, "plain" = folding without negation marks), ``cues`` (weight of the cue-word
    features of :mod:`models.speech.cues`; 0 = none), ``random_state``.
    """

    def __init__(
        self,
        C: float = 10.0,
        char_ngrams: int = 3,
        word_ngrams: int = 2,
        fold: Literal["cantonese", "script", "plain"] = "cantonese",
        cues: float = 1.0,
        random_state: int | None = 0,
    ) -> None:
        self.C = C
        self.char_ngrams = char_ngrams
        self.word_ngrams = word_ngrams
        self.fold = fold
        self.cues = cues
        self.random_state = random_state

    def build_pipeline(self) -> Pipeline:
        """The unfitted features + logistic regression pipeline for these parameters (also
        what :mod:`models.speech.artefact` fills with stored weights)."""
        if self.C <= 0 or self.char_ngrams < 1 or self.word_ngrams < 0 or self.cues < 0:
            raise ModelError("C must be > 0, char_ngrams >= 1, word_ngrams >= 0, cues >= 0")
        preprocess = {
            "cantonese": normalise,
            "script": normalise_script_only,
            "plain": _no_negation,
        }.get(self.fold)
        if preprocess is None:
            raise ModelError(f"fold must be cantonese, script or plain, not {self.fold!r}")
        parts: list[tuple[str, TfidfVectorizer | CueFeatures]] = [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(1, self.char_ngrams),
                    sublinear_tf=True,
                    preprocessor=preprocess,
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
                        preprocessor=preprocess,
                        lowercase=False,
                        token_pattern=r"[A-Za-z']+",
                    ),
                )
            )
        if self.cues:
            parts.append(("cues", CueFeatures(weight=self.cues)))
        return Pipeline(
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
        pipeline = self.build_pipeline()
        # One BLAS thread: L-BFGS on a corpus this small takes seconds, and OpenBLAS
        # threads spinning on a shared 2-core machine made it ten times slower.
        with threadpool_limits(1):
            self.pipeline_ = pipeline.fit(texts, labels)
        self.classes_: NDArray[np.str_] = np.asarray(self.pipeline_.classes_)
        return self

    def predict_proba(self, X: Sequence[str]) -> NDArray[np.float64]:
        """Probabilities, columns in :attr:`classes_` order.

        Computed text by text from the fitted vocabularies and weights rather than through
        the scikit-learn pipeline: the same numbers (a unit test compares them), without the
        pipeline's per-call overhead, which made one utterance cost ~15 ms instead of ~1.
        """
        check_is_fitted(self, "pipeline_")
        union = self.pipeline_.named_steps["features"]
        logistic = self.pipeline_.named_steps["logistic"]
        coef = np.asarray(logistic.coef_, dtype=float)
        out = np.empty((len(X), len(self.classes_)))
        for i, text in enumerate(X):
            z = np.array(logistic.intercept_, dtype=float)
            offset = 0
            for _, part in union.transformer_list:
                if isinstance(part, TfidfVectorizer):
                    idx, val = _tfidf_row(part, text)
                    width = len(part.vocabulary_)
                else:
                    row = part.row(text)
                    idx = np.flatnonzero(row)
                    val, width = row[idx], row.size
                z += coef[:, offset + idx] @ val
                offset += width
            if z.size == 1:  # two classes: one weight row, P(second) = sigmoid = softmax(0, z)
                z = np.array([0.0, z[0]])
            z -= z.max()
            out[i] = np.exp(z) / np.exp(z).sum()
        return out

    def predict(self, X: Sequence[str]) -> NDArray[np.str_]:
        """The most probable intent of each text."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def need_from_proba(self, proba: NDArray[np.float64]) -> NDArray[np.float64]:
        """Need score from :meth:`predict_proba` rows: 1 - P(neutral) - P(praise)."""
        check_is_fitted(self, "pipeline_")
        keep = np.array([c not in NOT_NEEDS for c in self.classes_])
        return np.clip(np.asarray(proba, dtype=float)[:, keep].sum(axis=1), 0.0, 1.0)

    def score_samples(self, X: Sequence[str]) -> NDArray[np.float64]:
        """Need score: 1 - P(neutral) - P(praise), higher = more in need."""
        return self.need_from_proba(self.predict_proba(X))

    def assess(self, text: str, lang: str | None = None) -> IntentAssessment:
        """One line of text -> intent, every intent's probability, need.

        ``lang`` is optional (the text shows its script); when given it must be an English or
        Chinese tag ("en", "zh", "zh-Hant", "zh-Hans", "zh-TW", "zh-HK", "zh-CN", ...), else
        ``ModelError``.
        """
        try:
            tag = normalise_lang(lang) if lang is not None else None
        except ValueError as exc:
            raise ModelError(str(exc)) from exc
        proba = self.predict_proba([text])
        by_intent = {str(c): float(p) for c, p in zip(self.classes_, proba[0], strict=True)}
        for name in INTENTS:  # an intent missing from the training data has probability 0
            by_intent.setdefault(name, 0.0)
        # classes_ are Intent names: fit rejects any other label
        intent = cast(Intent, max(by_intent, key=by_intent.__getitem__))
        need = float(self.need_from_proba(proba)[0])
        return IntentAssessment(intent=intent, intent_proba=by_intent, need=need, lang=tag)
