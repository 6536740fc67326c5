"""Speech rate from a recogniser's words and timings."""

from __future__ import annotations

import pytest

from edge.errors import SpeechError
from edge.words import Word, english_syllables, join_words, parse_words, syllables, timing

#: Words and their syllables as a dictionary gives them.
ENGLISH = {
    "the": 1, "weather": 2, "is": 1, "lovely": 2, "today": 2, "shall": 1, "take": 1,
    "walk": 1, "park": 1, "where": 1, "time": 1, "daughter": 2, "coming": 2, "people": 2,
    "takes": 1, "named": 1, "wanted": 2, "boxes": 2, "going": 2, "radio": 3, "nation": 2,
    "medicine": 3, "yesterday": 3, "happy": 2, "careful": 2, "handbag": 2, "lunch": 1,
    "yet": 1, "family": 3, "hospital": 3, "breakfast": 2, "tablets": 2, "called": 1,
    "needed": 2, "being": 2, "really": 2, "apple": 2, "nurse": 1, "hello": 2, "okay": 2,
}  # fmt: skip


def test_english_syllables_follow_the_sound():
    right = sum(english_syllables(w) == n for w, n in ENGLISH.items())
    assert right == len(ENGLISH), {w: english_syllables(w) for w in ENGLISH}


def test_one_syllable_per_han_character_in_either_script_and_mixed_text():
    assert syllables("現在幾點了") == syllables("现在几点了") == 5
    assert syllables("我想打 video call") == 3 + 2 + 1
    assert syllables("3點") == 2
    assert syllables("，。？!") == 0


def test_rate_is_syllables_over_speaking_time_less_long_pauses():
    words = [Word("what", 0.0, 0.3), Word("time", 0.35, 0.7), Word("is", 1.5, 1.7)]
    words.append(Word("it", 1.75, 2.0))
    spoken = timing(words)
    # 4 syllables; 2.0 s from first to last word, less the 0.8 s pause: 1.2 s speaking
    assert spoken.syllables == 4 and spoken.duration_s == 2.0 and spoken.speaking_s == 1.2
    assert spoken.speech_rate == pytest.approx(4 / 1.2, abs=0.01)
    zh = timing([Word("現在", 1.0, 1.4), Word("幾點", 1.45, 1.8), Word("了", 1.85, 2.0)])
    assert zh.syllables == 5 and zh.speech_rate == pytest.approx(5.0)


def test_words_out_of_order_are_sorted_and_joined_per_script():
    words = [Word("了", 0.9, 1.0), Word("現在", 0.0, 0.4), Word("幾點", 0.45, 0.8)]
    assert join_words(words) == "現在幾點了"
    assert join_words([Word("it", 0.5, 0.6), Word("what", 0.0, 0.2), Word("is", 0.3, 0.4)]) == (
        "what is it"
    )
    assert join_words([Word("打", 0, 0.2), Word("video", 0.3, 0.6), Word("電話", 0.7, 1)]) == (
        "打 video 電話"
    )


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ([], "no_words"),
        ([Word("？", 0.0, 0.5)], "no_syllables"),
        ([Word("hi", 0.0, 0.02)], "too_short"),
        ([Word("a", 0, 0.1)] * 30, "bad_words"),  # 30 syllables in 0.1 s
        ([Word("a", 0, 0.5), Word("b", 400, 400.5)], "bad_words"),  # 400 s long
    ],
)
def test_words_that_give_no_rate_say_why(words, reason):
    with pytest.raises(SpeechError) as info:
        timing(words)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "raw",
    [
        "what time is it",
        [["what", 0, 1]],
        [{"text": "what", "start": 0}],
        [{"text": 5, "start": 0, "end": 1}],
        [{"text": "what", "start": "0", "end": 1}],
        [{"text": "what", "start": True, "end": 1}],
        [{"text": "what", "start": 1.0, "end": 0.5}],
        [{"text": "what", "start": -1, "end": 0.5}],
        [{"text": "what", "start": 0, "end": float("inf")}],
    ],
)
def test_garbled_words_are_bad_words(raw):
    with pytest.raises(SpeechError) as info:
        parse_words(raw)
    assert info.value.reason == "bad_words"
    assert "what" not in str(info.value)  # the reason never repeats the words


def test_parse_words_reads_the_documented_shape():
    raw = [{"text": "早安", "start": 0, "end": 0.5}, {"text": "呀", "start": 0.5, "end": 0.7}]
    assert parse_words(raw) == (Word("早安", 0, 0.5), Word("呀", 0.5, 0.7))
