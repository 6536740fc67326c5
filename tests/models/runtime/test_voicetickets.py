"""Requests, complaints and thanks heard by the voice device become findings of their kind;
short answers to the satisfaction question, chat and words without consent open nothing."""

from __future__ import annotations

import pytest

from models.runtime.voicetickets import TicketIntents
from models.speech.artefact import default_intent_classifier

T0 = 1_767_600_000_000


@pytest.fixture(scope="module")
def tickets() -> TicketIntents:
    classifier = default_intent_classifier()
    return TicketIntents(lambda: classifier)


@pytest.mark.parametrize(
    ("text", "lang", "kind", "tier"),
    [
        ("冷氣太冷了，可以幫我調高一點嗎", "zh", "request", "general"),
        ("那個護理員態度很差", "zh", "complaint", "important"),
        ("谢谢你们昨天来看我", "zh-Hans", "praise", "general"),
        ("The food is cold again", "en", "complaint", "important"),
    ],
)
def test_clear_intents_become_findings(tickets, text, lang, kind, tier) -> None:
    found = tickets.utterance(3, {"ts": T0, "text": text, "language": lang})
    assert [(f.slot, f.kind, f.tier, f.ts) for f in found] == [(3, kind, tier, T0)]
    assert text not in found[0].summary  # the summary never quotes the words


@pytest.mark.parametrize(
    "text", ["很好", "還可以", "不好", "good", "ok", "bad", "嗯…", "今天天氣很好"]
)
def test_answers_and_chat_open_no_ticket(tickets, text) -> None:
    assert tickets.utterance(0, {"ts": T0, "text": text, "language": "zh"}) == []


def test_no_words_no_ticket_and_an_unknown_language_is_skipped(tickets) -> None:
    assert tickets.utterance(0, {"ts": T0, "language": "zh", "speech_rate": 4.0}) == []
    assert tickets.utterance(0, {"ts": T0, "text": "Das Essen ist kalt", "language": "de"}) == []
