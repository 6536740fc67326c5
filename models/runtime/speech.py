"""Utterances: a call for help, low mood over a day, agitation over half an hour.

One :class:`~models.speech.assess.UtteranceAssessor` per resident who speaks (created on
their first utterance; the intent classifier is shared), so text is used only where it
arrived (consent) and the acoustic baseline is the resident's own. Single utterances are
weak evidence, so mood and agitation need several within a window:

* **help_request** (emergency): one utterance whose most likely intent is ``help`` with
  probability >= ``HELP_P``.
* **low_mood** (emotional): in the last 24 h, >= ``MOOD_COUNT`` utterances that read as low
  mood or pain (text), or sound flat (features only: slower, lower and quieter than usual).
* **agitation** (emotional): in the last 30 min, >= ``AGITATION_COUNT`` utterances with a
  high agitation score or a repeated question.

Summaries never quote the words; they say which signal was seen and how often.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from careloop.wire.needs import Evidence
from models.runtime.findings import Finding
from models.speech.agitation import SpeechAgitationDetector
from models.speech.artefact import default_intent_classifier
from models.speech.assess import UtteranceAssessor
from models.speech.intent import CareIntentClassifier
from models.state import State, StateReader, nest, ragged, stack

_MIN = 60_000
HELP_P = 0.6
MOOD_WINDOW_MS = 24 * 60 * _MIN
MOOD_COUNT = 3
MOOD_P = 0.5
FLAT_Z = -1.0
AGITATION_WINDOW_MS = 30 * _MIN
AGITATION_COUNT = 2
AGITATION_SCORE = 3.0
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
        self.voices: dict[int, _Voice] = {}

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

    def utterance(self, slot: int, u: Mapping[str, Any]) -> list[Finding]:
        voice = self.voices.get(slot)
        if voice is None:
            voice = self.voices[slot] = _Voice(SpeechAgitationDetector())
        ts = int(u["ts"])
        z = voice.detector.z_scores(u)
        a = UtteranceAssessor(self.classifier, voice.detector).assess(u)
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
                    f"Asked for help out loud (intent 'help', p = {p['help']:.2f}).",
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
        if a.source == "text":
            low = p.get("low_mood", 0.0) + p.get("pain", 0.0) >= MOOD_P
            how = "words of low mood or pain"
        else:
            low = (
                z.get("speech_rate", 0.0) <= FLAT_Z
                and z.get("energy_db", 0.0) <= FLAT_Z
                and z.get("pitch_hz", 0.0) <= 0.0
            )
            how = "a flat voice (slower, quieter, lower than usual; no text, by consent)"
        if low:
            voice.mood.append(ts)
        recent = [t for t in voice.mood if ts - t <= MOOD_WINDOW_MS]
        if low and len(recent) >= MOOD_COUNT and ts - voice.last_mood_need > COOLDOWN_MS:
            voice.last_mood_need = ts
            out.append(
                Finding(
                    slot,
                    "low_mood",
                    "emotional",
                    ts,
                    recent[0],
                    float(len(recent)),
                    f"Sounds low: {len(recent)} utterances in the last 24 h with {how}. "
                    "A friendly call or visit may help.",
                    [
                        Evidence(
                            measure="utterances_low",
                            value=float(len(recent)),
                            rule=f">= {MOOD_COUNT} low-mood utterances in 24 h",
                            ts=ts,
                        )
                    ],
                )
            )
        agitated = a.agitation >= AGITATION_SCORE or bool(u.get("repeated_question"))
        if agitated:
            voice.agitated.append(ts)
        recent_a = [t for t in voice.agitated if ts - t <= AGITATION_WINDOW_MS]
        if (
            agitated
            and len(recent_a) >= AGITATION_COUNT
            and ts - voice.last_agitation_need > COOLDOWN_MS
        ):
            voice.last_agitation_need = ts
            out.append(
                Finding(
                    slot,
                    "agitation",
                    "emotional",
                    ts,
                    recent_a[0],
                    float(a.agitation),
                    f"Agitated speech: {len(recent_a)} utterances in 30 min that were fast, "
                    "loud or a repeated question (agitation score "
                    f"{a.agitation:.1f}). A calm human voice now helps.",
                    [
                        Evidence(
                            measure="speech_agitation",
                            value=round(float(a.agitation), 2),
                            rule=f">= {AGITATION_COUNT} agitated utterances in 30 min",
                            ts=ts,
                        )
                    ],
                )
            )
        return out
