"""Prometheus metrics of one ingest process, on a registry of its own.

Its own :class:`~prometheus_client.CollectorRegistry` (not the global default) so several
:class:`~ingest.service.Ingestor` s in one process (tests) never collide, and only these
series are served. Counters are updated once per batch, not per message, to keep the hot
path cheap. No label carries an id or a payload: ``reason`` is a bounded contract label.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from careloop.metrics import ServiceMetrics

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400)


class IngestMetrics(ServiceMetrics):
    """The counters, gauges and histograms ``docs/ingest.md`` lists."""

    def __init__(self) -> None:
        super().__init__()
        r = self.registry
        self.received = Counter(
            "careloop_ingest_received", "MQTT messages received (redeliveries included)", registry=r
        )
        self.readings_written = Counter(
            "careloop_ingest_readings_written",
            "Points InfluxDB acknowledged, directly or by spool replay",
            registry=r,
        )
        self.rejected = Counter(
            "careloop_ingest_rejected",
            "Messages dead-lettered, by reason",
            ["reason"],
            registry=r,
        )
        self.ignored = Counter(
            "careloop_ingest_ignored", "Messages not for ingest (downlink commands)", registry=r
        )
        self.acked = Counter(
            "careloop_ingest_acked", "Messages acknowledged to the broker (PUBACK)", registry=r
        )
        self.spooled = Counter(
            "careloop_ingest_spooled_batches", "Batches put in the disk spool", registry=r
        )
        self.spool_bytes = Gauge(
            "careloop_ingest_spool_bytes", "Bytes of line protocol in the disk spool", registry=r
        )
        self.spool_limit = Gauge(
            "careloop_ingest_spool_limit_bytes", "The spool's bound (max_spool_bytes)", registry=r
        )
        self.spool_batches = Gauge(
            "careloop_ingest_spool_batches", "Batches in the disk spool", registry=r
        )
        self.deadletters_held = Gauge(
            "careloop_ingest_deadletters_held",
            "Dead letters held locally while their PostgreSQL database is away",
            registry=r,
        )
        self.write_seconds = Histogram(
            "careloop_ingest_write_seconds",
            "Duration of one /write request",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.lag_seconds = Histogram(
            "careloop_ingest_lag_seconds",
            "Now minus the device time of a batch's oldest reading, when the batch is durable",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.text_stored = Counter(
            "careloop_ingest_utterance_text_stored",
            "Utterance readings stored with their text (the resident consented)",
            registry=r,
        )
        self.text_dropped = Counter(
            "careloop_ingest_utterance_text_dropped",
            "Utterance readings whose text was dropped for lack of consent (features kept)",
            registry=r,
        )
        # Per InfluxDB shard (docs/scale-influx.md); one series, shard="default", without
        # a shard map. The unlabelled spool gauges above are the sums over shards.
        self.shard_up = Gauge(
            "careloop_ingest_shard_up",
            "1 while the shard took the last write or ping, 0 while it is down (its points wait)",
            ["shard"],
            registry=r,
        )
        self.shard_written = Counter(
            "careloop_ingest_shard_readings_written",
            "Points the shard acknowledged, directly or by spool replay",
            ["shard"],
            registry=r,
        )
        self.shard_waiting = Gauge(
            "careloop_ingest_shard_readings_waiting",
            "Points in the shard's disk spool, waiting for it",
            ["shard"],
            registry=r,
        )
        self.shard_spool_bytes = Gauge(
            "careloop_ingest_shard_spool_bytes",
            "Bytes of line protocol in the shard's disk spool",
            ["shard"],
            registry=r,
        )
        self.connected = Gauge(
            "careloop_ingest_connected", "1 while connected to the broker", registry=r
        )

    def rejected_total(self) -> int:
        """Messages dead-lettered so far, over every reason."""
        return int(
            sum(
                s.value
                for metric in self.rejected.collect()
                for s in metric.samples
                if s.name.endswith("_total")
            )
        )
