"""Care needs: what the scorer (``careloop score``) tells the alert service, on MQTT.

A need is about a *resident*, not a device, so needs live under their own root,
``careloop/needs/v1/<site>/<resident>``, which the device filter ``careloop/v1/+/+/+`` (ingest)
never matches. One need has a stable ``id`` for its whole life: the scorer publishes it with
``state="open"`` when first raised, again with ``state="update"`` when new evidence arrives
(which may raise its tier), and with ``state="cleared"`` when the condition resolved by itself
(e.g. the resident got up after a fall). Reminders (``reminder=true``) are nudges before a
care-plan miss, meant for the resident or carer, not a page.

Explanations are plain language for a volunteer ("Heart rate 131 bpm for 6 min; her usual
at this hour is 72 ± 6"); the ``evidence`` list carries the same facts as data. Neither
contains utterance text: a need says *that* speech sounded distressed, never what was said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from careloop.wire.codec import parse_json
from careloop.wire.errors import WireError
from careloop.wire.schemas import EpochMs, Id
from careloop.wire.topics import check_id

NEED_PREFIX = "careloop/needs/v1"

Tier = Literal["emergency", "important", "general", "emotional"]
TIERS: tuple[str, ...] = get_args(Tier)
#: Most urgent first; ``TIER_RANK[t]`` is smaller for more urgent tiers.
TIER_RANK: dict[str, int] = {t: i for i, t in enumerate(TIERS)}

NeedState = Literal["open", "update", "cleared"]

#: Every kind of need the scorer raises; docs/models.md says which model raises which.
NeedKind = Literal[
    "sos",
    "fall",
    "fall_check_in",
    "help_request",
    "vitals_critical",
    "vitals_deteriorating",
    "vitals_red_score",
    "deterioration_risk",
    "hypoxia",
    "hypertensive_crisis",
    "heart_rate_abnormal",
    "fever",
    "slow_decline",
    "not_out_of_bed",
    "inactivity",
    "night_wandering",
    "device_silent",
    "low_mood",
    "agitation",
    "missed_care_plan",
    "care_plan_reminder",
    # What residents and families ask of carers: tracked tickets (docs/tickets.md). A
    # ``praise`` is never paged: the alert service credits it to a volunteer.
    "request",
    "complaint",
    "praise",
]
NEED_KINDS: tuple[str, ...] = get_args(NeedKind)

_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)
Short = Annotated[str, StringConstraints(min_length=1, max_length=64)]
#: A ``summary.`` catalog key (careloop/i18n/summary.py) and its bounded arguments: at most
#: MAX_ARGS, each a number or a string of at most MAX_ARG_CHARS (identifiers, times, a list
#: of parts; never words of the resident's). Shared by the alert notification.
MAX_ARGS = 32
MAX_ARG_CHARS = 160
SUMMARY_KEY = r"^summary(\.[a-z0-9_]{1,40}){1,3}$"
ARG_NAME = r"^[a-z][a-z0-9_]{0,39}$"
SummaryKey = Annotated[str, StringConstraints(pattern=SUMMARY_KEY, max_length=128)]
SummaryArgs = Annotated[
    dict[
        Annotated[str, StringConstraints(pattern=ARG_NAME)],
        Annotated[str, StringConstraints(max_length=MAX_ARG_CHARS)] | int | float,
    ],
    Field(max_length=MAX_ARGS),
]


class Evidence(BaseModel):
    """One fact behind a need: a reading, against what, by which rule."""

    model_config = _CONFIG
    measure: Short
    value: float | str | bool | None = None
    unit: Annotated[str, StringConstraints(max_length=16)] = ""
    baseline: float | None = None
    baseline_scale: float | None = None
    rule: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    ts: EpochMs | None = None


class NeedMessage(BaseModel):
    """A care need on ``careloop/needs/v1/<site>/<resident>`` (QoS 1, not retained)."""

    model_config = _CONFIG
    v: Literal[1] = 1
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")]
    site: Id
    resident: Id
    kind: NeedKind
    tier: Tier
    state: NeedState = "open"
    reminder: bool = False
    #: When this message was decided (scorer's view of time: the triggering reading's ts).
    ts: EpochMs
    #: When the evidence began (first abnormal reading, the fall event, ...).
    onset: EpochMs
    #: Model score behind the need; higher = more in need; comparable within a kind only.
    score: Annotated[float, Field(ge=0)]
    #: English, always: what old readers and logs-free contexts show.
    summary: Annotated[str, StringConstraints(min_length=1, max_length=600)]
    #: The same explanation as catalog text, for each reader to render in their language.
    summary_key: SummaryKey | None = None
    summary_args: SummaryArgs | None = None
    evidence: Annotated[list[Evidence], Field(max_length=20)] = []
    #: The resident's language (BCP 47), for messages back to them ("help is on the way").
    language: Annotated[str, StringConstraints(max_length=16)] | None = None


_NEED_TOPIC = re.compile(r"^careloop/needs/v1/([^/]+)/([^/]+)$")


@dataclass(frozen=True, slots=True)
class NeedTopic:
    """``careloop/needs/v1/<site>/<resident>``; validated on construction."""

    site: str
    resident: str

    def __post_init__(self) -> None:
        check_id(self.site, "topic.site")
        check_id(self.resident, "topic.resident")

    def __str__(self) -> str:
        return f"{NEED_PREFIX}/{self.site}/{self.resident}"

    @classmethod
    def parse(cls, topic: str) -> NeedTopic:
        """Parse a need topic; anything else raises WireError."""
        m = _NEED_TOPIC.fullmatch(topic)
        if m is None:
            raise WireError(
                "topic", f"must be {NEED_PREFIX}/<site>/<resident>", topic, code="bad_topic"
            )
        return cls(m.group(1), m.group(2))


def need_subscription(site: str = "+", *, share: str | None = None) -> str:
    """Filter for the needs of one site (or all with ``+``); ``share`` as in subscription()."""
    if site != "+":
        check_id(site, "site")
    base = f"{NEED_PREFIX}/{site}/+"
    if share is None:
        return base
    check_id(share, "share")
    return f"$share/{share}/{base}"


def decode_need(topic: str, payload: bytes | str) -> NeedMessage:
    """Validate a need message and that its site/resident match the topic."""
    parsed = NeedTopic.parse(topic)
    need = parse_json(NeedMessage, payload)
    if (need.site, need.resident) != (parsed.site, parsed.resident):
        raise WireError(
            "resident", "must match the topic's site and resident", need.resident, code="spoofed"
        )
    return need


def encode_need(need: NeedMessage) -> bytes:
    """Compact JSON, leaving out absent fields."""
    return need.model_dump_json(exclude_none=True).encode()
