"""Text preparation shared by the speech text models: negation marking, our own data files.

Negation is marked rather than left to n-grams because care requests turn on it: "I'm not in
pain" and "我不疼" share almost every character n-gram with "I'm in pain" and "我疼". Words
inside an English negation scope are upper-cased (the models never lower-case again), and
Chinese characters right after a negator are moved to a private-use code point, so a negated
"疼" is a different feature from a plain one and the models learn what each means from the
corpus.

The data files (``models/speech_data/``) are written by the careloop authors for these models:
``intents.tsv`` (``intent, lang, text``) and ``distress_lexicon.tsv`` (``category, lang,
term``). They ship inside the package and are read with :mod:`importlib.resources`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from sklearn.base import BaseEstimator, TransformerMixin

#: English words that open a negation scope (closed by punctuation or "but").
EN_NEGATORS = frozenset(
    {"not", "no", "never", "nothing", "nobody", "nowhere", "without", "cannot", "neither", "nor"}
)
#: Chinese characters that negate the next few characters.
ZH_NEGATORS = frozenset("不没沒别別未无無甭")
#: How many characters after a Chinese negator are marked (不舒服, 没发烧, 不用叫人).
ZH_SCOPE = 2
_PUNCT = frozenset(',.!?;:，。！？；：、…()（）"“”')
_PRIVATE_USE = 0xF0000  # Supplementary Private Use Area-A: never in real text
_TOKEN = re.compile(r"[a-z']+|\s+|.", re.DOTALL)
_ENGLISH_WORD = re.compile(r"[a-z']+")


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc  # opencc-python-reimplemented: pure Python, dictionaries in the wheel

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese characters as simplified ones (other text unchanged).

    Simplified and traditional script are one language written two ways: without this a
    model learns two features for 難過 and 难过 and sees half the evidence for each. On XED's
    Chinese lines it raised out-of-fold distress AUROC from 0.698 to 0.744 with twin lines
    kept in one fold (docs/evaluation/utterances.md).
    """
    return str(_t2s().convert(text))


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def mark_negation(text: str) -> str:
    """Lower-case ``text`` and mark what lies in a negation scope (see the module docstring).

    >>> mark_negation("I'm not in pain, but my back hurts")
    "i'm not IN PAIN, but my back hurts"
    """
    text = text.lower().replace("’", "'")
    out: list[str] = []
    en_scope = False
    zh_left = 0
    for tok in _TOKEN.findall(text):
        if tok.isspace():
            out.append(tok)
        elif _ENGLISH_WORD.fullmatch(tok):
            if tok == "but":
                en_scope = False
            out.append(tok.upper() if en_scope else tok)
            if tok in EN_NEGATORS or tok.endswith("n't"):
                en_scope = True
        elif tok in _PUNCT:
            en_scope, zh_left = False, 0
            out.append(tok)
        elif _is_cjk(tok):
            if zh_left > 0:
                out.append(chr(_PRIVATE_USE + ord(tok)))
                zh_left -= 1
            else:
                out.append(tok)
                if tok in ZH_NEGATORS:
                    zh_left = ZH_SCOPE
        else:
            out.append(tok)
    return "".join(out)


def _read_tsv(name: str) -> list[dict[str, str]]:
    path = resources.files("models") / "speech_data" / name
    lines = path.read_text(encoding="utf-8").splitlines()
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


@lru_cache(maxsize=1)
def load_intent_corpus() -> tuple[tuple[str, str, str], ...]:
    """The bilingual care-intent corpus as ``(intent, lang, text)`` rows (our own text)."""
    return tuple((r["intent"], r["lang"], r["text"]) for r in _read_tsv("intents.tsv"))


@lru_cache(maxsize=1)
def load_distress_lexicon() -> dict[str, dict[str, tuple[str, ...]]]:
    """Our small sadness/fear lexicon: ``{lang: {category: terms}}``."""
    out: dict[str, dict[str, list[str]]] = {}
    for r in _read_tsv("distress_lexicon.tsv"):
        out.setdefault(r["lang"], {}).setdefault(r["category"], []).append(r["term"].lower())
    return {lang: {c: tuple(t) for c, t in cats.items()} for lang, cats in out.items()}


class LexiconFeatures(BaseEstimator, TransformerMixin):
    """Per category of :func:`load_distress_lexicon`: hit count (capped at 3, scaled to 0-1)
    and whether any term hit. English terms match whole words, Chinese terms substrings.

    Pooled counts carry evidence from words too rare for an n-gram weight of their own.
    """

    def __init__(self, lang: str = "en", weight: float = 1.0) -> None:
        self.lang = lang
        self.weight = weight

    def fit(self, X: Iterable[str], y: object = None) -> LexiconFeatures:
        """Stateless; checks that the lexicon has the language."""
        lexicon = load_distress_lexicon()
        if self.lang not in lexicon:
            raise ValueError(f"no distress lexicon for language {self.lang!r}")
        self.categories_ = tuple(sorted(lexicon[self.lang]))
        return self

    def transform(self, X: Iterable[str]) -> csr_matrix:
        """Two columns per category."""
        terms = load_distress_lexicon()[self.lang]
        rows: list[list[float]] = []
        for text in X:
            low = text.lower()
            words = set(_ENGLISH_WORD.findall(low))
            row: list[float] = []
            for cat in self.categories_:
                if self.lang == "zh":
                    hits = sum(t in low for t in terms[cat])
                else:
                    hits = sum(t in words for t in terms[cat])
                row += [min(hits, 3) / 3.0, float(hits > 0)]
            rows.append(row)
        arr: NDArray[np.float64] = np.asarray(rows, dtype=float).reshape(len(rows), -1)
        return csr_matrix(arr * self.weight)
