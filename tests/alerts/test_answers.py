"""The satisfaction answer parser: zh-Hant, zh-Hans, English words and numbers 1-5; what is
not an answer is None (the service then asks once more)."""

from __future__ import annotations

import pytest

from alerts.answers import parse_rating


@pytest.mark.parametrize(
    ("said", "score"),
    [
        # Traditional Chinese (Taiwan)
        ("很好", 5), ("很好啊！", 5), ("嗯…很好", 5), ("還可以", 3), ("還好", 3), ("不好", 2),
        ("很不好", 1), ("我覺得還不錯", 4), ("不滿意", 2), ("四分", 4), ("給五分", 5),
        # Simplified Chinese
        ("还可以", 3), ("不错", 4), ("很满意", 5), ("太差了", 1), ("两分", 2),
        # English
        ("good", 4), ("Good.", 4), ("OK", 3), ("okay", 3), ("bad", 2), ("very bad", 1),
        ("I think it was good", 4), ("Five", 5), ("3", 3), ("5 stars", 5),
    ],
)  # fmt: skip
def test_answers_in_every_language(said: str, score: int) -> None:
    assert parse_rating(said) == score


@pytest.mark.parametrize(
    "said", ["嗯…", "嗯", "", "   ", "what?", "今天天氣很好", "6", "不好意思", "0", "好不好"]
)
def test_what_is_not_an_answer_is_none(said: str) -> None:
    assert parse_rating(said) is None
