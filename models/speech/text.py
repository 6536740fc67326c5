"""Text preparation shared by the speech text models: language tags, script and dialect
folding, negation marking, our own data files.

Negation is marked rather than left to n-grams because care requests turn on it: "I'm not in
pain" and "我不疼" share almost every character n-gram with "I'm in pain" and "我疼". Words
inside an English negation scope are upper-cased (the models never lower-case again), and
Chinese characters right after a negator are moved to a private-use code point, so a negated
"疼" is a different feature from a plain one and the models learn what each means from the
corpus. A second negator inside a scope closes it (double negation: "我不是不舒服", "我沒有不
開心" leave "舒服" and "開心" unmarked, i.e. read as the positive they are).

Chinese arrives in two scripts and, from Hong Kong, often in written Cantonese. Both are folded
onto one form before features: Traditional -> Simplified with OpenCC, then Cantonese words ->
their Mandarin equivalents from our small table (``cantonese.tsv``: 唔 -> 不, 冇 -> 沒有, 佢 ->
他, ...). So "我唔係唔舒服" and "我不是不舒服" give the same features, and a phrasing seen in one
variety teaches the model about the others.

The data files (``models/speech_data/``) are written by the careloop authors for these models:
``intents.tsv`` (``group, lang, intent, text``), ``cantonese.tsv`` and
``distress_lexicon.tsv`` (``category, lang, term``). They ship inside the package and are read
with :mod:`importlib.resources`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from sklearn.base import BaseEstimator, TransformerMixin

Lang = Literal["en", "zh-Hant", "zh-Hans"]
#: The corpus languages: English and Chinese in its two scripts.
LANGS: tuple[Lang, ...] = ("en", "zh-Hant", "zh-Hans")
#: Accepted BCP 47 tags (lower-cased, "_" read as "-") -> corpus language. Bare "zh" is read as
#: Simplified (the older corpus tag); the model itself folds both scripts onto one form.
_LANG_TAGS: dict[str, Lang] = {
    "en": "en",
    "en-gb": "en",
    "en-us": "en",
    "en-au": "en",
    "zh": "zh-Hans",
    "zh-hans": "zh-Hans",
    "zh-cn": "zh-Hans",
    "zh-sg": "zh-Hans",
    "zh-hans-cn": "zh-Hans",
    "zh-hant": "zh-Hant",
    "zh-tw": "zh-Hant",
    "zh-hk": "zh-Hant",
    "zh-mo": "zh-Hant",
    "zh-hant-tw": "zh-Hant",
    "zh-hant-hk": "zh-Hant",
    "yue": "zh-Hant",
    "yue-hk": "zh-Hant",
}

#: English words that open a negation scope (closed by punctuation or "but"); the forms
#: without an apostrophe are how speech recognisers often spell them.
EN_NEGATORS = frozenset(
    {"not", "no", "never", "nothing", "nobody", "nowhere", "without", "cannot", "neither", "nor"}
    | {"dont", "cant", "wont", "isnt", "doesnt", "didnt", "havent", "wasnt", "arent", "aint"}
)
#: Chinese characters that negate the next few characters (Mandarin and Cantonese).
ZH_NEGATORS = frozenset("不没沒别別未无無甭唔冇勿")
#: How many content characters after a Chinese negator are marked (不舒服, 没发烧, 不用叫人).
ZH_SCOPE = 2
#: Function characters inside a scope: marked, but they do not use it up, so the negation
#: reaches the word it is about (不太舒服, 没有发烧, 不是很疼, 不觉得孤单).
ZH_SCOPE_SKIP = frozenset("有是系太很怎么那算会觉得大再还用要")
_PUNCT = frozenset(',.!?;:，。！？；：、…()（）"“”')
_PRIVATE_USE = 0xF0000  # Supplementary Private Use Area-A: never in real text
_TOKEN = re.compile(r"[a-z']+|\s+|.", re.DOTALL)
_ENGLISH_WORD = re.compile(r"[a-z']+")


class IntentLine(NamedTuple):
    """One corpus line. Positional order (intent, lang, text) is the older tuple's."""

    intent: str
    lang: Lang
    text: str
    #: paraphrase group: lines saying the same thing (in any language) share it, so
    #: cross-validation can leave a whole group out
    group: str


def normalise_lang(tag: str) -> Lang:
    """A BCP 47 tag ("zh-TW", "zh_HK", "zh-CN", "zh", "en-GB", ...) as a corpus language.

    Raises ``ValueError`` for a tag that is neither English nor Chinese.
    """
    key = tag.strip().replace("_", "-").lower()
    if key in _LANG_TAGS:
        return _LANG_TAGS[key]
    base = key.split("-", 1)[0]
    if base == "en":
        return "en"
    raise ValueError(f"language {tag!r} is not one of {LANGS} (or a tag such as zh-TW, zh-CN)")


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


@lru_cache(maxsize=1)
def _cantonese() -> tuple[re.Pattern[str], dict[str, str]]:
    table = {
        to_simplified(r["cantonese"]): to_simplified(r["mandarin"])
        for r in read_data_tsv("cantonese.tsv")
    }
    # longest first, so 唔該 wins over 唔 and 佢哋 over 佢
    keys = sorted(table, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, keys))), table


def cantonese_to_mandarin(text: str) -> str:
    """Written Cantonese words in *simplified* ``text`` replaced by Mandarin ones (our table)."""
    pattern, table = _cantonese()
    return pattern.sub(lambda m: table[m.group(0)], text)


def fold_chinese(text: str) -> str:
    """Simplified script, then Mandarin words for Cantonese ones (see the module docstring)."""
    return cantonese_to_mandarin(to_simplified(text))


def negated(term: str) -> str:
    """``term`` as :func:`mark_negation` writes it when every character is in a negation
    scope (for matching Chinese words that were negated)."""
    return "".join(chr(_PRIVATE_USE + ord(c)) for c in term)


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
                if tok in ZH_NEGATORS:
                    zh_left = 0  # double negation: what follows is meant positively
                elif tok not in ZH_SCOPE_SKIP:
                    zh_left -= 1
            else:
                out.append(tok)
                if tok in ZH_NEGATORS:
                    zh_left = ZH_SCOPE
        else:
            out.append(tok)
    return "".join(out)


@lru_cache(maxsize=8192)
def prepare(text: str) -> str:
    """:func:`fold_chinese` then :func:`mark_negation`: the text every intent feature reads.

    Cached: the character n-grams, word n-grams and cue words of one utterance all start from
    it, and a resident's short phrases repeat."""
    return mark_negation(fold_chinese(text))


def read_data_tsv(name: str) -> list[dict[str, str]]:
    """Rows of one of our tab-separated files in ``models/speech_data`` (header, no quoting)."""
    path = resources.files("models") / "speech_data" / name
    lines = path.read_text(encoding="utf-8").splitlines()
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_intent_lines(lines: Iterable[str], *, grouped: bool = True) -> list[IntentLine]:
    """Parse ``group, lang, intent, text`` TSV lines (``group`` optional when not
    ``grouped``: each line is then its own group). Language tags are normalised."""
    out: list[IntentLine] = []
    for i, r in enumerate(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)):
        missing = {"lang", "intent", "text"} - set(r)
        if missing or any(r[k] is None for k in ("lang", "intent", "text")):
            raise ValueError(f"line {i + 2}: need lang, intent and text columns")
        group = r.get("group") or ("" if grouped else f"line{i + 2}")
        if not group:
            raise ValueError(f"line {i + 2}: no paraphrase group")
        out.append(IntentLine(r["intent"], normalise_lang(r["lang"]), r["text"], group))
    return out


@lru_cache(maxsize=1)
def load_intent_corpus() -> tuple[IntentLine, ...]:
    """The care-intent corpus (our own text): :class:`IntentLine` rows, English and Chinese in
    both scripts, each in a paraphrase group."""
    path = resources.files("models") / "speech_data" / "intents.tsv"
    return tuple(read_intent_lines(path.read_text(encoding="utf-8").splitlines()))


@lru_cache(maxsize=1)
def load_distress_lexicon() -> dict[str, dict[str, tuple[str, ...]]]:
    """Our small sadness/fear lexicon: ``{lang: {category: terms}}``."""
    out: dict[str, dict[str, list[str]]] = {}
    for r in read_data_tsv("distress_lexicon.tsv"):
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
