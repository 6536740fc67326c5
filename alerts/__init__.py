"""careloop alerts: care needs -> volunteers, with tiers, deadlines, ownership and an audit log.

Public surface::

    AlertService                       service.py   ``careloop alerts`` (MQTT, timers, channels)
    AlertEngine                        engine.py    the lifecycle, one transaction per change
    AlertStore                         store.py     SQLite (WAL): alerts, audit, timers, outbox
    Policy, TierRule                   policy.py    tiers and deadlines from one TOML file
    Roster, Volunteer, Resident, ...   roster.py    volunteers, rotations, overrides
    Clock, SystemClock, ManualClock    clock.py     injectable time
    closed_loop, summary               sla.py       the anonymised closed-loop view
    AlertsError and subclasses         errors.py
"""

from alerts.clock import Clock, ManualClock, OffsetFileClock, SystemClock, write_offset
from alerts.engine import AlertEngine
from alerts.errors import (
    AlertsError,
    DeliveryError,
    PolicyError,
    ReplyRejected,
    RosterError,
    StoreError,
)
from alerts.model import STATES, TERMINAL, UNOWNED, Alert
from alerts.policy import DEFAULT_POLICY, Policy, TierRule, parse_duration
from alerts.roster import (
    Override,
    Resident,
    Roster,
    Rotation,
    Volunteer,
    load_roster,
    roster_from_dict,
)
from alerts.service import AlertService
from alerts.sla import closed_loop, summary
from alerts.store import AlertStore

__all__ = [
    "DEFAULT_POLICY",
    "STATES",
    "TERMINAL",
    "UNOWNED",
    "Alert",
    "AlertEngine",
    "AlertService",
    "AlertStore",
    "AlertsError",
    "Clock",
    "DeliveryError",
    "ManualClock",
    "OffsetFileClock",
    "Override",
    "Policy",
    "PolicyError",
    "ReplyRejected",
    "Resident",
    "Roster",
    "RosterError",
    "Rotation",
    "StoreError",
    "SystemClock",
    "TierRule",
    "Volunteer",
    "closed_loop",
    "load_roster",
    "parse_duration",
    "roster_from_dict",
    "summary",
    "write_offset",
]
