"""Control messages between careloop services (not devices): erasing a resident's state.

``careloop/control/v1/<site>/erase`` (QoS 1, not retained) carries an :class:`EraseCommand`
from whoever erases a resident (the API's erasure route) to the scorers that hold learned
state about them. Scorers subscribe with their persistent session, so a scorer that is down
gets the command when it comes back. The root is outside ``careloop/v1/+/+/+`` (devices)
and the ACL gives devices no access to it.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from careloop.wire.codec import parse_json
from careloop.wire.errors import WireError
from careloop.wire.schemas import EpochMs, Id
from careloop.wire.topics import check_id

CONTROL_PREFIX = "careloop/control/v1"
_ERASE = re.compile(r"^careloop/control/v1/([^/]+)/erase$")
_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True)


class EraseCommand(BaseModel):
    """Forget everything learned about ``resident`` of ``site``; ``id`` names the receipt."""

    model_config = _CONFIG
    v: Literal[1] = 1
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    site: Id
    resident: Id
    ts: EpochMs


def erase_topic(site: str) -> str:
    """The erase topic of ``site``."""
    return f"{CONTROL_PREFIX}/{check_id(site, 'site')}/erase"


def erase_subscription(site: str = "+") -> str:
    """Filter for erase commands of one site, or every site with ``+``."""
    return f"{CONTROL_PREFIX}/{site if site == '+' else check_id(site, 'site')}/erase"


def decode_erase(topic: str, payload: bytes | str) -> EraseCommand:
    """Validate an erase command and that its site is the topic's site."""
    m = _ERASE.fullmatch(topic)
    if m is None:
        raise WireError("topic", f"must be {CONTROL_PREFIX}/<site>/erase", topic, code="bad_topic")
    cmd = parse_json(EraseCommand, payload)
    if cmd.site != m.group(1):
        raise WireError("site", "must equal the topic's site", cmd.site, code="spoofed")
    return cmd
