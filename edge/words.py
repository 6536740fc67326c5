"""Speech rate from a recogniser's words and their timings, on the device.

A voice device's recogniser hands the agent the words it heard, each with its start and end
time in the utterance. The agent counts their syllables and divides by the time spent
speaking, so the rate is the same articulation rate :mod:`edge.audio` measures from sound:

* **syllables**: one per Han character (Mandarin is one syllable per character, in either
  script); for words in Latin letters, an English sound heuristic (vowel groups, less a
  silent final *e* and silent *-es*/*-ed*, common suffixes counted on their own, *-ing*
  after a vowel and *i* before a vowel as their own syllable); one per digit. Counting does
  not depend on the language tag, so a Mandarin sentence with an English word in it counts
  both right.
* **speaking time**: from the first word's start to the last word's end, less the pauses
  between words longer than :data:`PAUSE_S` (a pause is not slow speech).

The words never leave this module as anything but numbers unless the agent's consent check
lets the text through (:meth:`edge.agent.EdgeAgent._serialize`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edge.errors import SpeechError

#: Pauses longer than this (s) between words are not speaking time (as in edge.audio).
PAUSE_S = 0.3
#: Shortest speaking time (s) a rate is computed from.
MIN_SPEAKING_S = 0.1
#: Fastest plausible articulation rate (syllables/s): the wire contract's bound.
MAX_RATE = 15.0
#: Longest utterance (s): the wire's duration_s bound.
MAX_DURATION_S = 300.0

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z]+(?:'[a-z]+)*")
_DIGIT = re.compile(r"[0-9]")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")
#: Suffixes that are a syllable of their own after a stem ("love-ly", "care-ful").
_SUFFIXES = ("fully", "ment", "ness", "less", "ful", "ly")


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word: its text and when it was said (s from the utterance's start)."""

    text: str
    start: float
    end: float

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise SpeechError("bad_words", "a word's text is not a string")
        for name, value in (("start", self.start), ("end", self.end)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SpeechError("bad_words", f"a word's {name} is not a number")
            if not math.isfinite(value) or value < 0:
                raise SpeechError("bad_words", f"a word's {name} is {value}, not a time >= 0")
        if self.end < self.start:
            raise SpeechError("bad_words", f"a word ends ({self.end}) before it starts")


@dataclass(frozen=True, slots=True)
class WordTiming:
    """What the words say about how they were spoken."""

    syllables: int
    speaking_s: float
    duration_s: float
    speech_rate: float


def parse_words(raw: Any) -> tuple[Word, ...]:
    """Words from JSON: a list of ``{"text": str, "start": s, "end": s}``.

    Raises :class:`SpeechError` (``bad_words``) on anything else, saying what, never which
    words.
    """
    if not isinstance(raw, list):
        raise SpeechError("bad_words", f"words must be a list, not {type(raw).__name__}")
    words = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != {"text", "start", "end"}:
            raise SpeechError("bad_words", f"word {i} is not {{text, start, end}}")
        words.append(Word(item["text"], item["start"], item["end"]))
    return tuple(words)


def english_syllables(word: str) -> int:
    """Syllables of one word in Latin letters, by how English spells its sounds."""
    w = word.lower().replace("'", "")
    if not w:
        return 0
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return english_syllables(w[: -len(suffix)]) + 1
    if w.startswith("y"):
        w = w[1:]  # a leading y is a consonant ("yes", "yet")
    count = len(_VOWEL_GROUP.findall(w))
    if len(w) > 2 and count > 1:
        if w.endswith("e") and not re.search(r"[^aeiouy]le$|ee$|ye$", w):
            count -= 1  # silent final e: "take", "where", "home"
        elif re.search(r"[^aeiouystdxzgc]es$|[^aeiouytd]ed$", w):
            count -= 1  # silent -es / -ed: "takes", "named" (but "boxes", "wanted")
    count += len(re.findall(r"[aeouy]ing$", w))  # "going", "being", "playing"
    count += len(re.findall(r"[^tcsgx]i[ao]", w))  # "radio", "piano" (not "nation")
    return max(1, count)


def syllables(text: str) -> int:
    """Syllables in ``text``: Han characters, English words, digits (see module docstring)."""
    lowered = text.lower()
    return (
        len(_HAN.findall(text))
        + sum(english_syllables(w) for w in _LATIN.findall(lowered))
        + len(_DIGIT.findall(text))
    )


def timing(words: Sequence[Word], *, pause_s: float = PAUSE_S) -> WordTiming:
    """Syllables, speaking time and articulation rate of ``words``.

    Raises :class:`SpeechError`: ``no_words`` (empty), ``no_syllables`` (nothing
    pronounceable), ``too_short`` (under :data:`MIN_SPEAKING_S`) or ``bad_words`` (timings
    that give a rate or length no person speaks at).
    """
    if not words:
        raise SpeechError("no_words", "the recogniser heard no words")
    ordered = sorted(words, key=lambda w: w.start)
    count = sum(syllables(w.text) for w in ordered)
    if count == 0:
        raise SpeechError("no_syllables", f"{len(words)} words without a syllable")
    first, last = ordered[0].start, max(w.end for w in ordered)
    duration = last - first
    if duration > MAX_DURATION_S:
        raise SpeechError("bad_words", f"words span {duration:.0f} s (most {MAX_DURATION_S:.0f})")
    paused, reach = 0.0, ordered[0].end
    for w in ordered[1:]:
        gap = w.start - reach
        if gap > pause_s:
            paused += gap
        reach = max(reach, w.end)
    speaking = duration - paused
    if speaking < MIN_SPEAKING_S:
        raise SpeechError("too_short", f"{speaking:.2f} s of speaking time")
    rate = count / speaking
    if rate > MAX_RATE:
        raise SpeechError("bad_words", f"{rate:.1f} syllables/s is faster than anyone speaks")
    return WordTiming(count, round(speaking, 3), round(duration, 3), round(rate, 2))


def join_words(words: Sequence[Word]) -> str:
    """The words as text: no space between two Chinese words, one between any others."""
    out = ""
    for w in sorted(words, key=lambda w: w.start):
        text = w.text.strip()
        if not text:
            continue
        if out and not (_HAN.match(out[-1]) and _HAN.match(text[0])):
            out += " "
        out += text
    return out
