"""One resident's utterances -> care intent, need and agitation, text only where consented.

The wire contract carries ``text`` only where the resident consented to it
(:data:`careloop.wire.measures.UTTERANCE`), so its presence *is* the consent signal:

* with text: the care intent and need (1 - P(neutral) - P(praise)) come from
  :class:`~models.speech.intent.CareIntentClassifier`;
* without: intent is unknown and need is the weak features-only distress signal of
  :meth:`~models.speech.agitation.SpeechAgitationDetector.score_distress`, squashed to [0, 1).

Agitation always comes from the acoustic features against the resident's own baseline; the
detector is given :func:`~models.speech.agitation.speech_features` only, never the text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from models.speech.agitation import SpeechAgitationDetector, speech_features
from models.speech.artefact import default_intent_classifier
from models.speech.intent import CareIntentClassifier, Intent

#: Features-only distress (an RMS z-score) at which the squashed need reaches 1 - 1/e.
_DISTRESS_SCALE = 2.5


@dataclass(frozen=True, slots=True)
class UtteranceAssessment:
    """What one utterance says about a resident's needs (higher = more in need)."""

    source: Literal["text", "features"]
    #: 0-1; from text: 1 - P(neutral) - P(praise); from features: a much weaker,
    #: non-specific signal
    need: float
    #: features-path agitation score (baseline-SD units, >= 0)
    agitation: float
    intent: Intent | None = None
    intent_proba: Mapping[str, float] = field(default_factory=dict)


class UtteranceAssessor:
    """Assesses one resident's utterances in order; keep one per resident.

    ``classifier`` defaults to the one fitted on the packaged corpus; ``detector`` to a fresh
    :class:`SpeechAgitationDetector` (its state is the resident's baseline).
    """

    def __init__(
        self,
        classifier: CareIntentClassifier | None = None,
        detector: SpeechAgitationDetector | None = None,
    ) -> None:
        self.classifier = classifier if classifier is not None else default_intent_classifier()
        self.detector = detector if detector is not None else SpeechAgitationDetector()

    def assess(self, utterance: Mapping[str, Any]) -> UtteranceAssessment:
        """Score the utterance, then learn its acoustic features into the baseline."""
        feats = speech_features(utterance)
        agitation = self.detector.score_one(feats)
        feature_distress = self.detector.score_distress(feats)
        self.detector.learn_one(feats)

        text = utterance.get("text")
        if not isinstance(text, str) or not text.strip():
            need = 1.0 - math.exp(-feature_distress / _DISTRESS_SCALE)
            return UtteranceAssessment(source="features", need=need, agitation=agitation)
        result = self.classifier.assess(text)
        return UtteranceAssessment(
            source="text",
            need=result.need,
            agitation=agitation,
            intent=result.intent,
            intent_proba=result.intent_proba,
        )
