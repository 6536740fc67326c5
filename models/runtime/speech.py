"""Utterances: a call for help, low mood, agitation - one clear utterance is enough.

One :class:`~models.speech.assess.UtteranceAssessor` per resident who speaks (created on
their first utterance; the intent classifier is shared), so text is used only where it
arrived (consent) and the acoustic baseline is the resident's own.

* **help_request** (emergency): one utterance whose most likely intent is ``help`` with
  probability >= ``HELP_P``.
* **low_mood** (emotional): **one clear sentence** - P(low_mood) >= the threshold chosen by
  grouped cross-validation (:func:`~models.speech.thresholds.low_mood_threshold`) - opens it
  at once; weaker signals still count: in the last 24 h, >= ``MOOD_COUNT`` utterances that
  read as low mood or pain (text), or sound flat (features only: slower, lower and quieter
  than usual).
* **agitation** (emotional): **one clearly agitated utterance** (agitation score >=
  ``AGITATION_CLEAR``, far above ordinary speech against the resident's own baseline) opens
  it at once; else >= ``AGITATION_COUNT`` utterances in 30 min with a high score or a
  repeated question.

While a need is recent (``COOLDOWN_MS``), later clear signals are findings of the same kind:
fusion publishes them as updates of the same need (:data:`models.runtime.fusion.UPDATED`),
so the alert's evidence and summary follow. Text the model cannot read (another language,
empty or garbled recogniser output: :mod:`models.speech.gate`) is read as neutral, counted by
reason in :attr:`SpeechComponent.unread` and logged with the reason - the features are still
scored. Summaries and logs never quote the words.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from careloop.logs import fields
from careloop.wire.needs import Evidence
from models.runtime.findings import Finding, said
from models.runtime.voicetickets import ticket_findings
from models.speech.agitation import SpeechAgitationDetector
from models.speech.artefact import default_intent_classifier
from models.speech.assess import UtteranceAssessment, UtteranceAssessor
from models.speech.gate import model_words, unreadable
from models.speech.intent import CareIntentClassifier
from models.speech.thresholds import low_mood_threshold
from models.state import State, StateReader, nest, ragged, stack

log = logging.getLogger(__name__)

_MIN = 60_000
HELP_P = 0.6
MOOD_WINDOW_MS = 24 * 60 * _MIN
MOOD_COUNT = 3
MOOD_P = 0.5
FLAT_Z = -1.0
AGITATION_WINDOW_MS = 30 * _MIN
AGITATION_COUNT = 2
AGITATION_SCORE = 3.0
#: One utterance this agitated opens the need by itself. On simulated homes (seeds 1 and 2,
#: 60 residents x 14 days) ordinary speech scored at most 3.2 against the resident's own
#: baseline and the first utterance of every agitation episode 7 or more.
AGITATION_CLEAR = 5.0
COOLDOWN_MS = 6 * 60 * _MIN
#: Times of low-mood and of agitated utterances remembered per resident (the newest).
_REMEMBERED = 16


@dataclass(slots=True)
class _Voice:
    detector: SpeechAgitationDetector
    mood: deque[int] = field(default_factory=lambda: deque(maxlen=_REMEMBERED))
    agitated: deque[int] = field(default_factory=lambda: deque(maxlen=_REMEMBERED))
    last_mood_need: int = 0
    last_agitation_need: int = 0


class SpeechComponent:
    """Per-resident speech state; only residents who spoke have any."""

    def __init__(self, classifier: CareIntentClassifier | None = None) -> None:
        self._classifier = classifier
        self._words: frozenset[str] | None = None
        self.voices: dict[int, _Voice] = {}
        #: utterances whose text was read as neutral, by reason (models.speech.gate)
        self.unread: Counter[str] = Counter()

    @property
    def classifier(self) -> CareIntentClassifier:
        if self._classifier is None:
            self._classifier = default_intent_classifier()
        return self._classifier

    def state(self) -> State:
        """Every voice (one row each); the shared classifier is packaged, not state."""
        slots = sorted(self.voices)
        voices = [self.voices[s] for s in slots]
        detectors = [v.detector.state() for v in voices]
        doc, arrays = nest({}, {"detector": stack(detectors, SpeechAgitationDetector().state())})
        arrays |= {
            "slot": np.array(slots, dtype=np.int64),
            "last_mood_need": np.array([v.last_mood_need for v in voices], dtype=np.int64),
            "last_agitation_need": np.array(
                [v.last_agitation_need for v in voices], dtype=np.int64
            ),
            **ragged("mood", [v.mood for v in voices], np.int64),
            **ragged("agitated", [v.agitated for v in voices], np.int64),
        }
        return doc, arrays

    def load_state(self, state: StateReader, residents: int) -> None:
        """Take back :meth:`state` (``residents`` slots in the engine); all checked first."""
        rows = state.scope("detector").rows()
        n = len(rows)
        slots = state.indices("slot", residents, n)
        mood = state.ragged("mood", np.int64, n, _REMEMBERED)
        agitated = state.ragged("agitated", np.int64, n, _REMEMBERED)
        last_mood = state.array("last_mood_need", np.int64, (n,)).tolist()
        last_agitation = state.array("last_agitation_need", np.int64, (n,)).tolist()
        voices: dict[int, _Voice] = {}
        for i, slot in enumerate(slots):
            detector = SpeechAgitationDetector()
            detector.load_state(rows[i])
            voices[slot] = _Voice(
                detector,
                deque(mood[i].tolist(), maxlen=_REMEMBERED),
                deque(agitated[i].tolist(), maxlen=_REMEMBERED),
                last_mood[i],
                last_agitation[i],
            )
        self.voices = voices

    def _readable(self, slot: int, u: Mapping[str, Any]) -> Mapping[str, Any]:
        """``u`` itself, or without its text (read as neutral) when the model cannot read it;
        an utterance without text (no consent) passes unchanged."""
        if "text" not in u:
            return u
        if self._words is None:
            self._words = model_words(self.classifier)
        reason = unreadable(u.get("text"), u.get("language"), self._words)
        if reason is None:
            return u
        self.unread[reason] += 1
        log.info(
            "utterance text read as neutral",
            extra=fields(slot=slot, reason=reason, chars=len(str(u.get("text") or ""))),
        )
        return {k: v for k, v in u.items() if k != "text"}

    def utterance(self, slot: int, u: Mapping[str, Any]) -> list[Finding]:
        voice = self.voices.get(slot)
        if voice is None:
            voice = self.voices[slot] = _Voice(SpeechAgitationDetector())
        ts = int(u["ts"])
        readable = self._readable(slot, u)
        z = voice.detector.z_scores(u)
        a = UtteranceAssessor(self.classifier, voice.detector).assess(readable)
        if readable is not u and a.source == "features":
            a = UtteranceAssessment("text", 0.0, a.agitation, "neutral", {"neutral": 1.0})
        out: list[Finding] = []
        p = a.intent_proba
        if a.source == "text" and a.intent == "help" and p.get("help", 0.0) >= HELP_P:
            out.append(
                Finding(
                    slot,
                    "help_request",
                    "emergency",
                    ts,
                    ts,
                    p["help"],
                    said("summary.help_request", p=round(p["help"], 2)),
                    [
                        Evidence(
                            measure="utterance_intent",
                            value="help",
                            rule=f"intent help with p >= {HELP_P}",
                            ts=ts,
                        )
                    ],
                )
            )
        out += ticket_findings(slot, ts, a)  # requests, complaints, thanks
        mood = self._mood(slot, voice, ts, a, z)
        if mood is not None:
            out.append(mood)
        agitation = self._agitation(slot, voice, ts, a, bool(u.get("repeated_question")))
        if agitation is not None:
            out.append(agitation)
        return out

    def _mood(
        self, slot: int, voice: _Voice, ts: int, a: UtteranceAssessment, z: Mapping[str, float]
    ) -> Finding | None:
        p = a.intent_proba
        clear_p = low_mood_threshold()
        clear = a.source == "text" and p.get("low_mood", 0.0) >= clear_p
        if a.source == "text":
            low = clear or p.get("low_mood", 0.0) + p.get("pain", 0.0) >= MOOD_P
            how = "summary.mood_how.words"
        else:
            low = (
                z.get("speech_rate", 0.0) <= FLAT_Z
                and z.get("energy_db", 0.0) <= FLAT_Z
                and z.get("pitch_hz", 0.0) <= 0.0
            )
            how = "summary.mood_how.voice"
        if not low:
            return None
        voice.mood.append(ts)
        recent = [t for t in voice.mood if ts - t <= MOOD_WINDOW_MS]
        if not clear and len(recent) < MOOD_COUNT:
            return None
        fresh = ts - voice.last_mood_need > COOLDOWN_MS
        if not clear and not fresh:
            return None  # the counting rule opens at most one need per cooldown
        if fresh:
            voice.last_mood_need = ts
        if clear:
            summary = said("summary.low_mood_clear", p=round(p["low_mood"], 2), count=len(recent))
            evidence = Evidence(
                measure="utterance_intent",
                value="low_mood",
                rule=f"one sentence with P(low_mood) >= {clear_p} (chosen by grouped CV)",
                ts=ts,
            )
            score = p["low_mood"]
        else:
            summary = said("summary.low_mood", count=len(recent), how_msg=how)
            evidence = Evidence(
                measure="utterances_low",
                value=float(len(recent)),
                rule=f">= {MOOD_COUNT} low-mood utterances in 24 h",
                ts=ts,
            )
            score = float(len(recent))
        onset = ts if clear else recent[0]
        return Finding(slot, "low_mood", "emotional", ts, onset, score, summary, [evidence])

    def _agitation(
        self, slot: int, voice: _Voice, ts: int, a: UtteranceAssessment, repeated: bool
    ) -> Finding | None:
        agitated = a.agitation >= AGITATION_SCORE or repeated
        if not agitated:
            return None
        voice.agitated.append(ts)
        recent = [t for t in voice.agitated if ts - t <= AGITATION_WINDOW_MS]
        clear = a.agitation >= AGITATION_CLEAR
        if not clear and len(recent) < AGITATION_COUNT:
            return None
        fresh = ts - voice.last_agitation_need > COOLDOWN_MS
        if not clear and not fresh:
            return None
        if fresh:
            voice.last_agitation_need = ts
        if clear:
            rule = f"one utterance with agitation score >= {AGITATION_CLEAR}"
            summary = said("summary.agitation_clear", score=round(float(a.agitation), 1))
        else:
            rule = f">= {AGITATION_COUNT} agitated utterances in 30 min"
            summary = said(
                "summary.agitation", count=len(recent), score=round(float(a.agitation), 1)
            )
        return Finding(
            slot,
            "agitation",
            "emotional",
            ts,
            ts if clear else recent[0],
            float(a.agitation),
            summary,
            [
                Evidence(
                    measure="speech_agitation",
                    value=round(float(a.agitation), 2),
                    rule=rule,
                    ts=ts,
                )
            ],
        )
