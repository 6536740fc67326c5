"""Speech needs on hand-written utterances: one clear sentence is enough, a neutral sentence
with a sad word is not, and text the model cannot read is neutral with a logged reason."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from models.runtime import ScoringEngine
from models.runtime.speech import AGITATION_CLEAR
from models.speech import artefact
from models.speech.thresholds import (
    LOW_MOOD_MAX_FPR,
    choose_threshold,
    load,
    low_mood_threshold,
)

SITE = "home"
T0 = 1_767_600_000_000
MIN = 60_000


def _said(ts: int, text: str | None, language: str | None = "zh-TW", **voice: Any) -> dict:
    u: dict[str, Any] = {
        "ts": ts,
        "speech_rate": 3.5,
        "pitch_hz": 170.0,
        "energy_db": -30.0,
        "duration_s": 2.0,
        **voice,
    }
    if text is not None:
        u["text"] = text
    if language is not None:
        u["language"] = language
    return u


@pytest.fixture
def engine() -> ScoringEngine:
    return ScoringEngine()


@pytest.mark.parametrize(
    ("text", "language"),
    [("今天有點悶", "zh-TW"), ("今天有点闷", "zh-CN"), ("I feel so lonely", "en")],
)
def test_one_clear_sentence_opens_low_mood_at_once(
    engine: ScoringEngine, text: str, language: str
) -> None:
    slot = engine.slot(SITE, "r1")
    needs = engine.score_utterance(slot, _said(T0, text, language))
    assert [(n.kind, n.tier, n.state) for n in needs] == [("low_mood", "emotional", "open")]
    assert needs[0].onset == T0
    assert text not in needs[0].summary  # the words never leave in a summary
    assert (
        needs[0]
        .evidence[0]
        .rule.startswith(f"one sentence with P(low_mood) >= {low_mood_threshold()}")
    )


def test_later_signals_update_the_same_need(engine: ScoringEngine) -> None:
    slot = engine.slot(SITE, "r1")
    first = engine.score_utterance(slot, _said(T0, "今天有點悶"))
    assert engine.score_utterance(slot, _said(T0 + MIN, "要不要聽點音樂", "zh-TW")) == []
    later = engine.score_utterance(slot, _said(T0 + 20 * MIN, "一個人待著好孤單"))
    assert [(n.kind, n.state, n.id) for n in later] == [("low_mood", "update", first[0].id)]
    assert len(later[0].evidence) == 2


@pytest.mark.parametrize(
    ("text", "language"),
    [("天氣悶熱", "zh-TW"), ("今天天氣好悶熱", "zh-TW"), ("好悶熱啊", "zh-TW"),
     ("天气闷热", "zh-CN"), ("It's muggy today", "en"), ("我不孤單", "zh-TW")],
)  # fmt: skip
def test_a_neutral_sentence_with_a_sad_word_opens_nothing(
    engine: ScoringEngine, text: str, language: str
) -> None:
    slot = engine.slot(SITE, "r1")
    assert engine.score_utterance(slot, _said(T0, text, language)) == []


@pytest.mark.parametrize(
    ("text", "language", "reason"),
    [
        ("je me sens très seul", "fr", "language_unsupported"),
        ("とても寂しいです", None, "language_unsupported"),
        ("Мне очень одиноко", None, "language_unsupported"),
        ("", "en", "empty_text"),
        ("  [noise] <unk> ", "en", "empty_text"),
        ("???  ...", "zh-TW", "garbled_text"),
        ("xkcd qwrt zzpl", "en", "garbled_text"),
    ],
)
def test_unreadable_text_is_neutral_with_a_logged_reason(
    engine: ScoringEngine, caplog: pytest.LogCaptureFixture, text: str, language: str | None,
    reason: str,
) -> None:  # fmt: skip
    slot = engine.slot(SITE, "r1")
    with caplog.at_level(logging.INFO, logger="models.runtime.speech"):
        assert engine.score_utterance(slot, _said(T0, text, language)) == []
    assert engine.speech.unread == {reason: 1}
    logged = [r for r in caplog.records if r.getMessage() == "utterance text read as neutral"]
    assert [r.fields["reason"] for r in logged] == [reason]  # type: ignore[attr-defined]
    assert all(text.strip() not in str(r.__dict__) for r in logged if text.strip())


def test_unreadable_text_still_has_its_voice_scored(engine: ScoringEngine) -> None:
    slot = engine.slot(SITE, "r1")
    for k in range(20):
        engine.score_utterance(slot, _said(T0 + k * MIN, "bonjour", "fr"))
    shouted = _said(T0 + 30 * MIN, "où est ma fille", "fr", speech_rate=6.0, energy_db=-20.0)
    needs = engine.score_utterance(slot, shouted)
    assert [(n.kind, n.state) for n in needs] == [("agitation", "open")]
    assert engine.speech.unread == {"language_unsupported": 21}


def _usual(engine: ScoringEngine, slot: int, n: int = 25) -> None:
    """Ordinary talk: the resident's own baseline (small natural variation, no text)."""
    for k in range(n):
        wobble = (k % 5 - 2) * 0.05
        engine.score_utterance(
            slot,
            _said(T0 + k * 10 * MIN, None, "en", speech_rate=3.5 + wobble,
                  energy_db=-30.0 + 4 * wobble, pitch_hz=170 + 20 * wobble),
        )  # fmt: skip


def test_one_clearly_agitated_utterance_opens_agitation(engine: ScoringEngine) -> None:
    slot = engine.slot(SITE, "r1")
    _usual(engine, slot)
    ts = T0 + 300 * MIN
    needs = engine.score_utterance(
        slot, _said(ts, None, "en", speech_rate=5.6, energy_db=-24.0, pitch_hz=195.0)
    )
    assert [(n.kind, n.tier, n.state, n.onset) for n in needs] == [
        ("agitation", "emotional", "open", ts)
    ]
    assert needs[0].score >= AGITATION_CLEAR


def test_ordinary_variation_is_not_agitation(engine: ScoringEngine) -> None:
    slot = engine.slot(SITE, "r1")
    _usual(engine, slot)
    needs = engine.score_utterance(
        slot, _said(T0 + 300 * MIN, None, "en", speech_rate=3.8, energy_db=-28.0)
    )
    assert needs == []


def test_threshold_is_the_lowest_with_at_most_the_allowed_false_alarms() -> None:
    positive = [True] * 4 + [False] * 100
    score = [0.9, 0.8, 0.55, 0.3] + [0.1] * 97 + [0.5, 0.62, 0.7]
    t = choose_threshold(positive, score, 0.02)  # 2 of 100 negatives may pass
    assert (t.value, t.fpr, t.recall) == (0.51, 0.02, 0.75)
    assert choose_threshold(positive, score, 0.0).value == 0.71


def test_shipped_threshold_belongs_to_the_shipped_model() -> None:
    found, digest = load()
    assert digest == artefact.digest(), (
        "models/speech_data/thresholds.json was chosen for another model: run "
        "`careloop train intents`"
    )
    chosen = found["low_mood"]
    assert chosen.max_fpr == LOW_MOOD_MAX_FPR and chosen.fpr <= LOW_MOOD_MAX_FPR
    assert 0.5 <= chosen.value < 1.0 and low_mood_threshold() == chosen.value
