"""A voice device's agent computes its speech features through a real broker: the features
always leave the device, the words only with text consent, and bad speech input is reported
feature by feature while everything else is still delivered."""

from __future__ import annotations

import asyncio
import json
import logging
import queue

import numpy as np
import pytest

from careloop.wire import decode, subscription
from edge.adapters import ReplayAdapter
from edge.agent import EdgeAgent
from tests.edge.conftest import edge_settings
from tests.helpers.espeak import synthesise, write_wav
from tests.helpers.feed import T0, vitals_line
from tests.helpers.mqtt import MqttTestClient

MIN = 60_000
QUESTION = [
    {"text": "現在", "start": 0.10, "end": 0.45},
    {"text": "幾點", "start": 0.50, "end": 0.85},
    {"text": "了？", "start": 0.90, "end": 1.10},
]


def utterance(ts: int, language: str, **speech) -> str:
    return json.dumps({"kind": "utterance", "reading": {"ts": ts, "language": language}, **speech})


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """A replay file of a voice device: good and bad speech input, and a vitals reading."""
    folder = tmp_path_factory.mktemp("voice")
    synthesise("現在幾點了", "zh", 175, folder / "question.wav")
    synthesise("What time is it", "en", 175, folder / "en.wav")
    write_wav(folder / "silent.wav", np.zeros(16000), 16000)
    write_wav(folder / "8bit.wav", np.zeros(16000), 16000, width=1)
    again = [{"text": "现在几点", "start": 0.0, "end": 0.7}]
    lines = [
        utterance(T0, "zh-Hant", words=QUESTION, audio="question.wav"),
        utterance(T0 + 5 * MIN, "zh-Hans", words=again),
        utterance(T0 + 6 * MIN, "en", audio="en.wav"),  # audio only: no words, no repeat
        utterance(T0 + 7 * MIN, "en", words=[]),  # the recogniser heard nothing
        utterance(T0 + 8 * MIN, "en", words="garbled"),
        utterance(T0 + 9 * MIN, "en", audio="8bit.wav", energy_db=-31.5),
        utterance(T0 + 10 * MIN, "en", audio="silent.wav"),
        utterance(T0 + 11 * MIN, "en", audio="missing.wav"),
        vitals_line(0).strip(),
    ]
    path = folder / "voice.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_device(mosquitto, site, tmp_path, replay, consent):
    """Run the agent over ``replay`` until drained; its stats and every reading received."""
    settings = edge_settings(mosquitto, site, tmp_path / site, text_consent=consent)
    with MqttTestClient(mosquitto.host, mosquitto.port) as sub:
        sub.subscribe(subscription(site=site))

        async def scenario():
            adapter = ReplayAdapter("voice1", "r1", replay)
            async with EdgeAgent(settings, adapter) as agent, asyncio.timeout(30):
                await agent.wait_drained()
                return agent

        agent = asyncio.run(scenario())
        readings = {}
        while True:
            try:
                message = sub.get(timeout=1.0)
            except (TimeoutError, queue.Empty):
                break
            _, decoded = decode(message.topic, message.payload)
            if decoded.kind == "utterance":
                for r in decoded.readings:
                    readings[r.ts] = r.model_dump(exclude_none=True)
            elif decoded.kind == "vitals":
                readings["vitals"] = decoded.readings[0].model_dump(exclude_none=True)
    return agent, readings


def test_features_always_leave_the_device_and_words_only_with_consent(
    mosquitto, unique_topic_root, tmp_path, replay, caplog
):
    got = {}
    with caplog.at_level(logging.DEBUG, logger="edge"):
        for consent in (False, True):
            site = f"{unique_topic_root}{int(consent)}"
            got[consent] = run_device(mosquitto, site, tmp_path, replay, consent)
    (agent, without), (_, with_text) = got[False], got[True]
    assert len(without) == len(with_text) == 9  # every line arrived, the bad ones too

    first, again, audio_only = (without[T0 + i * MIN] for i in (0, 5, 6))
    assert first["speech_rate"] == pytest.approx(5 / 1.0, abs=0.01)  # from the words
    assert first["repeated_question"] is False and again["repeated_question"] is True
    assert -40 < first["energy_db"] < -5 and 60 < first["pitch_hz"] < 300  # from the audio
    assert 2.0 < audio_only["speech_rate"] < 8.0 and "repeated_question" not in audio_only
    assert without["vitals"]["heart_rate"] == 60  # the line after the bad ones

    # consent changes only the words: every feature is the same with and without it
    for ts, reading in without.items():
        assert "text" not in reading, ts
        extra = {k: v for k, v in with_text[ts].items() if k != "text"}
        assert extra == reading
    assert with_text[T0]["text"] == "現在幾點了？" and with_text[T0 + 5 * MIN]["text"] == "现在几点"

    # bad input: the feature is left out with its reason, counted and logged
    assert without[T0 + 7 * MIN] == {"ts": T0 + 7 * MIN, "language": "en"}
    assert without[T0 + 9 * MIN]["energy_db"] == -31.5  # the recogniser's, audio unreadable
    assert "energy_db" not in without[T0 + 10 * MIN]
    assert agent.stats.featurized == 8
    for key in (
        "speech_rate:no_words",
        "repeated_question:no_words",
        "speech_rate:bad_words",
        "speech_rate:audio_format",
        "speech_rate:audio_silent",
        "energy_db:audio_silent",
        "speech_rate:audio_unreadable",
        "energy_db:audio_unreadable",
    ):
        assert agent.stats.absent.get(key) == 1, (key, agent.stats.absent)
    assert agent.stats.invalid == 0
    left_out = [r for r in caplog.records if r.getMessage() == "speech feature left out"]
    reasons = {(r.fields["feature"], r.fields["reason"]) for r in left_out}
    assert ("speech_rate", "bad_words") in reasons and ("energy_db", "audio_silent") in reasons
    bad = [r for r in left_out if r.fields["reason"] in ("bad_words", "audio_format")]
    assert bad and all(r.levelno == logging.WARNING for r in bad)
    # the log carries ids, features and reasons: never the words
    logged = " ".join(r.getMessage() + json.dumps(getattr(r, "fields", {})) for r in caplog.records)
    for word in ("現在", "现在", "幾點", "garbled"):
        assert word not in logged


class BrokenDetector:
    def measure(self, samples, rate):
        raise RuntimeError("a bug")


def test_a_failure_computing_features_leaves_the_reading_and_the_agent_running(tmp_path, caplog):
    from edge.adapters import Sample
    from edge.speech import PcmClip, SpeechInput
    from tests.edge.conftest import edge_settings as make

    broker = type("Broker", (), {"host": "127.0.0.1", "port": 1})()
    agent = EdgeAgent(make(broker, "s1", tmp_path), ReplayAdapter("voice1", "r1", tmp_path / "x"))
    agent.speech.detector = BrokenDetector()
    reading = {"ts": T0, "language": "en"}
    sample = Sample("utterance", reading, SpeechInput(audio=PcmClip(np.zeros(16000), 16000)))
    with caplog.at_level(logging.ERROR, logger="edge"):
        (out,) = agent._featurize([sample])
    assert out.reading == reading and out.speech is None
    assert agent.stats.absent == {"features:error": 1}
    assert [r.fields["error"] for r in caplog.records] == ["RuntimeError"]
