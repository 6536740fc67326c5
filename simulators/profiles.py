"""Simulated residents: who they are, their devices, personal baselines and daily routine.

Personal baselines matter because careloop's models judge each resident against themselves:
a resting heart rate of 95 is normal for some residents and a warning for others, so the
population deliberately mixes both, and SpO2 baselines range down to 93 % (as with COPD).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from careloop.wire import check_id

Language = Literal["zh", "en"]
Sex = Literal["female", "male"]

_PROFILE_STREAM = 0x9F0F11E


class Devices(NamedTuple):
    """A resident's devices: the smart-care terminal, the voice device and the worn tag
    (raw accelerometer windows, the ``motion`` kind)."""

    terminal: str
    voice: str
    tag: str


@dataclass(frozen=True, slots=True)
class ResidentProfile:
    """One resident; times of day are hours after local midnight (``7.5`` is 07:30)."""

    id: str
    index: int
    site: str
    devices: Devices
    age: int
    sex: Sex
    language: Language
    text_consent: bool
    resting_hr: float
    spo2: float
    respiration_rate: float
    systolic_bp: float
    diastolic_bp: float
    temperature: float
    wake_h: float
    bed_h: float
    meals_h: tuple[float, float, float]
    checkup_h: float
    activity_level: float
    nap_probability: float
    speech_rate: float
    pitch_hz: float
    utterances_per_day: float

    def __post_init__(self) -> None:
        check_id(self.id, "resident")
        check_id(self.site, "site")
        if not 0.0 < self.wake_h < 12.0 < self.bed_h < 24.0:
            raise ValueError(f"{self.id}: wake_h must be in (0, 12) and bed_h in (12, 24)")
        if self.diastolic_bp >= self.systolic_bp:
            raise ValueError(f"{self.id}: diastolic_bp must be below systolic_bp")


def resident_id(index: int) -> str:
    """The id of the resident at ``index`` (0-based): ``r001``, ``r002``, ..."""
    return f"r{index + 1:03d}"


def _draw(seed: int, index: int, site: str) -> ResidentProfile:
    """One resident from its own generator, so profile ``i`` does not depend on ``n``."""
    rng = np.random.default_rng([seed & (2**64 - 1), _PROFILE_STREAM, index])
    rid = resident_id(index)
    sex: Sex = "female" if rng.random() < 0.62 else "male"
    language: Language = "zh" if rng.random() < 0.6 else "en"
    # Resting heart rate: a mixture so some residents normally sit near 60 and some near 95.
    group = rng.random()
    if group < 0.2:
        resting_hr = rng.uniform(56.0, 63.0)
    elif group < 0.4:
        resting_hr = rng.uniform(88.0, 98.0)
    else:
        resting_hr = rng.uniform(64.0, 84.0)
    # SpO2: most 96-99, a chronic-lung minority at 93-95.
    spo2 = rng.uniform(93.0, 95.5) if rng.random() < 0.2 else rng.uniform(96.0, 98.8)
    systolic = rng.uniform(108.0, 150.0)
    diastolic = min(rng.uniform(60.0, 88.0), systolic - 35.0)
    wake_h = rng.uniform(5.5, 7.75)
    bed_h = rng.uniform(20.5, 22.75)
    breakfast = rng.uniform(7.75, 8.25)
    meals = (breakfast, rng.uniform(11.75, 12.25), rng.uniform(17.25, 17.75))
    speech = rng.uniform(4.0, 5.2) if language == "zh" else rng.uniform(3.0, 4.2)
    pitch = rng.uniform(165.0, 215.0) if sex == "female" else rng.uniform(100.0, 140.0)
    return ResidentProfile(
        id=rid,
        index=index,
        site=site,
        devices=Devices(terminal=f"term-{rid}", voice=f"voice-{rid}", tag=f"tag-{rid}"),
        age=int(rng.integers(68, 97)),
        sex=sex,
        language=language,
        text_consent=bool(rng.random() < 0.7),
        resting_hr=round(float(resting_hr), 1),
        spo2=round(float(spo2), 1),
        respiration_rate=round(float(rng.uniform(13.0, 18.5)), 1),
        systolic_bp=round(float(systolic), 1),
        diastolic_bp=round(float(diastolic), 1),
        temperature=round(float(rng.uniform(36.2, 36.9)), 2),
        wake_h=round(float(wake_h), 3),
        bed_h=round(float(bed_h), 3),
        meals_h=(round(float(meals[0]), 3), round(float(meals[1]), 3), round(float(meals[2]), 3)),
        checkup_h=round(float(rng.uniform(9.5, 10.5)), 3),
        activity_level=round(float(np.exp(rng.normal(0.0, 0.35))), 3),
        nap_probability=round(float(rng.uniform(0.1, 0.7)), 2),
        speech_rate=round(float(speech), 2),
        pitch_hz=round(float(pitch), 1),
        utterances_per_day=round(float(rng.uniform(4.0, 9.0)), 1),
    )


def make_profiles(n: int, *, seed: int, site: str = "demo-home") -> list[ResidentProfile]:
    """``n`` residents, deterministic in ``seed``; ``make_profiles(5)`` is a prefix of ``(10)``."""
    if n < 0:
        raise ValueError("n must be >= 0")
    return [_draw(seed, i, site) for i in range(n)]
