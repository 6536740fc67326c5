"""Agitation from how a resident speaks, against their own baseline; never from the words.

This is the path for residents who did not consent to text: it reads only the acoustic fields
of an utterance (:data:`FEATURES`) through :func:`speech_features`, which drops everything else,
``text`` included. Per resident (one detector each, snapshotted by the streaming runtime) it
keeps exponentially weighted means and variances of speech rate, pitch and loudness, starting
from population priors so the first utterances are judged against something, and a short
memory of repeated questions.

* **agitation** (:meth:`SpeechAgitationDetector.score_one`): faster, higher and louder than
  usual (positive z-scores only) plus the share of recent utterances that repeat a question.
* **distress from features** (:meth:`SpeechAgitationDetector.score_distress`): how far the voice
  is from its own baseline in *either* direction (slow and quiet as in low mood, fast and high
  as in fear). It is much weaker than the text path: it cannot tell a cold from sadness or
  excitement from fear, and we have no labelled audio to measure it on.

Updates are winsorised at ±3 baseline SDs, so one agitated episode does not become the new
normal within a few utterances.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from models.base import ModelError, Observation, StreamingDetector
from models.state import State, StateReader

#: The only utterance fields the features-only path reads (see careloop.wire.measures).
FEATURES: tuple[str, ...] = (
    "speech_rate",
    "pitch_hz",
    "energy_db",
    "duration_s",
    "repeated_question",
)
_CHANNELS = ("speech_rate", "pitch_hz", "energy_db")
#: Utterances shorter than this give an unreliable articulation rate: its weight shrinks.
_RELIABLE_S = 1.0


def speech_features(x: Mapping[str, Any]) -> dict[str, float | bool]:
    """The acoustic fields of an utterance, nothing else (no ``text``, no ids)."""
    out: dict[str, float | bool] = {}
    for name in FEATURES:
        if name not in x or x[name] is None:
            continue
        value = x[name]
        out[name] = bool(value) if name == "repeated_question" else float(value)
    return out


class SpeechAgitationDetector(StreamingDetector):
    """Per-resident baseline of speech rate, pitch and loudness; higher score = more agitated.

    Parameters: ``half_life`` (utterances for an old one's weight to halve), ``prior_weight``
    (how many utterances the population prior counts as), ``rate_prior`` / ``pitch_prior`` /
    ``energy_prior`` (population mean and SD: syllables/s, Hz, dBFS), ``repeat_window``
    (utterances remembered for repeated questions), ``repeat_weight`` (score of an all-repeats
    window, in baseline-SD units).
    """

    def __init__(
        self,
        half_life: float = 100.0,
        prior_weight: float = 5.0,
        rate_prior: tuple[float, float] = (3.5, 0.8),
        pitch_prior: tuple[float, float] = (170.0, 40.0),
        energy_prior: tuple[float, float] = (-30.0, 6.0),
        repeat_window: int = 10,
        repeat_weight: float = 3.0,
    ) -> None:
        self.half_life = half_life
        self.prior_weight = prior_weight
        self.rate_prior = rate_prior
        self.pitch_prior = pitch_prior
        self.energy_prior = energy_prior
        self.repeat_window = repeat_window
        self.repeat_weight = repeat_weight
        if half_life <= 0 or prior_weight <= 0 or repeat_window < 1:
            raise ModelError("half_life and prior_weight must be > 0, repeat_window >= 1")
        priors = {"speech_rate": rate_prior, "pitch_hz": pitch_prior, "energy_db": energy_prior}
        if any(sd <= 0 for _, sd in priors.values()):
            raise ModelError("prior SDs must be > 0")
        self._mean = {c: float(priors[c][0]) for c in _CHANNELS}
        self._var = {c: float(priors[c][1]) ** 2 for c in _CHANNELS}
        self._floor = {c: (0.25 * float(priors[c][1])) ** 2 for c in _CHANNELS}
        self._weight = {c: float(prior_weight) for c in _CHANNELS}
        self._repeats: deque[bool] = deque(maxlen=repeat_window)
        self.n_seen = 0

    # -- scoring -------------------------------------------------------------------------
    def z_scores(self, x: Observation) -> dict[str, float]:
        """Each present channel's z-score against this resident's baseline."""
        feats = speech_features(x)
        out = {}
        for c in _CHANNELS:
            if c in feats:
                sd = math.sqrt(max(self._var[c], self._floor[c]))
                out[c] = (float(feats[c]) - self._mean[c]) / sd
        return out

    def _rate_weight(self, x: Observation) -> float:
        duration = speech_features(x).get("duration_s")
        return 1.0 if duration is None else min(1.0, float(duration) / _RELIABLE_S)

    def repeat_share(self, x: Observation) -> float:
        """Share of the remembered utterances plus this one that repeat a question."""
        now = bool(speech_features(x).get("repeated_question", False))
        return (sum(self._repeats) + now) / (len(self._repeats) + 1)

    def score_one(self, x: Observation) -> float:
        """Agitation: positive deviations of rate, pitch and loudness plus repeated questions."""
        z = self.z_scores(x)
        rate = max(0.0, z.get("speech_rate", 0.0)) * self._rate_weight(x)
        pitch = max(0.0, z.get("pitch_hz", 0.0))
        energy = max(0.0, z.get("energy_db", 0.0))
        return rate + 0.5 * pitch + 0.5 * energy + self.repeat_weight * self.repeat_share(x)

    def score_distress(self, x: Observation) -> float:
        """Weak, non-specific distress: RMS distance of the voice from its own baseline."""
        z = self.z_scores(x)
        if "speech_rate" in z:
            z["speech_rate"] *= self._rate_weight(x)
        return math.sqrt(sum(v * v for v in z.values()) / len(z)) if z else 0.0

    # -- learning ------------------------------------------------------------------------
    def learn_one(self, x: Observation) -> None:
        """Fold the utterance into the baseline (winsorised at ±3 SD) and the repeat memory."""
        feats = speech_features(x)
        decay = 0.5 ** (1.0 / self.half_life)
        for c in _CHANNELS:
            if c not in feats:
                continue
            sd = math.sqrt(max(self._var[c], self._floor[c]))
            value = min(max(float(feats[c]), self._mean[c] - 3 * sd), self._mean[c] + 3 * sd)
            w = decay * self._weight[c] + 1.0
            old = self._mean[c]
            self._mean[c] = old + (value - old) / w
            self._var[c] = (
                decay * self._weight[c] * self._var[c] + (value - old) * (value - self._mean[c])
            ) / w
            self._weight[c] = w
        if "repeated_question" in feats:
            self._repeats.append(bool(feats["repeated_question"]))
        self.n_seen += 1

    def baseline(self) -> dict[str, tuple[float, float]]:
        """Current (mean, SD) per channel, for display and debugging."""
        return {c: (self._mean[c], math.sqrt(self._var[c])) for c in _CHANNELS}

    # -- state ---------------------------------------------------------------------------
    def state(self) -> State:
        """Channels in :data:`_CHANNELS` order; the repeat memory padded to
        ``repeat_window`` (so many residents' states stack into one array each)."""
        repeats = np.zeros(self.repeat_window, dtype=np.bool_)
        repeats[: len(self._repeats)] = list(self._repeats)
        doc = {"n_seen": self.n_seen, "repeats_len": len(self._repeats)}
        arrays = {
            name: np.array([values[c] for c in _CHANNELS])
            for name, values in (("mean", self._mean), ("var", self._var), ("weight", self._weight))
        }
        return doc, {**arrays, "repeats": repeats}

    def load_state(self, state: StateReader) -> None:
        n = len(_CHANNELS)
        channels = {
            name: dict(zip(_CHANNELS, state.array(name, np.float64, (n,)).tolist(), strict=True))
            for name in ("mean", "var", "weight")
        }
        self._mean, self._var, self._weight = channels["mean"], channels["var"], channels["weight"]
        used = state.integer("repeats_len", lo=0, hi=self.repeat_window)
        repeats = state.array("repeats", np.bool_, (self.repeat_window,))
        self._repeats = deque(repeats[:used].tolist(), maxlen=self.repeat_window)
        self.n_seen = state.integer("n_seen", lo=0)
