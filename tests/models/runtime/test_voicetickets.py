"""Requests, complaints and thanks heard by the voice device become findings of their kind;
short answers to the satisfaction question, chat and words without consent open nothing.

Utterances go through the speech component, as in the engine: it reads each one once and the
ticket findings come from that one assessment."""

from __future__ import annotations

import pytest

from models.runtime.findings import Finding
from models.runtime.speech import SpeechComponent
from models.runtime.voicetickets import TICKET_INTENTS
from models.speech.artefact import default_intent_classifier

T0 = 1_767_600_000_000


TICKET_KINDS = {kind for kind, _, _ in TICKET_INTENTS.values()}


class Tickets:
    """The ticket findings of one utterance, read by a fresh speech component."""

    def __init__(self) -> None:
        self.classifier = default_intent_classifier()
        self.speech = SpeechComponent(self.classifier)

    def utterance(self, slot: int, u: dict[str, object]) -> list[Finding]:
        return [f for f in self.speech.utterance(slot, u) if f.kind in TICKET_KINDS]


@pytest.fixture(scope="module")
def tickets() -> Tickets:
    return Tickets()


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
    assert tickets.speech.unread  # the speech component counted why it read nothing


def test_one_assessment_per_utterance(tickets, monkeypatch) -> None:
    """The words are classified once for mood, help, agitation and tickets together."""
    calls = []
    assess = type(tickets.classifier).assess

    def counting(self, *args, **kwargs):
        calls.append(args)
        return assess(self, *args, **kwargs)

    monkeypatch.setattr(type(tickets.classifier), "assess", counting)
    found = tickets.utterance(5, {"ts": T0, "text": "那個護理員態度很差", "language": "zh"})
    assert [f.kind for f in found] == ["complaint"]
    assert len(calls) == 1
