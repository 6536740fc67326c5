"""Agitation and the features-only path: own baseline, repeated questions, never the text."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import pytest

from models.base import ModelError
from models.speech import (
    FEATURES,
    SpeechAgitationDetector,
    UtteranceAssessor,
    speech_features,
)


class NoText(Mapping[str, Any]):
    """An utterance that fails the test if anything reads its text."""

    def __init__(self, **fields: Any) -> None:
        self._fields = {**fields, "text": "I am in terrible pain"}

    def __getitem__(self, key: str) -> Any:
        if key == "text":
            raise AssertionError("the features-only path read the text")
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def get(self, key: str, default: Any = None) -> Any:
        if key == "text":
            raise AssertionError("the features-only path read the text")
        return self._fields.get(key, default)


def _calm(rng: np.random.Generator, rate: float, n: int) -> list[dict[str, Any]]:
    return [
        {
            "speech_rate": float(rng.normal(rate, 0.25)),
            "pitch_hz": float(rng.normal(150, 8)),
            "energy_db": float(rng.normal(-32, 2)),
            "duration_s": 2.0,
            "repeated_question": False,
        }
        for _ in range(n)
    ]


def _trained(rate: float, seed: int = 0, n: int = 80) -> SpeechAgitationDetector:
    det = SpeechAgitationDetector()
    for x in _calm(np.random.default_rng(seed), rate, n):
        det.score_one(x)
        det.learn_one(x)
    return det


def test_speech_features_drop_text_and_ids() -> None:
    x = {"text": "help", "resident": "r1", "speech_rate": 4, "repeated_question": 1}
    assert speech_features(x) == {"speech_rate": 4.0, "repeated_question": True}
    assert set(speech_features({k: 1 for k in (*FEATURES, "text")})) == set(FEATURES)


def test_detector_never_reads_text() -> None:
    det = SpeechAgitationDetector()
    x = NoText(speech_rate=4.0, pitch_hz=160.0, energy_db=-30.0, repeated_question=False)
    det.score_one(x)
    det.score_distress(x)
    det.learn_one(x)


def test_assessor_features_path_without_consent_never_sees_text() -> None:
    class Spy(SpeechAgitationDetector):
        seen: ClassVar[list[set[str]]] = []

        def score_one(self, x: Mapping[str, Any]) -> float:
            self.seen.append(set(x))
            return super().score_one(x)

    spy = Spy()
    assessor = UtteranceAssessor(detector=spy)
    out = assessor.assess({"speech_rate": 6.0, "pitch_hz": 200.0, "resident": "r1"})
    assert out.source == "features" and out.intent is None and not out.intent_proba
    assert 0.0 <= out.need < 1.0
    with_text = assessor.assess({"text": "我头好疼", "speech_rate": 3.0})
    assert with_text.source == "text" and with_text.intent == "pain"
    assert all("text" not in keys for keys in spy.seen), "the detector must only get features"


def test_agitation_is_relative_to_the_residents_own_rate() -> None:
    slow, fast = _trained(2.5), _trained(4.5)
    x = {"speech_rate": 4.5, "pitch_hz": 150.0, "energy_db": -32.0, "duration_s": 2.0}
    assert slow.score_one(x) > 2.0, "4.5 syllables/s is agitated for a 2.5 speaker"
    assert fast.score_one(x) < 1.0, "and ordinary for a 4.5 speaker"


def test_agitation_rises_with_speech_rate() -> None:
    det = _trained(3.0)
    scores = [
        det.score_one({"speech_rate": r, "pitch_hz": 150.0, "energy_db": -32.0, "duration_s": 2})
        for r in (3.0, 3.8, 4.6, 5.4, 6.2)
    ]
    assert scores == sorted(scores) and scores[-1] > scores[0] + 3


def test_agitation_rises_with_repeated_questions() -> None:
    det = _trained(3.0)
    base = {"speech_rate": 3.0, "pitch_hz": 150.0, "energy_db": -32.0, "duration_s": 2.0}
    calm = det.score_one({**base, "repeated_question": False})
    scores = []
    for _ in range(5):
        x = {**base, "repeated_question": True}
        scores.append(det.score_one(x))
        det.learn_one(x)
    assert scores[0] > calm
    assert scores == sorted(scores), "more repeats in the window, more agitation"


def test_short_utterances_weigh_less_and_one_episode_does_not_reset_the_baseline() -> None:
    det = _trained(3.0)
    fast = {"speech_rate": 6.0, "pitch_hz": 150.0, "energy_db": -32.0}
    assert det.score_one({**fast, "duration_s": 0.3}) < det.score_one({**fast, "duration_s": 3})
    for _ in range(5):
        det.learn_one({**fast, "duration_s": 3.0})
    mean, _ = det.baseline()["speech_rate"]
    assert mean < 4.0, f"five agitated utterances moved the baseline to {mean:.2f}"


def test_feature_distress_sees_deviation_either_way() -> None:
    det = _trained(3.5)
    usual = {"speech_rate": 3.5, "pitch_hz": 150.0, "energy_db": -32.0, "duration_s": 2.0}
    low = {"speech_rate": 2.0, "pitch_hz": 135.0, "energy_db": -40.0, "duration_s": 2.0}
    assert det.score_distress(low) > det.score_distress(usual) + 1.0
    assert det.score_one(low) < det.score_one(usual) + 0.5, "slow and quiet is not agitation"


def test_bad_parameters() -> None:
    with pytest.raises(ModelError):
        SpeechAgitationDetector(half_life=0)
    with pytest.raises(ModelError):
        SpeechAgitationDetector(rate_prior=(3.5, 0.0))
