"""MQTT topics: ``careloop/v1/<site>/<device>/<kind>``, built and parsed only here.

No other module formats a topic string by hand: they build a :class:`Topic` (or a filter
with :func:`subscription`) so a change of layout is one edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from careloop.wire.errors import WireError

PREFIX = "careloop/v1"

Kind = Literal["vitals", "event", "utterance", "motion", "status", "cmd"]
KINDS: tuple[str, ...] = get_args(Kind)
#: Kinds a device publishes (uplink); ``cmd`` is the only downlink.
UPLINK_KINDS: tuple[str, ...] = ("vitals", "event", "utterance", "motion", "status")
#: Uplink kinds that carry readings (status is a retained presence flag); ``motion``'s are
#: raw accelerometer windows, the others' fields come from the measure tables.
DATA_KINDS: tuple[str, ...] = ("vitals", "event", "utterance", "motion")

#: Ids are short, printable and safe as MQTT topic levels and InfluxDB tag values.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
_ID = re.compile(ID_PATTERN)


def check_id(value: str, field: str) -> str:
    """Return ``value`` if it is a valid site/device/resident id, else raise WireError."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise WireError(field, f"must match {ID_PATTERN}", value, code="bad_id")
    return value


@dataclass(frozen=True, slots=True)
class Topic:
    """A concrete topic; validated on construction."""

    site: str
    device: str
    kind: Kind

    def __post_init__(self) -> None:
        check_id(self.site, "topic.site")
        check_id(self.device, "topic.device")
        if self.kind not in KINDS:
            raise WireError(
                "topic.kind", f"must be one of {', '.join(KINDS)}", self.kind, code="bad_topic"
            )

    def __str__(self) -> str:
        return f"{PREFIX}/{self.site}/{self.device}/{self.kind}"

    @classmethod
    def parse(cls, topic: str) -> Topic:
        """Parse a topic string; anything outside the layout raises WireError."""
        parts = topic.split("/")
        if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != PREFIX:
            raise WireError(
                "topic", f"must be {PREFIX}/<site>/<device>/<kind>", topic, code="bad_topic"
            )
        return cls(parts[2], parts[3], parts[4])  # type: ignore[arg-type]  # checked in __post_init__


def subscription(
    site: str = "+", device: str = "+", kind: str = "+", *, share: str | None = None
) -> str:
    """A subscription filter; ``+`` is a wildcard level.

    ``share`` makes it an MQTT v5 shared subscription (``$share/<group>/...``) so several
    consumers in one group split the messages between them.
    """
    for value, field in ((site, "site"), (device, "device")):
        if value != "+":
            check_id(value, field)
    if kind != "+" and kind not in KINDS:
        raise WireError("kind", f"must be one of {', '.join(KINDS)} or +", kind)
    base = f"{PREFIX}/{site}/{device}/{kind}"
    if share is None:
        return base
    check_id(share, "share")
    return f"$share/{share}/{base}"
