"""Who may publish and subscribe where: Mosquitto's ``acl_file``, rendered from a table.

Every device user gets exactly its own topics, built with the wire contract
(:class:`careloop.wire.Topic`), never by hand::

    user term-r001
    topic write careloop/v1/home/term-r001/vitals     (and event, utterance, status)
    topic read  careloop/v1/home/term-r001/cmd

Service users get the filters their service subscribes and publishes with
(:data:`SERVICE_ACCESS`, read off ``ingest/service.py``, ``models/runtime/service.py``,
``alerts/service.py`` and ``app/api/monitor.py``). A ``read`` pattern also covers the
shared-subscription form ``$share/<group>/<filter>`` (Mosquitto checks delivered messages
against the plain topic). Anonymous clients get nothing: the broker runs with
``allow_anonymous false``.

What Mosquitto 2.0.11 enforces, measured in ``tests/test_acl.py``: a PUBLISH outside the
user's ``write`` patterns is refused (MQTT v5: PUBACK "not authorized", 0x87; 3.1.1:
acknowledged and dropped) and reaches nobody; a SUBSCRIBE is granted whatever its filter
(the default ACL check does not implement subscribe checks), but every message is checked
against the subscriber's ``read`` patterns before delivery, so another device's ``cmd`` is
never delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from careloop.wire import UPLINK_KINDS, Topic, check_id, subscription
from careloop.wire.alerts import WAKE_SUBSCRIPTION, alert_subscription
from careloop.wire.control import erase_subscription
from careloop.wire.needs import need_subscription

Access = Literal["read", "write", "readwrite"]

#: Prefix reserved for service users; device ids may not start with it.
SERVICE_PREFIX = "svc."


@dataclass(frozen=True, slots=True)
class Grant:
    """One ``topic <access> <filter>`` line."""

    access: Access
    topic: str


def device_grants(site: str, device: str) -> tuple[Grant, ...]:
    """A device publishes its own uplink kinds and hears only its own commands."""
    writes = tuple(Grant("write", str(Topic(site, device, kind))) for kind in UPLINK_KINDS)  # type: ignore[arg-type]  # UPLINK_KINDS are Kinds
    return (*writes, Grant("read", str(Topic(site, device, "cmd"))))


#: What each service user may do, from how each service subscribes and publishes.
SERVICE_ACCESS: dict[str, tuple[Grant, ...]] = {
    # careloop ingest: $share/<group>/careloop/v1/+/+/+ (or the plain filter).
    "ingest": (Grant("read", subscription()),),
    # careloop score: readings, presence and erase commands of its sites in, needs out.
    "score": (
        Grant("read", subscription()),
        Grant("read", erase_subscription()),
        Grant("write", need_subscription()),
    ),
    # careloop alerts: needs and volunteers' replies in, and devices' utterances and events
    # (answers to the satisfaction question); pages and the device cmd out.
    "alerts": (
        Grant("read", need_subscription()),
        Grant("read", alert_subscription("reply")),
        Grant("read", subscription(kind="utterance")),
        Grant("read", subscription(kind="event")),
        Grant("write", alert_subscription("volunteer")),
        Grant("write", subscription(kind="cmd")),
        Grant("read", WAKE_SUBSCRIPTION),
    ),
    # careloop api: the device monitor watches every uplink (QoS 0, a view only); erasure
    # tells the scorers to forget a resident; a nudge tells the alert services that its
    # actions queued notifications (alerts/actions.py).
    "api": (
        Grant("readwrite", erase_subscription()),
        Grant("read", subscription()),
        Grant("write", WAKE_SUBSCRIPTION),
    ),
}


#: Volunteer apps log in as ``vol.<volunteer id>``.
VOLUNTEER_PREFIX = "vol."


def volunteer_user(volunteer: str) -> str:
    """The MQTT username of a volunteer's app, e.g. ``vol.v01``."""
    return f"{VOLUNTEER_PREFIX}{check_id(volunteer, 'volunteer')}"


def volunteer_grants(volunteer: str, sites: Iterable[str]) -> tuple[Grant, ...]:
    """A volunteer's app hears its own pages and answers on its own reply topic, at each
    site the volunteer serves and no other (a volunteer of several sites is paged under each
    site's topics). A login issued at one site thus never reaches another site's pages."""
    out: list[Grant] = []
    for site in sorted(set(sites)):
        out.append(Grant("read", alert_subscription("volunteer", site, volunteer)))
        out.append(Grant("write", alert_subscription("reply", site, volunteer)))
    return tuple(out)


def service_user(name: str) -> str:
    """The MQTT username of a careloop service, e.g. ``svc.ingest``."""
    if name not in SERVICE_ACCESS:
        raise ValueError(f"unknown service {name!r}; one of {', '.join(SERVICE_ACCESS)}")
    return f"{SERVICE_PREFIX}{name}"


@dataclass(frozen=True, slots=True)
class AclUser:
    """One user block of the file."""

    username: str
    grants: tuple[Grant, ...]
    comment: str = ""


def render_acl(users: Iterable[AclUser]) -> str:
    """The ``acl_file`` text: a block per user, in the order given."""
    out = [
        "# Written by app.provision; rewritten whole on every change, do not edit.",
        "# No lines before the first 'user': anonymous clients get no access.",
    ]
    for user in users:
        out.append("")
        if user.comment:
            out.append(f"# {user.comment}")
        out.append(f"user {user.username}")
        out.extend(f"topic {g.access} {g.topic}" for g in user.grants)
    return "\n".join(out) + "\n"
