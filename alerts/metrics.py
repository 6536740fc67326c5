"""Prometheus metrics of the alert service (SLA per tier and site), on a registry of its own.

Labels are bounded: ``site``, ``tier``, ``deadline``, ``channel``, ``reason``; never an alert,
resident or volunteer id. Updated from committed audit rows (:meth:`AlertMetrics.on_commit`),
so a rolled-back transaction never counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

from alerts.store import AuditEntry
from careloop.metrics import ServiceMetrics

if TYPE_CHECKING:
    from alerts.core import EngineCore

# From 5 s (agitation: a human within 30 s) to 7 days (important: resolve within a week).
_SLA_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 2 * 86400,
                7 * 86400)  # fmt: skip


class AlertMetrics(ServiceMetrics):
    """Counters and histograms listed in docs/alerts.md ("SLA")."""

    def __init__(self) -> None:
        super().__init__()
        r = self.registry
        self.time_to_accept = Histogram(
            "careloop_alerts_time_to_accept_seconds",
            "From an alert's opening to the first accept",
            ["site", "tier"],
            buckets=_SLA_BUCKETS,
            registry=r,
        )
        self.time_to_resolve = Histogram(
            "careloop_alerts_time_to_resolve_seconds",
            "From the accept to resolved",
            ["site", "tier"],
            buckets=_SLA_BUCKETS,
            registry=r,
        )
        self.breaches = Counter(
            "careloop_alerts_breaches",
            "Deadlines missed (deadline = respond or resolve)",
            ["site", "tier", "deadline"],
            registry=r,
        )
        self.opened = Counter(
            "careloop_alerts_opened", "Alerts opened", ["site", "tier"], registry=r
        )
        self.closed = Counter(
            "careloop_alerts_closed", "Alerts closed, by outcome", ["site", "tier", "outcome"],
            registry=r,
        )  # fmt: skip
        self.escalations = Counter(
            "careloop_alerts_escalations", "Escalation steps taken", ["site", "tier"], registry=r
        )
        self.open_alerts = Gauge(
            "careloop_alerts_open", "Alerts not closed yet", ["site", "tier"], registry=r
        )
        self.rejected = Counter(
            "careloop_alerts_replies_rejected", "Replies refused, by reason", ["reason"],
            registry=r,
        )  # fmt: skip
        self.sent = Counter(
            "careloop_alerts_deliveries_sent", "Notifications delivered", ["channel"], registry=r
        )
        self.failed = Counter(
            "careloop_alerts_delivery_failures", "Delivery attempts that failed", ["channel"],
            registry=r,
        )  # fmt: skip
        self.wakes = Counter(
            "careloop_alerts_outbox_wakes",
            "Nudges from other writers of the store (API processes): notifications wait",
            registry=r,
        )
        self.connected = Gauge(
            "careloop_alerts_connected", "1 while connected to the broker", registry=r
        )
        self.part_up = Gauge(
            "careloop_alerts_part_up", "1 while the part answers (broker, database)", ["part"],
            registry=r,
        )  # fmt: skip

    def on_commit(self, entries: list[AuditEntry], engine: EngineCore) -> None:
        """Engine listener: count what the committed transaction did."""
        for e in entries:
            if e.action in ("open", "accept", "breach", "escalate") or e.to_state in (
                "resolved", "expired", "cancelled",
            ):  # fmt: skip
                alert = engine.store.get(e.alert)
                if alert is None:
                    continue
                labels = (alert.site, alert.tier)
                if e.action == "open":
                    self.opened.labels(*labels).inc()
                elif e.action == "accept" and alert.accepted_ms is not None:
                    self.time_to_accept.labels(*labels).observe(
                        (alert.accepted_ms - alert.opened_ms) / 1000
                    )
                elif e.action == "breach":
                    deadline = "respond" if e.reason == "respond_deadline" else "resolve"
                    self.breaches.labels(*labels, deadline).inc()
                elif e.action == "escalate":
                    self.escalations.labels(*labels).inc()
                elif e.action == e.to_state:  # a close: resolved, expired, cancelled
                    self.closed.labels(*labels, e.to_state).inc()
                    if e.to_state == "resolved" and alert.accepted_ms and alert.resolved_ms:
                        self.time_to_resolve.labels(*labels).observe(
                            (alert.resolved_ms - alert.accepted_ms) / 1000
                        )
            elif e.reason and e.reason.startswith("rejected:"):
                self.rejected.labels(e.reason.split(":", 1)[1]).inc()

    def set_open(self, counts: dict[tuple[str, str], int]) -> None:
        """Refresh the open-alerts gauge from the store's counts."""
        self.open_alerts.clear()
        for (site, tier), n in counts.items():
            self.open_alerts.labels(site, tier).set(n)
