"""Distress (sadness or fear) in a short spoken line, English or Chinese, from its text.

Where the care intents (:mod:`models.speech.intent`) are learnt from our own small corpus, this
is the open-domain signal: a binary text classifier fitted on whatever labelled lines it is
given (``careloop eval utterances`` fits it on XED subtitles by cross-validation). Features are
TF-IDF character n-grams (Chinese: 1-4 over raw characters, no segmenter; English: 2-5 within
word boundaries, plus word 1-2-grams), sublinear tf, and our small sadness/fear lexicon
(:class:`~models.speech.text.LexiconFeatures`), into a class-balanced logistic regression.

Both free choices are made **inside** ``fit``, from an inner stratified cross-validation of the
training data only: the regularisation ``C`` (best pooled out-of-fold AUROC over ``Cs``) and
the decision threshold (best out-of-fold F1 at that ``C``). So a cross-validated evaluation
never picks either on its test fold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.utils.validation import check_is_fitted

from models.base import ModelError
from models.speech.text import LexiconFeatures, to_simplified

F64 = NDArray[np.float64]


def best_f1_threshold(y: NDArray[np.bool_], scores: F64) -> float:
    """The score threshold (predict positive at >=) with the highest F1 on ``(y, scores)``."""
    precision, recall, thresholds = precision_recall_curve(y, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])


class DistressTextClassifier(BaseEstimator, ClassifierMixin):
    """Text -> P(sadness or fear); ``score_samples`` is that probability.

    Parameters: ``lang`` ("en" or "zh": picks the n-gram scheme and lexicon), ``Cs`` (the
    regularisation grid searched by inner CV), ``inner_folds``, ``lexicon_weight`` (0 = no
    lexicon features), ``random_state`` (inner folds).
    """

    def __init__(
        self,
        lang: str = "en",
        Cs: tuple[float, ...] = (0.3, 1.0, 3.0),
        inner_folds: int = 3,
        lexicon_weight: float = 1.0,
        random_state: int | None = 0,
    ) -> None:
        self.lang = lang
        self.Cs = Cs
        self.inner_folds = inner_folds
        self.lexicon_weight = lexicon_weight
        self.random_state = random_state

    def _features(self, *, min_df: int) -> FeatureUnion:
        parts: list[tuple[str, object]] = []
        if self.lang == "zh":
            parts.append(
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char",
                        ngram_range=(1, 4),
                        sublinear_tf=True,
                        preprocessor=to_simplified,
                    ),
                )
            )
        else:
            parts.append(
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=min_df
                    ),
                )
            )
            parts.append(
                (
                    "words",
                    TfidfVectorizer(
                        ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w[\w']*\b"
                    ),
                )
            )
        if self.lexicon_weight > 0:
            parts.append(("lexicon", LexiconFeatures(lang=self.lang, weight=self.lexicon_weight)))
        return FeatureUnion(parts)

    def _logistic(self, C: float) -> LogisticRegression:
        return LogisticRegression(
            C=C, class_weight="balanced", solver="liblinear", max_iter=5000, random_state=0
        )

    def fit(self, X: Iterable[str], y: Sequence[bool] | NDArray[np.bool_]) -> Self:
        """Choose ``C`` and the threshold by inner CV on (X, y), then fit on all of it."""
        texts = np.asarray(list(X), dtype=object)
        labels = np.asarray(y, dtype=bool)
        if self.lang not in ("en", "zh"):
            raise ModelError(f"lang must be 'en' or 'zh', not {self.lang!r}")
        if len(texts) != len(labels):
            raise ModelError(f"{len(texts)} texts but {len(labels)} labels")
        if not self.Cs or min(self.Cs) <= 0:
            raise ModelError("Cs must be a non-empty tuple of positive numbers")
        n_pos = int(labels.sum())
        if min(n_pos, len(labels) - n_pos) < self.inner_folds or self.inner_folds < 2:
            raise ModelError(f"need >= {max(self.inner_folds, 2)} texts of each class")
        # English char n-grams seen once are mostly names and typos: drop them when there is
        # enough text for that to matter (thousands of lines), keep them on small sets.
        min_df = 2 if len(texts) >= 2000 else 1

        oof = np.zeros((len(self.Cs), len(texts)))
        inner = StratifiedKFold(self.inner_folds, shuffle=True, random_state=self.random_state)
        for train, val in inner.split(texts, labels):
            features = self._features(min_df=min_df)
            a = features.fit_transform(texts[train])
            b = features.transform(texts[val])
            for i, C in enumerate(self.Cs):
                oof[i, val] = self._logistic(C).fit(a, labels[train]).predict_proba(b)[:, 1]
        aurocs = [roc_auc_score(labels, row) for row in oof]
        best = int(np.argmax(aurocs))
        self.C_ = float(self.Cs[best])
        self.inner_auroc_ = float(aurocs[best])
        self.threshold_ = best_f1_threshold(labels, oof[best])

        self.features_ = self._features(min_df=min_df)
        self.logistic_ = self._logistic(self.C_).fit(self.features_.fit_transform(texts), labels)
        self.classes_ = np.array([False, True])
        return self

    def score_samples(self, X: Iterable[str]) -> F64:
        """P(distress) for each text: higher = more distressed."""
        check_is_fitted(self, "logistic_")
        feats = self.features_.transform(np.asarray(list(X), dtype=object))
        return np.asarray(self.logistic_.predict_proba(feats)[:, 1], dtype=float)

    def predict_proba(self, X: Iterable[str]) -> F64:
        """Columns: P(not distress), P(distress)."""
        p = self.score_samples(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Iterable[str]) -> NDArray[np.bool_]:
        """Distress where the probability reaches the threshold chosen in ``fit``."""
        return self.score_samples(X) >= self.threshold_
