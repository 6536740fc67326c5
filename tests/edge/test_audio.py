"""Speech rate and loudness from the audio itself, on speech espeak-ng synthesises."""

from __future__ import annotations

import numpy as np
import pytest

from edge.audio import NucleiDetector, read_audio
from edge.errors import AudioError
from tests.helpers.espeak import sounding_span_s, synthesise, write_wav

#: The same sentence in each language, and its syllables counted by hand (16 English
#: syllables: the-wea-ther-is-love-ly-to-day-shall-we-take-a-walk-in-the-park; one per Han
#: character).
SENTENCES = {
    "en": ("The weather is lovely today, shall we take a walk in the park", 16),
    "zh": ("今天天氣很好，我們去公園散步吧", 15),
}
SPEEDS = (100, 175, 250)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    """{(language, wpm): (samples, rate)} for every sentence at every speed."""
    folder = tmp_path_factory.mktemp("espeak")
    out = {}
    for lang, (text, _) in SENTENCES.items():
        for wpm in SPEEDS:
            out[lang, wpm] = read_audio(synthesise(text, lang, wpm, folder / f"{lang}{wpm}.wav"))
    return out


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_faster_speech_measures_faster_and_near_the_true_rate(spoken, lang):
    detector = NucleiDetector()
    syllables = SENTENCES[lang][1]
    rates = []
    for wpm in SPEEDS:
        samples, rate = spoken[lang, wpm]
        measured = detector.measure(samples, rate)
        true_rate = syllables / sounding_span_s(samples, rate)
        # within a band of the syllables of the text over the length of the sound
        assert 0.75 * true_rate <= measured.speech_rate <= 1.3 * true_rate, (wpm, measured)
        assert abs(measured.nuclei - syllables) <= 0.2 * syllables, (wpm, measured)
        rates.append(measured.speech_rate)
    assert rates == sorted(rates) and len(set(rates)) == len(rates)
    assert rates[-1] / rates[0] >= 1.8  # espeak's 250 wpm is 2.5 times its 100 wpm


def test_loudness_moves_by_the_gain_in_db_and_the_rate_does_not(spoken):
    samples, rate = spoken["en", 175]
    detector = NucleiDetector()
    base = detector.measure(samples, rate)
    for gain, db in ((0.5, -6.02), (0.25, -12.04), (0.1, -20.0)):
        scaled = detector.measure(samples * gain, rate)
        assert scaled.energy_db - base.energy_db == pytest.approx(db, abs=0.15)
        assert scaled.speech_rate == base.speech_rate


def test_loudness_is_rms_dbfs_and_a_steady_hum_has_no_syllables():
    rate = 16000
    t = np.arange(rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * 400 * t)  # RMS 0.354: -9.03 dBFS; in the speech band
    measured = NucleiDetector().measure(tone, rate)
    assert measured.energy_db == pytest.approx(-9.0, abs=0.1)
    assert measured.speech_rate is None


def test_bursts_of_voice_count_as_syllables_at_their_rate_and_pitch():
    rate = 16000
    t = np.arange(3 * rate) / rate
    gate = (t % 0.25) < 0.15  # 150 ms on, 100 ms off: 4 "syllables" a second
    bursts = 0.3 * np.sin(2 * np.pi * 200 * t) * gate + 0.2 * np.sin(2 * np.pi * 400 * t) * gate
    measured = NucleiDetector().measure(bursts, rate)
    assert measured.nuclei == 12
    assert measured.speech_rate == pytest.approx(4.0, rel=0.1)
    assert measured.pitch_hz == pytest.approx(200, rel=0.03)


def test_int16_and_float_samples_measure_alike(spoken):
    samples, rate = spoken["zh", 175]
    pcm = np.round(samples * 32768).clip(-32768, 32767).astype(np.int16)
    detector = NucleiDetector()
    assert detector.measure(pcm, rate) == detector.measure(samples, rate)


def test_raw_pcm_reads_like_the_wav(spoken, tmp_path):
    samples, rate = spoken["en", 100]
    path = write_wav(tmp_path / "a.wav", samples, rate)
    raw = tmp_path / "a.raw"
    raw.write_bytes(np.clip(samples * 32767, -32768, 32767).astype("<i2").tobytes())
    from_wav, _ = read_audio(path)
    from_raw, raw_rate = read_audio(raw, rate=rate)
    assert raw_rate == rate and np.array_equal(from_wav, from_raw)


def _reason(call) -> str:
    with pytest.raises(AudioError) as info:
        call()
    return info.value.reason


def test_audio_that_cannot_be_measured_says_why(tmp_path):
    detector = NucleiDetector()
    rate = 16000
    silence = np.zeros(rate * 2, dtype=np.int16)
    assert _reason(lambda: detector.measure(silence, rate)) == "audio_silent"
    assert _reason(lambda: detector.measure(np.zeros(rate // 10), rate)) == "audio_too_short"
    long = np.zeros(rate * 301, dtype=np.int16)
    assert _reason(lambda: detector.measure(long, rate)) == "audio_too_long"
    assert _reason(lambda: detector.measure(np.zeros(rate, np.int32), rate)) == "audio_format"
    assert _reason(lambda: detector.measure(np.zeros((rate, 2)), rate)) == "audio_format"
    assert _reason(lambda: detector.measure(np.full(rate, np.nan), rate)) == "audio_format"
    assert _reason(lambda: detector.measure(np.zeros(rate), 4000)) == "audio_format"
    eight_bit = write_wav(tmp_path / "8bit.wav", np.zeros(rate), rate, width=1)
    assert _reason(lambda: read_audio(eight_bit)) == "audio_format"
    garbled = tmp_path / "garbled.wav"
    garbled.write_bytes(b"RIFF\x00\x01not a wave file at all")
    assert _reason(lambda: read_audio(garbled)) == "audio_format"
    assert _reason(lambda: read_audio(tmp_path / "missing.wav")) == "audio_unreadable"
    odd = tmp_path / "odd.raw"
    odd.write_bytes(b"\x00\x01\x02")
    assert _reason(lambda: read_audio(odd, rate=16000)) == "audio_format"


def test_noise_has_loudness_but_no_syllables():
    rate = 16000
    noise = np.random.default_rng(7).normal(0.0, 0.05, rate * 3)
    measured = NucleiDetector().measure(noise, rate)
    assert measured.speech_rate is None
    assert measured.energy_db == pytest.approx(-26.0, abs=0.5)  # RMS 0.05
