"""Prometheus series of one scorer (``careloop score``), on a registry of its own."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from careloop.metrics import ServiceMetrics

_BATCH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ScoreMetrics(ServiceMetrics):
    """Prometheus series of one scorer, on a registry of its own.

    Its own registry so several services in one process (tests) never collide. Labels are
    bounded: need kind and tier come from the contract, ``reason`` is WireError.reason.
    """

    def __init__(self) -> None:
        super().__init__()
        r = self.registry
        self.received = Counter(
            "careloop_score_messages_received", "MQTT messages of owned sites received", registry=r
        )
        self.skipped = Counter(
            "careloop_score_messages_skipped",
            "Messages of sites another partition owns (dropped before decoding)",
            registry=r,
        )
        self.received_bytes = Counter(
            "careloop_score_received_bytes",
            "Topic and payload bytes of every message the broker sent (owned or skipped)",
            registry=r,
        )
        self.sites = Gauge(
            "careloop_score_sites_subscribed",
            "Sites a partition of several is subscribed to (0: one filter for all sites)",
            registry=r,
        )
        self.scored = Counter(
            "careloop_score_readings_scored", "Readings scored, by kind", ["kind"], registry=r
        )
        self.rejected = Counter(
            "careloop_score_rejected",
            "Messages skipped as invalid, by contract reason",
            ["reason"],
            registry=r,
        )
        self.needs = Counter(
            "careloop_score_needs_published",
            "Need messages PUBACKed by the broker, by kind and tier",
            ["kind", "tier"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "careloop_score_batch_seconds",
            "Time to decode and score one batch of queued messages",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.residents = Gauge("careloop_score_residents", "Resident slots held", registry=r)
        self.outbox = Gauge("careloop_score_outbox", "Needs waiting for a PUBACK", registry=r)
        self.connected = Gauge(
            "careloop_score_connected",
            "1 while connected and subscribed (ready to score)",
            registry=r,
        )
        self.outbox_disk = Gauge(
            "careloop_score_outbox_disk_ok",
            "1 while the need outbox file takes writes; 0 = the disk failed and the flow waits "
            "(messages are acknowledged only once their needs are on disk)",
            registry=r,
        )
        self.outbox_disk.set(1)
        self.outbox_disk_errors = Counter(
            "careloop_score_outbox_disk_errors",
            "Writes of the need outbox file that failed",
            registry=r,
        )
        self.snapshot_bytes = Gauge(
            "careloop_score_snapshot_bytes", "Size of the last state snapshot", registry=r
        )
        self.risk_model = Gauge(
            "careloop_score_risk_model",
            "1 while the deterioration-risk model scores; 0 = rules only (no usable model file)",
            registry=r,
        )
        self.posture_model = Gauge(
            "careloop_score_posture_model",
            "1 while the posture model scores motion windows; 0 = windows ignored, rules only "
            "(no usable model file)",
            registry=r,
        )

    def models(self, risk: bool, posture: bool) -> None:
        """Which models score (1) and which are off, leaving the rules alone (0)."""
        self.risk_model.set(1 if risk else 0)
        self.posture_model.set(1 if posture else 0)
