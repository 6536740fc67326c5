"""Cue-word features for the care intents: our own lexicon of words that carry each intent.

The corpus can only hold so many sentences, and a resident will use words none of them has
("my sciatica is playing up", "個水喉師傅好有心"). ``intent_cues.tsv`` (``cue, lang, term``)
lists, per cue (``pain_word``, ``thanks``, ``rude``, ``temp``, ...), far more words and
phrases than the corpus uses, written from what the words mean. Each cue becomes two pooled
features - a plain hit and a negated hit - so a word the corpus never showed still carries the
weight its cue learnt from the words the corpus did show, and "not lonely" counts against low
mood rather than for it. (A second pass added words for kinds of situation the grouped
cross-validation showed uncovered, e.g. palpitations, "nobody listens"; so the cross-validated
gain from cues is somewhat optimistic, and the separate held-out file is the check; a unit test
refuses any term that matches a held-out line but no corpus line.)

Matching runs on the same prepared text as the n-grams (Chinese folded onto Simplified
Mandarin, negation marked, see :mod:`models.speech.text`): English terms match whole words or
word sequences (negated when the first word lies in a negation scope), Chinese terms match
substrings, as written (a term may carry its own negator: 起不来, 不舒服) or with every
character in a negation scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, NamedTuple, Self

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from sklearn.base import BaseEstimator, TransformerMixin

from models.speech.text import fold_chinese, mark_negation, negated, prepare, read_data_tsv

_WORD = re.compile(r"[A-Za-z']+")
_MAX_NGRAM = 4


class CueIndex(NamedTuple):
    """The lexicon as look-up tables: term -> indices of the cues it belongs to."""

    names: tuple[str, ...]
    en: dict[tuple[str, ...], tuple[int, ...]]
    #: Chinese terms as written (negation-marked like the text) and fully negated
    zh_plain: dict[str, tuple[int, ...]]
    zh_negated: dict[str, tuple[int, ...]]
    zh_longest: int


@lru_cache(maxsize=1)
def load_cues() -> CueIndex:
    """The packaged cue lexicon (``intent_cues.tsv``), indexed for matching."""
    rows = read_data_tsv("intent_cues.tsv")
    names = tuple(sorted({r["cue"] for r in rows}))
    en: dict[tuple[str, ...], set[int]] = {}
    zh_plain: dict[str, set[int]] = {}
    zh_negated: dict[str, set[int]] = {}
    for r in rows:
        cue, term = names.index(r["cue"]), r["term"].strip()
        if r["lang"] == "en":
            words = tuple(w.lower() for w in _WORD.findall(term.replace("’", "'")))
            if 0 < len(words) <= _MAX_NGRAM:
                en.setdefault(words, set()).add(cue)
        elif term:
            folded = fold_chinese(term).lower()
            zh_plain.setdefault(mark_negation(folded), set()).add(cue)
            zh_negated.setdefault(negated(folded), set()).add(cue)
    longest = max((len(t) for t in zh_plain), default=1)

    def frozen(d: dict[Any, set[int]]) -> dict[Any, tuple[int, ...]]:
        return {k: tuple(sorted(v)) for k, v in d.items()}

    return CueIndex(names, frozen(en), frozen(zh_plain), frozen(zh_negated), longest)


def cue_counts(text: str, index: CueIndex) -> tuple[list[int], list[int]]:
    """Plain and negated hit counts per cue in ``text`` (raw; prepared here)."""
    marked = prepare(text)
    hits = [0] * len(index.names)
    neg = [0] * len(index.names)
    words = _WORD.findall(marked)
    for n in range(1, _MAX_NGRAM + 1):
        for i in range(len(words) - n + 1):
            for cue in index.en.get(tuple(w.lower() for w in words[i : i + n]), ()):
                # negated when the term starts inside a negation scope (upper-cased)
                if words[i].isupper():
                    neg[cue] += 1
                else:
                    hits[cue] += 1
    for i in range(len(marked)):
        for j in range(i + 1, min(i + index.zh_longest, len(marked)) + 1):
            piece = marked[i:j]
            for cue in index.zh_plain.get(piece, ()):
                hits[cue] += 1
            for cue in index.zh_negated.get(piece, ()):
                neg[cue] += 1
    return hits, neg


class CueFeatures(BaseEstimator, TransformerMixin):
    """Per cue of :func:`load_cues`: plain and negated hit counts (capped at 2, scaled to 0-1,
    times ``weight``). Input is raw text; it is prepared here like the n-grams' text."""

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def fit(self, X: Iterable[str], y: object = None) -> Self:
        """Stateless apart from the cue names (read from the packaged lexicon)."""
        self.cues_ = load_cues().names
        return self

    def row(self, text: str) -> NDArray[np.float64]:
        """One text's features as a dense row (what :meth:`transform` stacks)."""
        index = load_cues()
        if index.names != self.cues_:
            raise ValueError("the cue lexicon changed since fit")
        hits, neg = cue_counts(text, index)
        arr = np.array([v for pair in zip(hits, neg, strict=True) for v in pair], dtype=float)
        return np.minimum(arr, 2.0) / 2.0 * self.weight

    def transform(self, X: Iterable[str]) -> csr_matrix:
        """Two columns per cue: plain hits, negated hits."""
        rows = [self.row(text) for text in X]
        return csr_matrix(np.asarray(rows, dtype=float).reshape(len(rows), 2 * len(self.cues_)))
