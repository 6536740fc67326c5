"""Payload schemas: one envelope, one reading model per kind, built from the measure tables.

Every uplink message is JSON::

    {"v": 1, "device": "term-r001", "resident": "r001", "seq": 42, "ts": 1764000000000,
     "readings": [{"ts": 1764000000000, "heart_rate": 72, "spo2": 97}]}

``ts`` values are Unix epoch milliseconds from the device clock; ``seq`` increases with every
message a device sends (a batch of readings travels in one message). Status messages carry
``state`` instead of ``readings``. Validation is strict: ``"72"`` is not a heart rate.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from careloop.wire.measures import (
    EVENT,
    MOTION_MAX_MG,
    MOTION_MAX_SAMPLES,
    MOTION_MAX_SPAN_MS,
    MOTION_RATE_HZ,
    TABLES,
    UTTERANCE,
    VITALS,
    Measure,
)
from careloop.wire.topics import ID_PATTERN

#: Largest payload accepted, in bytes; bigger ones are rejected before parsing.
MAX_PAYLOAD_BYTES = 64 * 1024
#: Most readings one message may carry.
MAX_READINGS = 500
#: Device timestamps must fall in [2000-01-01, 2100-01-01).
MIN_TS_MS = 946_684_800_000
MAX_TS_MS = 4_102_444_800_000

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
EpochMs = Annotated[int, Field(ge=MIN_TS_MS, lt=MAX_TS_MS, description="Unix epoch ms")]

_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


def _annotation(m: Measure) -> Any:
    """The pydantic type of one measure."""
    if m.type == "float":
        return Annotated[float, Field(ge=m.lo, le=m.hi, description=f"{m.description} [{m.unit}]")]
    if m.type == "int":
        return Annotated[int, Field(ge=m.lo, le=m.hi, description=f"{m.description} [{m.unit}]")]
    if m.type == "bool":
        return Annotated[bool, Field(description=m.description)]
    if m.type == "enum":
        return Annotated[Literal[m.choices], Field(description=m.description)]
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=m.max_length),
        Field(description=m.description),
    ]


class _Reading(BaseModel):
    model_config = _CONFIG
    ts: EpochMs


def _reading_model(name: str, table: tuple[Measure, ...], required: tuple[str, ...]) -> Any:
    fields: dict[str, Any] = {}
    for m in table:
        ann = _annotation(m)
        fields[m.name] = (ann, ...) if m.name in required else (ann | None, None)
    return create_model(name, __base__=_Reading, **fields)


class _VitalsChecks(BaseModel):
    """Cross-field rules of a vitals reading."""

    @model_validator(mode="after")
    def _check(self) -> _VitalsChecks:
        values = self.__dict__
        if all(values.get(m.name) is None for m in VITALS):
            raise ValueError("a vitals reading needs at least one measurement")
        sys_bp, dia_bp = values.get("systolic_bp"), values.get("diastolic_bp")
        if sys_bp is not None and dia_bp is not None and dia_bp >= sys_bp:
            raise ValueError("diastolic_bp must be below systolic_bp")
        return self


VitalsReading: type[BaseModel] = create_model(
    "VitalsReading",
    __base__=(_reading_model("_VitalsBase", VITALS, ()), _VitalsChecks),
)
EventReading: type[BaseModel] = _reading_model("EventReading", EVENT, ("type",))
UtteranceReading: type[BaseModel] = _reading_model("UtteranceReading", UTTERANCE, ("language",))


_Mg = Annotated[int, Field(ge=-MOTION_MAX_MG, le=MOTION_MAX_MG)]
_Samples = Field(min_length=1, max_length=MOTION_MAX_SAMPLES)


class MotionReading(BaseModel):
    """One window of raw accelerometer samples from a worn tag (docs/wire.md, ``motion``).

    Integers in milli-g keep the JSON exact and NaN-free. Times are ms from ``start``, so a
    window of 1,024 samples stays small; ``ts`` is the last sample's time, which a device
    must state twice (``ts`` = ``start`` + the last ``t_ms``) so a window cut or shifted in
    firmware is caught at the door, not scored at the wrong time.
    """

    model_config = _CONFIG
    ts: EpochMs
    start: EpochMs
    t_ms: Annotated[list[Annotated[int, Field(ge=0, le=MOTION_MAX_SPAN_MS)]], _Samples]
    acc_mg: Annotated[list[Annotated[list[_Mg], Field(min_length=3, max_length=3)]], _Samples]
    peak_mg: Annotated[list[Annotated[int, Field(ge=0, le=MOTION_MAX_MG)]], _Samples] | None = None
    rate_hz: Annotated[float, Field(ge=MOTION_RATE_HZ[0], le=MOTION_RATE_HZ[1])] | None = None

    @field_validator("t_ms")
    @classmethod
    def _times(cls, t: list[int], info: ValidationInfo) -> list[int]:
        if t[0] != 0:
            raise ValueError("must start at 0 (sample times are ms from start)")
        if any(b < a for a, b in pairwise(t)):
            raise ValueError("must not decrease")
        ts, start = info.data.get("ts"), info.data.get("start")
        if ts is not None and start is not None and ts != start + t[-1]:
            raise ValueError(f"the last value must be ts - start ({ts - start} ms)")
        return t

    @field_validator("acc_mg", "peak_mg")
    @classmethod
    def _one_per_sample(cls, v: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        t = info.data.get("t_ms")
        if v is not None and t is not None and len(v) != len(t):
            raise ValueError(f"needs one value per t_ms sample ({len(t)}), not {len(v)}")
        return v


class Envelope(BaseModel):
    """Fields every device message carries."""

    model_config = _CONFIG
    v: Literal[1] = 1
    device: Id
    resident: Id
    seq: Annotated[int, Field(ge=0)]
    ts: EpochMs


class VitalsMessage(Envelope):
    kind: Literal["vitals"] = Field("vitals", exclude=True)
    readings: Annotated[list[VitalsReading], Field(min_length=1, max_length=MAX_READINGS)]


class EventMessage(Envelope):
    kind: Literal["event"] = Field("event", exclude=True)
    readings: Annotated[list[EventReading], Field(min_length=1, max_length=MAX_READINGS)]  # type: ignore[valid-type]  # model built at runtime from its table


class UtteranceMessage(Envelope):
    kind: Literal["utterance"] = Field("utterance", exclude=True)
    readings: Annotated[list[UtteranceReading], Field(min_length=1, max_length=MAX_READINGS)]  # type: ignore[valid-type]  # model built at runtime from its table


class MotionMessage(Envelope):
    kind: Literal["motion"] = Field("motion", exclude=True)
    readings: Annotated[list[MotionReading], Field(min_length=1, max_length=MAX_READINGS)]


class StatusMessage(Envelope):
    """Retained presence: ``online`` as the birth message, ``offline`` as the last will.

    ``seq`` here counts connections (sessions) of the device, so a stale will can be told
    from a fresh birth.
    """

    kind: Literal["status"] = Field("status", exclude=True)
    state: Literal["online", "offline"]
    reason: Literal["connected", "shutdown", "lost"] | None = None
    battery: Annotated[float, Field(ge=0, le=100)] | None = None
    firmware: Annotated[str, StringConstraints(max_length=64)] | None = None


class CommandMessage(BaseModel):
    """Downlink to a device: e.g. say "help is on the way" in the resident's language."""

    model_config = _CONFIG
    kind: Literal["cmd"] = Field("cmd", exclude=True)
    v: Literal[1] = 1
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    ts: EpochMs
    action: Literal["say", "ping"]
    text: Annotated[str, StringConstraints(max_length=500)] | None = None
    language: Annotated[str, StringConstraints(max_length=16)] | None = None
    alert: Annotated[str, StringConstraints(max_length=64)] | None = None


DataMessage = VitalsMessage | EventMessage | UtteranceMessage | MotionMessage
Message = (
    VitalsMessage | EventMessage | UtteranceMessage | MotionMessage | StatusMessage | CommandMessage
)

MESSAGE_TYPES: dict[str, type[BaseModel]] = {
    "vitals": VitalsMessage,
    "event": EventMessage,
    "utterance": UtteranceMessage,
    "motion": MotionMessage,
    "status": StatusMessage,
    "cmd": CommandMessage,
}
READING_TYPES: dict[str, type[BaseModel]] = {
    "vitals": VitalsReading,
    "event": EventReading,
    "utterance": UtteranceReading,
    "motion": MotionReading,
}

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MAX_READINGS",
    "MESSAGE_TYPES",
    "READING_TYPES",
    "TABLES",
    "CommandMessage",
    "DataMessage",
    "Envelope",
    "EventMessage",
    "EventReading",
    "Message",
    "MotionMessage",
    "MotionReading",
    "StatusMessage",
    "UtteranceMessage",
    "UtteranceReading",
    "VitalsMessage",
    "VitalsReading",
]
