"""Speech for the audio tests, synthesised by Debian's espeak-ng (installed by scripts/bootstrap).

Mandarin uses the ``cmn-latn-pinyin`` voice: Debian's espeak-ng 1.51 ``cmn`` voice turns Han
characters into pinyin and then reads the pinyin (tone digits included) as English, while
``cmn-latn-pinyin`` reads the same characters as Mandarin syllables.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

VOICES = {"en": "en", "zh": "cmn-latn-pinyin"}


def synthesise(text: str, language: str, wpm: int, path: Path) -> Path:
    """``text`` spoken at ``wpm`` (espeak's -s) into the WAV file ``path`` (22,050 Hz, 16 bit)."""
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is missing: run scripts/bootstrap (apt-get install espeak-ng)"
    cmd = [exe, "-v", VOICES[language], "-s", str(wpm), "-w", str(path), text]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int, *, width: int = 2) -> Path:
    """Mono samples (floats in [-1, 1]) as a PCM WAV of ``width`` bytes per sample."""
    if width == 1:
        data = np.clip(samples * 127 + 128, 0, 255).astype(np.uint8).tobytes()
    else:
        data = np.clip(samples * 32767, -32768, 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return path


def sounding_span_s(samples: np.ndarray, rate: int, threshold: float = 0.01) -> float:
    """Seconds from the first to the last sample louder than ``threshold``."""
    idx = np.nonzero(np.abs(samples) > threshold)[0]
    return float((idx[-1] - idx[0]) / rate)
