"""careloop alerts: care needs -> volunteers, with tiers, deadlines, ownership and an audit log.

Who can be paged (volunteers, rotations, overrides, residents) is people data: the alert
service reads it from :mod:`people` and follows its changes; it keeps no copy.

Public surface::

    AlertService                       service.py   ``careloop alerts`` (MQTT, timers, channels)
    AlertEngine                        engine.py    the lifecycle, one transaction per change
    AlertStore                         store.py     SQLite (WAL): alerts, audit, timers, outbox
    Policy, TierRule                   policy.py    tiers and deadlines from one TOML file
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
    StoreError,
)
from alerts.model import STATES, TERMINAL, UNOWNED, Alert
from alerts.policy import DEFAULT_POLICY, Policy, TierRule, parse_duration
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
    "Policy",
    "PolicyError",
    "ReplyRejected",
    "StoreError",
    "SystemClock",
    "TierRule",
    "closed_loop",
    "parse_duration",
    "summary",
    "write_offset",
]
