"""Declarative tables: every field a device may send, with its unit and plausible range.

These tables are the single source for validation (:mod:`careloop.wire.schemas`), for the
InfluxDB field types ingest writes, and for ``docs/wire.md``. Ranges are *plausible*, not
*normal*: a heart rate of 180 is alarming but real and must reach the models; 900 is a sensor
fault and is rejected at the door.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ValueType = Literal["float", "int", "bool", "enum", "str"]


@dataclass(frozen=True, slots=True)
class Measure:
    """One field of a reading."""

    name: str
    type: ValueType
    unit: str
    description: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None


ACVPU = ("A", "C", "V", "P", "U")
POSTURES = ("lying", "sitting", "standing", "walking")
EVENT_TYPES = (
    "sos_button",
    "fall_detected",
    "door",
    "medication_taken",
    "checkup_done",
    "device_fault",
    "video_call",
    # The device's answer button after the satisfaction question; ``detail`` is the answer
    # ("1".."5", or "good" / "ok" / "bad"), see alerts/answers.py.
    "rating_button",
)

VITALS: tuple[Measure, ...] = (
    Measure("heart_rate", "float", "bpm", "pulse rate", 20, 250),
    Measure("spo2", "float", "%", "peripheral oxygen saturation", 50, 100),
    Measure("respiration_rate", "float", "breaths/min", "respiration rate", 3, 60),
    Measure("systolic_bp", "float", "mmHg", "systolic blood pressure", 50, 260),
    Measure("diastolic_bp", "float", "mmHg", "diastolic blood pressure", 20, 160),
    Measure("temperature", "float", "°C", "body temperature", 30, 43),
    Measure("supplemental_oxygen", "bool", "", "receiving supplemental oxygen (NEWS2)"),
    Measure("consciousness", "enum", "", "ACVPU level (C = new confusion)", choices=ACVPU),
    Measure("steps", "int", "steps", "steps since the previous reading", 0, 10_000),
    Measure("activity", "float", "MET", "movement intensity in metabolic equivalents", 0, 20),
    Measure("posture", "enum", "", "body posture", choices=POSTURES),
    Measure("bed_occupied", "bool", "", "bed sensor: someone is in bed"),
    Measure("room_motion", "bool", "", "room PIR sensor saw motion since the last reading"),
)

EVENT: tuple[Measure, ...] = (
    Measure("type", "enum", "", "what happened", choices=EVENT_TYPES),
    Measure("confidence", "float", "", "detector confidence (falls)", 0, 1),
    Measure("detail", "str", "", "short machine-readable detail, no personal data", max_length=200),
)

UTTERANCE: tuple[Measure, ...] = (
    Measure("language", "str", "", "BCP 47 language tag, e.g. zh or en", max_length=16),
    Measure(
        "text",
        "str",
        "",
        "the words; present only where the resident consented to text",
        max_length=500,
    ),
    Measure("speech_rate", "float", "syllables/s", "articulation rate", 0, 15),
    Measure("pitch_hz", "float", "Hz", "median fundamental frequency", 40, 600),
    Measure("energy_db", "float", "dBFS", "mean loudness", -100, 0),
    Measure("duration_s", "float", "s", "length of the utterance", 0, 300),
    Measure("repeated_question", "bool", "", "the device heard this question recently"),
)

#: Raw accelerometer windows (the ``motion`` kind, docs/wire.md): list-valued, so not a table
#: of scalar measures; these are its limits, enforced by ``careloop.wire.schemas``.
MOTION_FIELDS = ("start", "t_ms", "acc_mg", "peak_mg", "rate_hz")
#: Most samples in one window (the posture tracker's buffer holds no more).
MOTION_MAX_SAMPLES = 1024
#: Longest window: the last sample at most this many ms after the first.
MOTION_MAX_SPAN_MS = 300_000
#: Largest acceleration per axis, and peak magnitude, in milli-g (a ±16 g sensor).
MOTION_MAX_MG = 16_000
#: The device's nominal sample rate (informative), Hz.
MOTION_RATE_HZ = (0.1, 50.0)

TABLES: dict[str, tuple[Measure, ...]] = {
    "vitals": VITALS,
    "event": EVENT,
    "utterance": UTTERANCE,
}

#: Every field name that may appear in a message (for bounded error labels).
KNOWN_FIELDS: frozenset[str] = frozenset(
    [m.name for table in TABLES.values() for m in table]
    + list(MOTION_FIELDS)
    + [
        "v",
        "device",
        "resident",
        "seq",
        "ts",
        "readings",
        "state",
        "reason",
        "battery",
        "firmware",
        "id",
        "action",
        "alert",
        "payload",
        "topic",
        "site",
        "kind",
    ]
)
