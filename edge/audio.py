"""Speech rate, loudness and pitch from the audio itself (numpy only, on the device).

Where a voice device hands its agent the audio of an utterance (16-bit PCM or a WAV file)
rather than, or besides, its recogniser's words, the agent measures how the resident spoke
from the sound. Nothing is sent anywhere to do it, and the audio is never kept or sent:
only the numbers below leave the device.

The method is syllable-nuclei peak picking on the energy envelope (after de Jong & Wempe,
2009, "Praat script to detect syllable nuclei", without Praat):

1. the signal is band-limited to 300-3,000 Hz (FFT mask), where vowels carry their energy
   and hiss, hum and most fricative noise do not;
2. its short-time energy (30 ms Hann window, 10 ms hop) in dB, smoothed over 50 ms, is the
   envelope; frames within ``silence_db`` of the loudest (99th percentile) frame are speech;
3. a *nucleus* is a local maximum of the envelope above the speech threshold and the
   envelope's median, separated from the previous nucleus by a dip of at least ``dip_db``
   (else the higher of the two is kept), and voiced: the frame's normalised autocorrelation
   has a peak of at least ``voicing`` at a pitch period between 60 and 500 Hz;
4. **speech_rate** (the wire's articulation rate, syllables/s) = nuclei / speaking time,
   where speaking time leaves out pauses longer than ``pause_s``; **energy_db** = the RMS
   of the speech frames in dBFS (RMS 1.0 = 0 dBFS); **pitch_hz** = the median
   autocorrelation pitch of the voiced nuclei's frames; **duration_s** = the whole
   utterance. Audio whose speech band never rises above :data:`SILENT_DBFS` is silent and
   gives no figure.

It counts syllables, not words, so it needs no language model: one nucleus per Mandarin
syllable (one per Han character) and per English syllable. Measured on speech synthesised
by espeak-ng at slow and fast rates (docs/edge.md has the figures, ``tests/edge/
test_audio.py`` the check): the faster rate always measures faster, and the figure is within
a fifth of the syllables of the text over the length of the sound.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edge.errors import AudioError

F64 = NDArray[np.float64]

#: Shortest audio worth measuring (s); shorter gives no figures, with a reason.
MIN_AUDIO_S = 0.3
#: Longest audio measured (s): the wire's duration_s bound.
MAX_AUDIO_S = 300.0
#: Lowest sample rate accepted (Hz): telephone band, enough for 300-3,000 Hz.
MIN_RATE_HZ = 8000
#: Audio whose loudest speech-band frames stay below this (dBFS) is silence, not speech.
SILENT_DBFS = -70.0
#: Fastest plausible articulation rate (syllables/s): the wire contract's bound.
MAX_RATE = 15.0


@dataclass(frozen=True, slots=True)
class AudioFeatures:
    """What the sound of one utterance says about how it was spoken."""

    speech_rate: float | None
    energy_db: float | None
    pitch_hz: float | None
    duration_s: float
    nuclei: int
    speaking_s: float


@dataclass(frozen=True, slots=True)
class NucleiDetector:
    """Syllable nuclei on the energy envelope; parameters as in the module docstring."""

    frame_s: float = 0.03
    hop_s: float = 0.01
    smooth_s: float = 0.05
    silence_db: float = 25.0
    dip_db: float = 2.0
    voicing: float = 0.35
    pause_s: float = 0.3
    band_hz: tuple[float, float] = (300.0, 3000.0)

    def measure(self, samples: NDArray[np.generic], rate: int) -> AudioFeatures:
        """Measure mono ``samples`` (int16 PCM or floats in [-1, 1]) at ``rate`` Hz.

        Raises :class:`AudioError` for audio that gives no figure at all (wrong format, too
        short or long, silent); ``speech_rate`` alone is None when sound was heard but no
        syllable in it (a hum, a cough, steady noise).
        """
        x = _as_float(samples)
        if rate < MIN_RATE_HZ:
            raise AudioError("audio_format", f"sample rate {rate} Hz is below {MIN_RATE_HZ} Hz")
        duration = len(x) / rate
        if duration < MIN_AUDIO_S:
            raise AudioError("audio_too_short", f"{duration:.2f} s (at least {MIN_AUDIO_S} s)")
        if duration > MAX_AUDIO_S:
            raise AudioError("audio_too_long", f"{duration:.0f} s (at most {MAX_AUDIO_S:.0f} s)")
        frame, hop = round(self.frame_s * rate), round(self.hop_s * rate)
        frames = _frames(x, frame, hop)
        power = np.mean(frames**2, axis=1)
        env = _smooth(
            _db(_band_energy(x, rate, self.band_hz, frame, hop)), self.smooth_s, hop, rate
        )
        top = float(np.percentile(env, 99))
        if top < SILENT_DBFS:
            raise AudioError("audio_silent", f"speech band peaks at {top:.0f} dBFS")
        speech = env >= top - self.silence_db
        floor = max(top - self.silence_db, float(np.median(env)))
        peaks = _nuclei(env, floor, self.dip_db)
        pitches = [_pitch(frames[i], rate) for i in peaks]
        voiced = [f0 for f0, r in pitches if r >= self.voicing]
        speaking = _speaking_time(speech, self.hop_s, self.pause_s)
        # Loudness is the RMS of the speech frames (RMS 1.0 = 0 dBFS; a full-scale sine is
        # -3 dBFS), so scaling the audio by g moves it by exactly 20 log10 g.
        energy = 10.0 * float(np.log10(max(float(np.mean(power[speech])), 1e-12)))
        n = len(voiced)
        rate_s = n / speaking if speaking > 0 and n else None
        return AudioFeatures(
            speech_rate=round(rate_s, 2) if rate_s is not None and rate_s <= MAX_RATE else None,
            energy_db=round(min(max(energy, -100.0), 0.0), 1),
            pitch_hz=round(float(np.median(voiced)), 1) if voiced else None,
            duration_s=round(duration, 3),
            nuclei=n,
            speaking_s=round(speaking, 3),
        )


def read_audio(path: str | Path, *, rate: int | None = None) -> tuple[F64, int]:
    """Audio from a file as mono floats in [-1, 1] and its sample rate.

    A WAV file (16-bit PCM, what the stdlib ``wave`` module reads; channels are averaged),
    or, given ``rate``, raw 16-bit little-endian mono PCM. Raises :class:`AudioError`
    (``audio_unreadable``, ``audio_format``).
    """
    if rate is not None:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise AudioError("audio_unreadable", f"cannot read PCM: {type(exc).__name__}") from exc
        if len(raw) % 2:
            raise AudioError("audio_format", f"{len(raw)} bytes is not 16-bit PCM")
        return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0, rate
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        reason = "audio_unreadable" if isinstance(exc, OSError) else "audio_format"
        raise AudioError(reason, f"not a readable WAV file: {type(exc).__name__}") from exc
    if width != 2:
        raise AudioError("audio_format", f"{8 * width}-bit WAV; 16-bit PCM expected")
    pcm = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if channels > 1:
        pcm = pcm[: len(pcm) - len(pcm) % channels].reshape(-1, channels).mean(axis=1)
    return pcm, rate


def _as_float(samples: NDArray[np.generic]) -> F64:
    a = np.asarray(samples)
    if a.ndim != 1:
        raise AudioError("audio_format", "mono samples expected (one dimension)")
    if a.dtype == np.int16:
        return a.astype(np.float64) / 32768.0
    if not np.issubdtype(a.dtype, np.floating):
        raise AudioError("audio_format", f"int16 or float samples expected, not {a.dtype}")
    x = a.astype(np.float64)
    if not np.isfinite(x).all():
        raise AudioError("audio_format", "samples must be finite")
    return np.clip(x, -1.0, 1.0)


def _frames(x: F64, frame: int, hop: int) -> F64:
    """Overlapping frames (rows) of ``x``, zero-padded at the end."""
    n = 1 + max(0, (len(x) - frame + hop - 1) // hop)
    padded = np.zeros((n - 1) * hop + frame)
    padded[: len(x)] = x
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    return padded[idx]


def _db(rms: F64) -> F64:
    return 20.0 * np.log10(np.maximum(rms, 1e-6))


def _band_energy(x: F64, rate: int, band: tuple[float, float], frame: int, hop: int) -> F64:
    """RMS per Hann-windowed frame of ``x`` band-limited to ``band`` Hz (an FFT mask)."""
    # Zero-padded to a power of two: an FFT of a length with a large prime factor is many
    # times slower (14.5 s at 22,050 Hz took 1.6 s instead of 0.2 s).
    n = 1 << max(0, len(x) - 1).bit_length()
    spectrum = np.fft.rfft(x, n)
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    spectrum[(freqs < band[0]) | (freqs > band[1])] = 0.0
    y = np.fft.irfft(spectrum, n)[: len(x)]
    frames = _frames(y, frame, hop) * np.hanning(frame)[None, :]
    return np.sqrt(np.mean(frames**2, axis=1) * 8.0 / 3.0)  # Hann window power correction


def _smooth(env: F64, smooth_s: float, hop: int, rate: int) -> F64:
    width = max(1, round(smooth_s * rate / hop))
    if width == 1:
        return env
    kernel = np.ones(width) / width
    return np.convolve(
        np.pad(env, (width // 2, width - 1 - width // 2), mode="edge"), kernel, "valid"
    )


def _nuclei(env: F64, floor: float, dip_db: float) -> list[int]:
    """Frames of the envelope's peaks above ``floor`` with a dip of ``dip_db`` between."""
    interior = (env[1:-1] > env[:-2]) & (env[1:-1] >= env[2:]) & (env[1:-1] > floor)
    candidates = (np.nonzero(interior)[0] + 1).tolist()
    kept: list[int] = []
    for i in candidates:
        if not kept:
            kept.append(i)
            continue
        j = kept[-1]
        dip = float(env[j : i + 1].min())
        if min(env[j], env[i]) - dip >= dip_db:
            kept.append(i)
        elif env[i] > env[j]:
            kept[-1] = i
    return kept


def _pitch(frame: F64, rate: int) -> tuple[float, float]:
    """(F0 in Hz, normalised autocorrelation at its period) of one frame, 60-500 Hz."""
    f = frame - frame.mean()
    energy = float(f @ f)
    if energy <= 1e-12:
        return 0.0, 0.0
    n = len(f)
    spec = np.fft.rfft(f, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[:n]
    # unbiased, normalised: an autocorrelation of 1 at the period is a perfect repetition
    ac = ac / energy * n / np.maximum(n - np.arange(n), 1)
    lo, hi = int(rate / 500.0), min(n - 1, int(rate / 60.0))
    if hi <= lo:
        return 0.0, 0.0
    window = ac[lo:hi]
    best = float(window.max())
    # The shortest lag nearly as good as the best: multiples of the period repeat as well
    # as the period itself, and picking one of them halves or thirds the pitch.
    near = np.nonzero(window >= 0.9 * best)[0] if best > 0 else np.array([int(np.argmax(window))])
    lag = lo + int(near[0])
    # ... but the start of a near-best run is its edge, not its peak: climb to the peak.
    while lag + 1 < hi and ac[lag + 1] > ac[lag]:
        lag += 1
    return rate / lag, float(ac[lag])


def _speaking_time(speech: NDArray[np.bool_], hop_s: float, pause_s: float) -> float:
    """Seconds from the first to the last speech frame, less pauses longer than ``pause_s``."""
    idx = np.nonzero(speech)[0]
    if len(idx) == 0:
        return 0.0
    gaps = np.diff(idx) - 1
    long_pauses = gaps[gaps * hop_s > pause_s].sum()
    return float((idx[-1] - idx[0] + 1 - long_pauses) * hop_s)
