"""Which recognised text the care-intent model may read, and why not when it may not.

The model knows English and Chinese (both scripts, Mandarin and Cantonese). Given anything
else it still returns probabilities - for French, Japanese or a recogniser's noise they mean
nothing - so the text is checked first and an utterance that fails is read as **neutral**
with a reason the scorer logs (the acoustic features are still scored: agitation does not
need words). Reasons, a bounded set for logs and metrics:

* ``empty_text`` - no words at all (whitespace, or only recogniser markers such as
  ``[noise]``, ``<unk>``, ``(inaudible)``);
* ``language_unsupported`` - the device's language tag is neither English nor Chinese, or
  most of the letters are of another script (kana, Hangul, Cyrillic, Thai, ...);
* ``garbled_text`` - no letters (``"???"``, ``"..."``, digits), or Latin words of which
  none is known to the model (``"xkcd qwrt zzpl"``).
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Literal

from sklearn.feature_extraction.text import TfidfVectorizer

from models.speech.intent import CareIntentClassifier
from models.speech.text import normalise_lang

Reason = Literal["empty_text", "language_unsupported", "garbled_text"]
REASONS: tuple[Reason, ...] = ("empty_text", "language_unsupported", "garbled_text")

_MARKERS = re.compile(r"\[[^\]]*\]|<[^>]*>|\([^)]*\)")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[A-Za-z']+")
#: Share of letters that must be Latin or Han for the text to be one the model reads.
_MODELLED_SHARE = 0.5


def unreadable(text: object, language: object, known_words: Container[str]) -> Reason | None:
    """Why the intent model must not read ``text`` (None: it may).

    ``language`` is the utterance's BCP 47 tag (may be missing); ``known_words`` the English
    words the model has seen (its word vocabulary), lower-cased.
    """
    if not isinstance(text, str) or not _MARKERS.sub(" ", text).strip():
        return "empty_text"
    if isinstance(language, str) and language.strip():
        try:
            normalise_lang(language)
        except ValueError:
            return "language_unsupported"
    body = _MARKERS.sub(" ", text)
    letters = [c for c in body if c.isalpha()]
    if not letters:
        return "garbled_text"
    han = len(_HAN.findall(body))
    latin = len(_LATIN.findall(body))
    if han + latin < _MODELLED_SHARE * len(letters):
        return "language_unsupported"
    if han == 0:
        words = [w.lower().strip("'") for w in _WORD.findall(body)]
        if not any(w in known_words for w in words if w):
            return "garbled_text"
    return None


def model_words(classifier: CareIntentClassifier) -> frozenset[str]:
    """The English words a fitted classifier has seen (its word n-gram vocabulary's single
    words, lower-cased; negation marks upper-case them, hence the lower-casing)."""
    union = classifier.pipeline_.named_steps["features"]
    for name, part in union.transformer_list:
        if name == "words" and isinstance(part, TfidfVectorizer):
            return frozenset(t.lower() for t in part.vocabulary_ if " " not in t)
    return frozenset()
