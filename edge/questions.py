"""Repeated questions, noticed on the device from the words it heard.

Asking the same question again and again ("現在幾點了？", "what time is it?") is one of the
signs of confusion the speech model weighs. The agent notices it where the words are: a
rolling window of the questions of the last minutes is kept **in this process's memory
only** (never written to disk, never sent; a restart forgets it), and each new question is
compared with them. Only the answer, ``repeated_question: true/false``, leaves the device.

* **Is it a question?** A question mark (``?``, ``？``); in Chinese a final particle (嗎/吗,
  呢) or a question word anywhere (幾點/几点, 什麼/甚麼/什么, 哪, 誰/谁, 怎麼/怎么, 多少,
  幾號/几号, 星期幾, 有沒有/有没有, 是不是); in English a *wh*-word or an inverted auxiliary
  first ("what…", "is the car…", "have we…").
* **Is it the same question?** Both are normalised (Traditional folded to Simplified
  Chinese, case folded, punctuation, spaces, final particles and fillers dropped), then
  compared with :class:`difflib.SequenceMatcher` — over characters in Chinese, over words in
  English. A ratio of at least ``similarity`` (0.8 by default) within ``window_s`` is a
  repeat: "今天是幾號" / "今天几号" (0.89) and "what time is it?" / "what time is it now"
  (1.0: "now" is a filler) are; "what day is it today" / "what time is it" (0.67) is not.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ZH_WORDS = re.compile(
    r"幾點|几点|什麼|甚麼|什么|哪|誰|谁|怎麼|怎么|多少|幾號|几号|星期幾|星期几|幾時|几时"
    r"|有沒有|有没有|是不是|好不好|對不對|对不对|為何|为何"
)
_ZH_FINAL = re.compile(r"[嗎吗呢][\s。.!！~～]*$")
_ZH_PARTICLES = re.compile(r"[嗎吗呢吧啊呀了喔哦嘛]+$")
# Word lists read better as text than as a column of quoted strings.
_EN_OPENERS = frozenset(
    "what whats when whens where wheres who whos whom whose which why how hows "  # noqa: SIM905  # a word list
    "is are am was were do does did can could will would shall should have has had may "
    "might must isnt arent wasnt werent dont doesnt didnt cant couldnt wont wouldnt "
    "havent hasnt".split()
)
_EN_FILLERS = frozenset("um uh er erm hmm oh well so please now again dear love".split())  # noqa: SIM905  # a word list
_TOKEN = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc  # opencc-python-reimplemented: pure Python, dictionaries in the wheel

    return opencc.OpenCC("t2s")


def _chinese(text: str) -> bool:
    return bool(_HAN.search(text))


def is_question(text: str) -> bool:
    """Whether ``text`` (Chinese in either script, or English) asks something."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return False
    if "?" in text:  # NFKC folds the full-width ？ to ?
        return True
    if _chinese(text):
        return bool(_ZH_WORDS.search(text) or _ZH_FINAL.search(text))
    tokens = _TOKEN.findall(text.lower().replace("'", ""))
    return bool(tokens) and tokens[0] in _EN_OPENERS


def normalise(text: str) -> tuple[str, ...]:
    """The comparable form of a question: Chinese characters, or English words."""
    text = unicodedata.normalize("NFKC", text).lower()
    if _chinese(text):
        folded = str(_t2s().convert(text))
        chars = "".join(re.findall(r"[^\W_]", folded))
        return tuple(_ZH_PARTICLES.sub("", chars))
    words = _TOKEN.findall(text.replace("'", ""))
    return tuple(w for w in words if w not in _EN_FILLERS)


class RepeatedQuestions:
    """The questions of the last ``window_s`` seconds, and whether a new one repeats one.

    Time is the utterance's own timestamp (epoch ms), so replays and tests need no clock.
    At most ``max_kept`` questions are held; the oldest go first.
    """

    def __init__(
        self, *, window_s: float = 1800.0, similarity: float = 0.8, max_kept: int = 200
    ) -> None:
        if window_s <= 0 or not 0 < similarity <= 1 or max_kept < 1:
            raise ValueError("window_s > 0, 0 < similarity <= 1 and max_kept >= 1 expected")
        self.window_ms = int(window_s * 1000)
        self.similarity = similarity
        self._kept: deque[tuple[int, tuple[str, ...]]] = deque(maxlen=max_kept)

    def __len__(self) -> int:
        return len(self._kept)

    def heard(self, text: str, ts_ms: int) -> bool:
        """Whether ``text``, said at ``ts_ms``, repeats a question of the window.

        A question is remembered for the window; anything else is neither remembered nor a
        repeat.
        """
        if not is_question(text):
            return False
        form = normalise(text)
        if not form:
            return False
        while self._kept and self._kept[0][0] < ts_ms - self.window_ms:
            self._kept.popleft()
        repeated = any(
            0 <= ts_ms - ts <= self.window_ms
            and SequenceMatcher(None, form, old, autojunk=False).ratio() >= self.similarity
            for ts, old in self._kept
        )
        self._kept.append((ts_ms, form))
        return repeated
