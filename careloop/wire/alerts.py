"""Alerts on MQTT: what the alert service tells volunteers, and how they answer.

Written once here and imported by the alert service, the volunteer app simulators, the demo
and the benchmark; nobody formats these topics by hand::

    careloop/alerts/v1/<site>/volunteer/<volunteer>   service -> one volunteer's app (QoS 1)
    careloop/alerts/v1/<site>/reply/<volunteer>       a volunteer's app -> service (QoS 1)

A :class:`AlertNotification` has an ``id`` that is stable across redeliveries: the service
publishes at least once (it may repeat a notification after a crash), so the app shows a
notification id once. An :class:`AlertReply` carries a ``nonce`` chosen by the app; the service
accepts each nonce once, so a replayed reply is rejected instead of acting twice. A reply
that is rejected gets an ``AlertNotification`` of type ``rejected`` with the ``reason``.

Notifications carry the resident's *id* (so the volunteer knows whom to visit through their
own app), the need's kind, tier and plain-language summary; never utterance text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, StringConstraints

from careloop.wire.codec import parse_json
from careloop.wire.errors import WireError
from careloop.wire.needs import NeedKind, SummaryArgs, SummaryKey, Tier
from careloop.wire.schemas import EpochMs, Id
from careloop.wire.topics import check_id

ALERT_PREFIX = "careloop/alerts/v1"

AlertChannel = Literal["volunteer", "reply"]
ReplyAction = Literal["accept", "decline", "resolve", "handover"]
REPLY_ACTIONS: tuple[str, ...] = get_args(ReplyAction)

#: What a notification says: a new page (first or later in the escalation chain); an update
#: (new evidence raised its tier); that someone else took it; that it was cancelled or
#: resolved; that a handover to you waits for your accept; that you own an overdue alert;
#: that you now own it (``accepted``, with the resolve deadline); or that your reply was
#: rejected (with ``reason``).
NotificationType = Literal[
    "page",
    "update",
    "taken",
    "cancelled",
    "resolved",
    "handover",
    "overdue",
    "accepted",
    "rejected",
]
NOTIFICATION_TYPES: tuple[str, ...] = get_args(NotificationType)

#: Why a reply was rejected; a bounded label (metrics, audit, the app's message).
RejectReason = Literal[
    "unknown_alert", "wrong_volunteer", "replay", "not_allowed", "already_owned", "bad_reply"
]
REJECT_REASONS: tuple[str, ...] = get_args(RejectReason)

_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)
AlertId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")]
Nonce = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")]


class AlertNotification(BaseModel):
    """Service -> a volunteer's app on ``careloop/alerts/v1/<site>/volunteer/<volunteer>``."""

    model_config = _CONFIG
    v: Literal[1] = 1
    #: Stable per notification: a redelivery repeats it, the app shows it once.
    id: AlertId
    type: NotificationType
    alert: AlertId
    site: Id
    volunteer: Id
    ts: EpochMs
    resident: Id | None = None
    kind: NeedKind | None = None
    tier: Tier | None = None
    summary: Annotated[str, StringConstraints(max_length=600)] | None = None
    #: ``summary`` as catalog text (careloop/wire/needs.py), for the app to render itself.
    summary_key: SummaryKey | None = None
    summary_args: SummaryArgs | None = None
    #: Reply by then (page, handover) or resolve by then (accepted, overdue), epoch ms.
    deadline: EpochMs | None = None
    #: For ``rejected``: why; for ``taken``/``cancelled``: who or what closed it.
    reason: Annotated[str, StringConstraints(max_length=64)] | None = None
    #: For ``rejected``: the nonce of the reply that was rejected.
    nonce: Nonce | None = None


class AlertReply(BaseModel):
    """A volunteer's app -> service on ``careloop/alerts/v1/<site>/reply/<volunteer>``.

    ``handover`` needs ``to``: the volunteer who should take over; the current owner stays
    owner until that volunteer accepts.
    """

    model_config = _CONFIG
    v: Literal[1] = 1
    #: Chosen by the app, unique per reply: the service acts on a nonce once.
    nonce: Nonce
    alert: AlertId
    action: ReplyAction
    ts: EpochMs
    to: Id | None = None
    #: Optional bounded note (e.g. "not nearby"); free text stays out of logs.
    note: Annotated[str, StringConstraints(max_length=200)] | None = None


_ALERT_TOPIC = re.compile(r"^careloop/alerts/v1/([^/]+)/(volunteer|reply)/([^/]+)$")


@dataclass(frozen=True, slots=True)
class AlertTopic:
    """``careloop/alerts/v1/<site>/<channel>/<volunteer>``; validated on construction."""

    site: str
    channel: AlertChannel
    volunteer: str

    def __post_init__(self) -> None:
        check_id(self.site, "topic.site")
        check_id(self.volunteer, "topic.volunteer")
        if self.channel not in get_args(AlertChannel):
            raise WireError("topic.channel", "must be volunteer or reply", self.channel)

    def __str__(self) -> str:
        return f"{ALERT_PREFIX}/{self.site}/{self.channel}/{self.volunteer}"

    @classmethod
    def parse(cls, topic: str) -> AlertTopic:
        """Parse an alert topic; anything else raises WireError."""
        m = _ALERT_TOPIC.fullmatch(topic)
        if m is None:
            raise WireError(
                "topic",
                f"must be {ALERT_PREFIX}/<site>/volunteer|reply/<volunteer>",
                topic,
                code="bad_topic",
            )
        return cls(m.group(1), m.group(2), m.group(3))  # type: ignore[arg-type]  # regex-checked


def volunteer_topic(site: str, volunteer: str) -> str:
    """Where one volunteer's app listens."""
    return str(AlertTopic(site, "volunteer", volunteer))


def reply_topic(site: str, volunteer: str) -> str:
    """Where one volunteer's app answers."""
    return str(AlertTopic(site, "reply", volunteer))


#: Every site's outbox nudges (see :func:`wake_topic`).
WAKE_SUBSCRIPTION = f"{ALERT_PREFIX}/+/wake/+"


def wake_topic(site: str, sender: str) -> str:
    """Where another writer of the alert store (an API process) tells the alert services
    that notifications wait in the outbox: a nudge with an empty payload, QoS 0 (a lost one
    costs one outbox poll)."""
    check_id(site, "site")
    check_id(sender, "sender")
    return f"{ALERT_PREFIX}/{site}/wake/{sender}"


def alert_subscription(channel: AlertChannel, site: str = "+", volunteer: str = "+") -> str:
    """Filter for one channel of a site (``+`` for all sites / volunteers)."""
    for value, name in ((site, "site"), (volunteer, "volunteer")):
        if value != "+":
            check_id(value, name)
    return f"{ALERT_PREFIX}/{site}/{channel}/{volunteer}"


def decode_reply(topic: str, payload: bytes | str) -> tuple[AlertTopic, AlertReply]:
    """Validate a reply and its topic (which names the replying volunteer)."""
    parsed = AlertTopic.parse(topic)
    if parsed.channel != "reply":
        raise WireError("topic", "is not a reply topic", topic, code="bad_topic")
    reply = parse_json(AlertReply, payload)
    return parsed, reply


def decode_notification(topic: str, payload: bytes | str) -> AlertNotification:
    """Validate a notification and that its volunteer is the topic's volunteer."""
    parsed = AlertTopic.parse(topic)
    note = parse_json(AlertNotification, payload)
    if (note.site, note.volunteer) != (parsed.site, parsed.volunteer):
        raise WireError("volunteer", "must match the topic", note.volunteer, code="spoofed")
    return note


def encode_alert(message: AlertNotification | AlertReply) -> bytes:
    """Compact JSON, leaving out absent fields."""
    return message.model_dump_json(exclude_none=True).encode()
