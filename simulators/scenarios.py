"""The scenario library: declarative descriptions of what goes wrong, with ground truth.

A :class:`Scenario` says *what* changes (vital shifts, a behaviour, events, speech) and *when*
(its anchor in the resident's day and its duration); :mod:`simulators.episodes` turns one into
an :class:`~simulators.episodes.Episode` on a given resident and day, and the home applies it.
Each scenario names the severity tier an alert for it should have, so alert routing can be
scored against the labels.

Envelopes: ``plateau`` ramps in over ``ramp_s`` after the start and out before the end, so the
whole effect lies inside the label; ``rise`` grows linearly over the whole window (a slow
deterioration), and stops at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from careloop.wire import EVENT_TYPES
from careloop.wire.needs import TIERS, Tier

#: Where in the resident's day an episode starts (see :func:`simulators.episodes.natural_start`).
Anchor = Literal["any", "awake", "wake", "night", "afternoon", "checkup", "midnight"]
Shape = Literal["plateau", "rise"]
#: Behaviours override the routine: ``fallen`` lies still on the floor, ``in_bed`` stays in
#: bed, ``wandering`` walks about out of bed.
Behaviour = Literal["fallen", "in_bed", "wandering"]
BEHAVIOURS: tuple[str, ...] = get_args(Behaviour)

#: Vitals a scenario may shift.
SHIFTABLE: tuple[str, ...] = (
    "heart_rate",
    "spo2",
    "respiration_rate",
    "systolic_bp",
    "diastolic_bp",
    "temperature",
)


@dataclass(frozen=True, slots=True)
class Shift:
    """Move one vital: ``by`` adds a delta; ``to`` pulls the value towards an absolute target.

    Ranges are sampled once per episode, so two fevers are not identical.
    """

    measure: str
    by: tuple[float, float] | None = None
    to: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.measure not in SHIFTABLE:
            raise ValueError(f"cannot shift {self.measure!r}")
        if (self.by is None) == (self.to is None):
            raise ValueError("a Shift needs exactly one of by= or to=")


@dataclass(frozen=True, slots=True)
class Events:
    """Events a scenario adds: one at the start, or a stream every ``every_s`` seconds."""

    type: str
    detail: str
    at_start: bool = True
    every_s: float = 0.0
    probability: float = 1.0
    confidence: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"event type must be one of {EVENT_TYPES}")
        if not self.at_start and self.every_s <= 0:
            raise ValueError("an event stream needs every_s > 0")


@dataclass(frozen=True, slots=True)
class Speech:
    """How a scenario changes utterances.

    ``pool`` is a phrase-pool kind (``low_mood``, ``help``, ``question``) in the resident's
    language unless ``language`` pins it. ``mode``: ``mix`` replaces a share of ordinary
    utterances (and adds ``extra_rate`` times more of them); ``stream`` says one phrase every
    ``every_s`` (the same question, repeated); ``once`` says one phrase ``delay_s`` after the
    start (a call for help). Factors apply to the resident's usual rate and pitch.
    """

    pool: str
    mode: Literal["mix", "stream", "once"]
    language: str | None = None
    share: float = 0.7
    extra_rate: float = 1.0
    every_s: float = 0.0
    delay_s: tuple[float, float] = (60.0, 150.0)
    rate_factor: tuple[float, float] = (1.0, 1.0)
    pitch_factor: float = 1.0
    energy_db: float = 0.0


@dataclass(frozen=True, slots=True)
class Scenario:
    """One kind of episode, with the severity its alert should have."""

    name: str
    tier: Tier
    summary: str
    anchor: Anchor
    duration_s: tuple[float, float]
    shape: Shape = "plateau"
    ramp_s: float = 300.0
    shifts: tuple[Shift, ...] = ()
    behaviour: Behaviour | None = None
    activity_scale: float = 1.0
    sleep_loss_h: float = 0.0
    confusion_after: float | None = None
    events: tuple[Events, ...] = ()
    speech: Speech | None = None
    suppress_checkup: bool = False

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"{self.name}: tier must be one of {TIERS}")
        lo, hi = self.duration_s
        if not 0 < lo <= hi or 2 * self.ramp_s > lo:
            raise ValueError(f"{self.name}: bad duration_s or ramp_s")


_MIN, _HOUR, _DAY = 60.0, 3_600.0, 86_400.0

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "fever_onset",
            "important",
            "temperature up 1.8-2.4 °C over 45 min, with faster pulse and breathing",
            "any",
            (8 * _HOUR, 16 * _HOUR),
            ramp_s=45 * _MIN,
            shifts=(
                Shift("temperature", by=(1.8, 2.4)),
                Shift("heart_rate", by=(10.0, 18.0)),
                Shift("respiration_rate", by=(2.0, 4.0)),
            ),
        ),
        Scenario(
            "hypoxia",
            "emergency",
            "SpO2 falls to 84-88 %, breathing and pulse rise",
            "any",
            (40 * _MIN, 90 * _MIN),
            ramp_s=5 * _MIN,
            shifts=(
                Shift("spo2", to=(84.0, 88.0)),
                Shift("respiration_rate", by=(4.0, 7.0)),
                Shift("heart_rate", by=(8.0, 15.0)),
            ),
        ),
        Scenario(
            "tachycardia",
            "important",
            "heart rate held at 125-145 bpm whatever the activity",
            "any",
            (20 * _MIN, 60 * _MIN),
            ramp_s=2 * _MIN,
            shifts=(Shift("heart_rate", to=(125.0, 145.0)),),
        ),
        Scenario(
            "bradycardia",
            "important",
            "heart rate held at 36-44 bpm",
            "any",
            (30 * _MIN, 90 * _MIN),
            ramp_s=3 * _MIN,
            shifts=(Shift("heart_rate", to=(36.0, 44.0)),),
        ),
        Scenario(
            "hypertensive_crisis",
            "emergency",
            "blood pressure rises to 185-215 / 115-130 mmHg",
            "awake",
            (60 * _MIN, 120 * _MIN),
            ramp_s=10 * _MIN,
            shifts=(
                Shift("systolic_bp", to=(185.0, 215.0)),
                Shift("diastolic_bp", to=(115.0, 130.0)),
                Shift("heart_rate", by=(5.0, 12.0)),
            ),
        ),
        Scenario(
            "news2_rise",
            "emergency",
            "sepsis-like rise over hours: RR, HR and temperature up, SpO2 and BP down, "
            "new confusion (C) in the last quarter",
            "any",
            (6 * _HOUR, 10 * _HOUR),
            shape="rise",
            shifts=(
                Shift("respiration_rate", by=(9.0, 12.0)),
                Shift("spo2", by=(-7.0, -5.0)),
                Shift("heart_rate", by=(28.0, 38.0)),
                Shift("temperature", by=(1.3, 1.8)),
                Shift("systolic_bp", by=(-35.0, -25.0)),
                Shift("diastolic_bp", by=(-15.0, -10.0)),
            ),
            confusion_after=0.75,
        ),
        Scenario(
            "fall_no_movement",
            "emergency",
            "fall_detected, then lying on the floor: no steps, no motion, out of bed; a call "
            "for help a minute or two later",
            "awake",
            (20 * _MIN, 45 * _MIN),
            ramp_s=1 * _MIN,
            shifts=(Shift("heart_rate", by=(8.0, 14.0)), Shift("respiration_rate", by=(2.0, 4.0))),
            behaviour="fallen",
            events=(Events("fall_detected", "wearable_impact", confidence=(0.8, 0.98)),),
            speech=Speech("help", "once", rate_factor=(1.05, 1.2), pitch_factor=1.1, energy_db=8),
        ),
        Scenario(
            "sos_call",
            "emergency",
            "the SOS button is pressed and the resident calls for help",
            "awake",
            (10 * _MIN, 15 * _MIN),
            ramp_s=1 * _MIN,
            shifts=(Shift("heart_rate", by=(5.0, 10.0)),),
            events=(Events("sos_button", "pendant"),),
            speech=Speech("help", "once", delay_s=(5.0, 30.0), pitch_factor=1.1, energy_db=8),
        ),
        Scenario(
            "not_out_of_bed",
            "important",
            "stays in bed from the earliest usual wake time for 2.5-4 h",
            "wake",
            (2.5 * _HOUR, 4 * _HOUR),
            behaviour="in_bed",
        ),
        Scenario(
            "night_wandering",
            "important",
            "walks about at night, out of bed, opening the exit door",
            "night",
            (30 * _MIN, 75 * _MIN),
            ramp_s=1 * _MIN,
            behaviour="wandering",
            events=(Events("door", "exit_door", at_start=False, every_s=6 * _MIN),),
        ),
        Scenario(
            "slow_decline",
            "general",
            "over days: resting HR creeps up 10-16 bpm, activity falls by 70 %, sleep shortens "
            "and fragments",
            "midnight",
            (4 * _DAY, 6 * _DAY),
            shape="rise",
            shifts=(Shift("heart_rate", by=(10.0, 16.0)),),
            activity_scale=0.3,
            sleep_loss_h=2.0,
        ),
        Scenario(
            "low_mood_zh",
            "emotional",
            "Chinese low-mood utterances (今天有点闷, 没人来看我), slower and quieter",
            "wake",
            (24 * _HOUR, 40 * _HOUR),
            ramp_s=0.0,
            speech=Speech(
                "low_mood",
                "mix",
                language="zh",
                extra_rate=2.0,
                share=0.75,
                rate_factor=(0.75, 0.85),
                pitch_factor=0.92,
                energy_db=-6,
            ),
        ),
        Scenario(
            "low_mood_en",
            "emotional",
            'English low-mood utterances ("I feel a bit down"), slower and quieter',
            "wake",
            (24 * _HOUR, 40 * _HOUR),
            ramp_s=0.0,
            speech=Speech(
                "low_mood",
                "mix",
                language="en",
                extra_rate=2.0,
                share=0.75,
                rate_factor=(0.75, 0.85),
                pitch_factor=0.92,
                energy_db=-6,
            ),
        ),
        Scenario(
            "agitation",
            "emotional",
            "afternoon restlessness: the same question asked every few minutes, fast and "
            "loud (repeated_question true), more pacing",
            "afternoon",
            (60 * _MIN, 150 * _MIN),
            ramp_s=5 * _MIN,
            shifts=(Shift("heart_rate", by=(6.0, 12.0)),),
            activity_scale=3.0,
            speech=Speech(
                "question",
                "stream",
                every_s=6 * _MIN,
                rate_factor=(1.45, 1.75),
                pitch_factor=1.15,
                energy_db=6,
            ),
        ),
        Scenario(
            "lonely_sentence",
            "emotional",
            "one clear sentence of loneliness or low mood (今天有点闷, I feel a bit down), said "
            "once, slower and quieter (the demo's showcase; needs text consent to be read)",
            "awake",
            (10 * _MIN, 15 * _MIN),
            ramp_s=0.0,
            speech=Speech(
                "low_mood",
                "once",
                delay_s=(5.0, 10.0),
                rate_factor=(0.8, 0.85),
                pitch_factor=0.92,
                energy_db=-6,
            ),
        ),
        Scenario(
            "agitated_exchange",
            "emotional",
            "one clearly agitated question, twice as fast as usual, higher and louder (the "
            "demo's showcase of the 30 s handover)",
            "awake",
            (10 * _MIN, 15 * _MIN),
            ramp_s=1 * _MIN,
            shifts=(Shift("heart_rate", by=(6.0, 10.0)),),
            speech=Speech(
                "question",
                "once",
                delay_s=(5.0, 10.0),
                rate_factor=(2.0, 2.2),
                pitch_factor=1.25,
                energy_db=10,
            ),
        ),
        Scenario(
            "missed_checkup",
            "general",
            "no checkup_done in the two hours after the daily checkup is due",
            "checkup",
            (2 * _HOUR, 2 * _HOUR),
            ramp_s=0.0,
            suppress_checkup=True,
        ),
    )
}


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``; raises ``KeyError`` listing the known names."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
