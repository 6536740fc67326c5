"""What a voice device heard, turned into the utterance reading it publishes.

A voice device hands its agent the recogniser's words with their timings, or the audio of
the utterance, or both (:class:`SpeechInput`). :class:`SpeechFeaturizer` computes, on the
device:

=====================  ==========================================  ======================
field                  from the words (:mod:`edge.words`)           from the audio
=====================  ==========================================  ======================
``speech_rate``        syllables / speaking time (preferred)        syllable nuclei
``repeated_question``  the rolling window (:mod:`edge.questions`)   —
``energy_db``          the recogniser's loudness, if it gives one   RMS dBFS (preferred)
``pitch_hz``           —                                            autocorrelation
``duration_s``         first word's start to last word's end        the audio's length
``text``               the words joined                             —
=====================  ==========================================  ======================

The words are counted exactly where the recogniser is right, so they win for the rate; the
sound is measured directly, so it wins for loudness. The reading then goes through the
agent's one consent check (:meth:`edge.agent.EdgeAgent._serialize`), which drops ``text``
unless the resident consented: the features always leave, the words only with consent.

A feature that cannot be computed is left out and reported as an :class:`Absent` with a
code from :data:`REASONS`; the rest of the reading is still published.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge.audio import AudioFeatures, NucleiDetector, read_audio
from edge.errors import AudioError, SpeechError
from edge.questions import RepeatedQuestions
from edge.words import Word, WordTiming, join_words, parse_words, timing

#: Why a feature is absent: the code logged and counted, and what it means.
REASONS: dict[str, str] = {
    "not_given": "neither words nor audio (nor, for loudness, a recogniser figure) given",
    "no_words": "the recogniser heard no words",
    "bad_words": "words not shaped {text, start, end}, or timings no person speaks at",
    "no_syllables": "nothing pronounceable in the words, or no syllable in the sound",
    "too_short": "under 0.1 s of speaking time in the words",
    "audio_unreadable": "the audio file cannot be read",
    "audio_format": "not 16-bit PCM (WAV or raw), mono int16/float samples, at 8 kHz or more",
    "audio_too_short": "under 0.3 s of audio",
    "audio_too_long": "over 300 s of audio",
    "audio_silent": "the audio is silent (speech band below -70 dBFS)",
    "bad_loudness": "the recogniser's loudness is not a dBFS figure in [-100, 0]",
    "text_cut": "recognised text over 500 characters (the wire's bound): the rest is cut",
    "error": "an unexpected failure computing them (a bug): the reading goes without features",
}
#: Reasons that mean the device sent something wrong (logged as warnings).
BAD_INPUT = frozenset({"bad_words", "audio_unreadable", "audio_format", "bad_loudness", "error"})
#: The wire's longest text; longer recognised text is cut (and counted) rather than lost.
MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class PcmClip:
    """Audio already in memory: mono int16 PCM or floats in [-1, 1], at ``rate`` Hz."""

    samples: NDArray[np.generic]
    rate: int


@dataclass(frozen=True, slots=True)
class AudioFile:
    """Audio in a file: WAV, or raw 16-bit little-endian mono PCM when ``rate`` is given."""

    path: Path
    rate: int | None = None


@dataclass(frozen=True, slots=True)
class SpeechInput:
    """What the device heard of one utterance. ``problem`` holds input that could not even
    be parsed (from :meth:`from_json`), reported as the features' reason."""

    words: tuple[Word, ...] | None = None
    audio: PcmClip | AudioFile | None = None
    energy_db: float | None = None
    problem: SpeechError | None = None

    @classmethod
    def from_json(cls, item: dict[str, Any], base: Path) -> SpeechInput | None:
        """The speech input of a replay line (keys ``words``, ``audio``, ``energy_db``), or
        None when it has none. Never raises: a malformed part becomes ``problem``.

        ``audio`` is a WAV path, or ``{"path": ..., "rate": Hz}`` for raw PCM; relative
        paths are relative to ``base`` (the replay file's folder).
        """
        if not {"words", "audio", "energy_db"} & item.keys():
            return None
        words: tuple[Word, ...] | None = None
        audio: AudioFile | None = None
        problem: SpeechError | None = None
        if "audio" in item:
            try:
                audio = _audio_spec(item["audio"], base)
            except AudioError as exc:
                problem = exc
        if "words" in item:
            try:
                words = parse_words(item["words"])
            except SpeechError as exc:
                problem = exc  # the words' problem is the one the rate reports first
        return cls(words, audio, item.get("energy_db"), problem)


def _audio_spec(spec: Any, base: Path) -> AudioFile:
    if isinstance(spec, str):
        return AudioFile(base / spec)
    if isinstance(spec, dict) and isinstance(spec.get("path"), str):
        rate = spec.get("rate")
        if isinstance(rate, int) and not isinstance(rate, bool) and rate > 0:
            return AudioFile(base / spec["path"], rate)
    raise AudioError("audio_format", "audio must be a WAV path or {path, rate} for raw PCM")


@dataclass(frozen=True, slots=True)
class Absent:
    """A feature left out of a reading, and why (a :data:`REASONS` code; numbers only)."""

    feature: str
    reason: str
    detail: str


class SpeechFeaturizer:
    """Turns one device's speech inputs into readings; holds its repeated-question window."""

    def __init__(
        self,
        *,
        questions: RepeatedQuestions | None = None,
        detector: NucleiDetector | None = None,
    ) -> None:
        self.questions = questions or RepeatedQuestions()
        self.detector = detector or NucleiDetector()

    def features(
        self, reading: dict[str, Any], speech: SpeechInput
    ) -> tuple[dict[str, Any], list[Absent]]:
        """``reading`` with the computed features (and ``text``), and what is absent."""
        out = dict(reading)
        problem = speech.problem
        words_err = None if isinstance(problem, AudioError) else problem
        if speech.words is None and words_err is None:
            words_err = SpeechError("not_given", "no words from the recogniser")
        spoken: WordTiming | None = None
        if speech.words is not None:
            try:
                spoken = timing(speech.words)
            except SpeechError as exc:
                words_err = exc
        heard, audio_err = self._audio(speech)
        absent: list[Absent] = []
        if speech.words is not None and "text" not in out:
            text = join_words(speech.words)
            if text:
                out["text"] = text[:MAX_TEXT]
            if len(text) > MAX_TEXT:
                absent.append(Absent("text", "text_cut", f"{len(text)} characters"))

        def lack(feature: str, *errors: SpeechError) -> None:
            """Record ``feature`` absent, for the first reason that is more than "not given"."""
            err = next((e for e in errors if e.reason != "not_given"), errors[0])
            absent.append(Absent(feature, err.reason, err.detail))

        if audio_err is None and (heard is None or heard.speech_rate is None):
            audio_err = SpeechError("no_syllables", "no voiced syllable in the sound")

        if spoken is not None:
            out["speech_rate"] = spoken.speech_rate
        elif heard is not None and heard.speech_rate is not None:
            out["speech_rate"] = heard.speech_rate
        else:
            assert words_err is not None and audio_err is not None  # else a rate was found
            lack("speech_rate", words_err, audio_err)
        if heard is not None:
            out["duration_s"] = heard.duration_s
            out["energy_db"] = heard.energy_db
            if heard.pitch_hz is not None:
                out["pitch_hz"] = heard.pitch_hz
        elif spoken is not None:
            out["duration_s"] = spoken.duration_s
        if heard is None:
            self._loudness(out, speech.energy_db, audio_err, lack)
        said = out.get("text")
        if isinstance(said, str) and said and isinstance(out.get("ts"), int):
            out["repeated_question"] = self.questions.heard(said, out["ts"])
        elif "repeated_question" not in out:
            lack("repeated_question", words_err or SpeechError("no_words", "no text"))
        return out, absent

    def _audio(self, speech: SpeechInput) -> tuple[AudioFeatures | None, SpeechError | None]:
        """The audio's figures, or the reason there are none."""
        if speech.audio is None:
            if isinstance(speech.problem, AudioError):
                return None, speech.problem
            return None, SpeechError("not_given", "no audio")
        samples: NDArray[np.generic]
        try:
            if isinstance(speech.audio, AudioFile):
                samples, rate = read_audio(speech.audio.path, rate=speech.audio.rate)
            else:
                samples, rate = speech.audio.samples, speech.audio.rate
            return self.detector.measure(samples, rate), None
        except AudioError as exc:
            return None, exc

    @staticmethod
    def _loudness(
        out: dict[str, Any], given: Any, audio_err: SpeechError | None, lack: Any
    ) -> None:
        """The recogniser's loudness where there is no audio to measure it from."""
        if given is None:
            if audio_err is not None and audio_err.reason != "not_given":
                lack("energy_db", audio_err)
            return
        ok = isinstance(given, int | float) and not isinstance(given, bool)
        if ok and math.isfinite(given) and -100.0 <= given <= 0.0:
            out["energy_db"] = float(given)
        else:
            lack("energy_db", SpeechError("bad_loudness", "not a dBFS figure in [-100, 0]"))
