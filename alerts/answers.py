"""The resident's answer to "how satisfied were you?" -> a score from 1 (bad) to 5 (very good).

Spoken answers are short: "很好", "還可以", "不好", "good", "ok", "bad", or a number 1-5 ("4",
"四分", "five"). :func:`parse_rating` normalises the text (Simplified to one table, case,
punctuation, fillers such as "嗯", "我覺得", "I think", and final particles such as "啊",
"喔", "了"), then looks the rest up in :data:`ANSWERS` as a whole: "不好" never matches
"好", and a sentence that is not an answer ("嗯…", "what?") is None, which the alert
service treats as "ask once more". A device's rating button sends the same words or a
digit as the event's ``detail``.
"""

from __future__ import annotations

import re
import unicodedata

#: Whole answers (after normalisation) -> score. Traditional and Simplified both listed.
ANSWERS: dict[str, int] = {
    # 5: very good
    **dict.fromkeys(
        ["非常好", "很好", "太好了", "好極了", "好极了", "很棒", "非常滿意", "非常满意",
         "很滿意", "很满意", "excellent", "very good", "great", "perfect", "wonderful",
         "very satisfied"], 5),
    # 4: good
    **dict.fromkeys(
        ["好", "不錯", "不错", "還不錯", "还不错", "蠻不錯", "蛮不错", "滿意", "满意", "挺好",
         "蠻好", "蛮好", "幾好", "几好", "good", "pretty good", "satisfied", "nice"], 4),
    # 3: ok
    **dict.fromkeys(
        ["還可以", "还可以", "可以", "還好", "还好", "普通", "一般", "馬馬虎虎", "马马虎虎",
         "ok", "okay", "so so", "fine", "alright", "all right", "not bad"], 3),
    # 2: bad
    **dict.fromkeys(
        ["不好", "不太好", "不滿意", "不满意", "不怎麼樣", "不怎么样", "差", "bad", "not good",
         "poor", "not satisfied", "unhappy"], 2),
    # 1: very bad
    **dict.fromkeys(
        ["很不好", "非常不好", "很差", "非常差", "太差了", "太差", "很糟", "很糟糕", "糟透了",
         "很不滿意", "很不满意", "terrible", "very bad", "awful", "horrible", "very poor"], 1),
}  # fmt: skip

_NUMBERS = {
    "1": 1, "2": 2, "3": 3, "4": 4, "5": 5,
    "一": 1, "二": 2, "兩": 2, "两": 2, "三": 3, "四": 4, "五": 5,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
}  # fmt: skip
_NUMBER = re.compile(
    r"^(?:給|给)?(?P<n>[1-5一二兩两三四五]|one|two|three|four|five)"
    r"(?:分|顆星|颗星|星| stars?| points?| out of 5)?$"
)
_LEADING = ("嗯", "呃", "我覺得", "我觉得", "覺得", "觉得", "i think ", "i'd say ", "it was ",
            "hmm ", "um ", "well ")  # fmt: skip
_TRAILING = ("啊", "呀", "喔", "哦", "啦", "了", "的", "吧", "呢", "嘛", " thanks", " thank you")


def _normalise(text: str) -> str:
    """Lower case, half-width, punctuation and repeated spaces gone."""
    s = unicodedata.normalize("NFKC", text).lower()
    s = "".join(" " if unicodedata.category(c)[0] in "PSZ" else c for c in s)
    return " ".join(s.split())


def parse_rating(text: str) -> int | None:
    """A score 1-5 for an answer, or None when the words are not an answer."""
    s = _normalise(text)
    changed = True
    while s and changed:  # peel fillers and particles off both ends, as often as they come
        changed = False
        for lead in _LEADING:
            if s.startswith(lead):
                s = s[len(lead) :].strip()
                changed = True
        for tail in _TRAILING:
            if s.endswith(tail) and len(s) > len(tail):
                s = s[: -len(tail)].strip()
                changed = True
    if not s:
        return None
    score = ANSWERS.get(s)
    if score is not None:
        return score
    m = _NUMBER.match(s)
    return _NUMBERS[m.group("n")] if m else None
