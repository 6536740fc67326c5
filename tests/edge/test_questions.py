"""Repeated questions, noticed on the device in a rolling window, in en, zh-Hant and zh-Hans."""

from __future__ import annotations

import pytest

from edge.questions import RepeatedQuestions, is_question

T0 = 1_764_000_000_000
MIN = 60_000


@pytest.mark.parametrize(
    "text",
    [
        "現在幾點了？", "现在几点了", "我女兒什麼時候來", "我女儿什么时候来", "甚麼時候吃飯",
        "你吃飯了嗎", "车来了吗", "我的錢包呢", "我的钱包在哪儿", "今天星期幾",
        "What time is it", "where's my handbag", "Is the car here to take me home",
        "have we had lunch yet", "lunch soon?",
    ],
)  # fmt: skip
def test_questions_are_recognised(text):
    assert is_question(text)


@pytest.mark.parametrize(
    "text",
    ["今天天氣很好", "我想喝點熱水", "帮我把灯关了吧", "The car is here", "I had lunch", ""],
)
def test_statements_are_not_questions(text):
    assert not is_question(text)


@pytest.mark.parametrize(
    ("first", "again", "other"),
    [
        ("現在幾點了？", "現在幾點", "我女兒什麼時候來？"),  # zh-Hant
        ("现在几点了？", "现在几点呢", "我女儿什么时候来？"),  # zh-Hans
        ("今天是幾號", "今天几号？", "我的钱包在哪儿"),  # one script, then the other
        ("What time is it?", "what time is it now", "Where is my handbag?"),  # en
    ],
)
def test_the_same_question_again_within_the_window_is_a_repeat(first, again, other):
    window = RepeatedQuestions(window_s=30 * 60)
    assert window.heard(first, T0) is False
    assert window.heard(other, T0 + 1 * MIN) is False  # a different question
    assert window.heard(again, T0 + 10 * MIN) is True
    assert window.heard(other, T0 + 12 * MIN) is True


def test_a_question_outside_the_window_is_not_a_repeat_and_statements_never_are():
    window = RepeatedQuestions(window_s=30 * 60)
    assert window.heard("What day is it today?", T0) is False
    assert window.heard("What day is it today?", T0 + 31 * MIN) is False  # the first expired
    assert window.heard("What time is it?", T0 + 32 * MIN) is False  # similar is not same
    assert window.heard("今天天氣很好", T0 + 33 * MIN) is False
    assert window.heard("今天天氣很好", T0 + 34 * MIN) is False  # statements are not kept
    assert len(window) == 2  # the first expired; the later day and time questions are kept


def test_the_window_is_bounded():
    window = RepeatedQuestions(window_s=3600, max_kept=3)
    for i in range(10):
        window.heard(f"is it {i} o'clock?", T0 + i)
    assert len(window) == 3


def test_similarity_is_a_setting():
    strict = RepeatedQuestions(similarity=1.0)
    strict.heard("今天是幾號", T0)
    assert strict.heard("今天幾號", T0 + MIN) is False
    loose = RepeatedQuestions(similarity=0.8)
    loose.heard("今天是幾號", T0)
    assert loose.heard("今天幾號", T0 + MIN) is True
    with pytest.raises(ValueError):
        RepeatedQuestions(similarity=0)
