"""Ingest across InfluxDB shards: each batch cut by site, each part to its shard's sink.

Every shard (:mod:`careloop.shards`, docs/scale-influx.md) has a :class:`~ingest.sink.Sink`
of its own: its own connections, its own disk spool, its own replay thread, its own
up/down state and metrics (``shard`` label). A sealed batch is cut by the shard of each
message's ``site`` tag (a message comes from one device, so from one site); each part is
made durable on its shard, independently: a shard that is down spools its part while the
others are written, and its replay thread writes the part once the shard is back. The batch
is acknowledged to the broker once every part is durable somewhere, as with one server.

Spools: ``<spool>/<client>`` for ``default`` (where it always was), ``<spool>/<client>@<shard>``
for the others, each bounded by ``max_spool_bytes``. A part that finds its shard's spool
full holds the batch's acknowledgements (backpressure, as with one server); the parts
already durable are not written again on retry.

With one shard (no shard map) a batch goes to the one sink untouched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from careloop.influx import InfluxClient, InfluxError, InfluxUnavailable, options
from careloop.logs import fields
from careloop.settings import Settings
from careloop.shards import DEFAULT_SHARD, ShardMap, site_of_line
from ingest.batch import Batch
from ingest.deadletters import DeadLetterSink
from ingest.errors import IngestError
from ingest.metrics import IngestMetrics
from ingest.sink import Sink, make_durable
from ingest.spool import Spool

log = logging.getLogger(__name__)


def spool_dir(root: Path, client: str, shard: str) -> Path:
    """Where ``shard``'s spool lives (``default``'s where the spool always was)."""
    return root / (client if shard == DEFAULT_SHARD else f"{client}@{shard}")


class ShardRouter:
    """The sinks of every shard behind one ``store`` / ``make_durable``."""

    def __init__(self, shards: ShardMap, sinks: dict[str, Sink], metrics: IngestMetrics) -> None:
        self.map = shards
        self.sinks = sinks
        self.metrics = metrics
        self._default = sinks[DEFAULT_SHARD]
        if not shards.single:
            everyone = list(sinks.values())
            metrics.spool_bytes.set_function(lambda: sum(s.spool.nbytes for s in everyone))
            metrics.spool_batches.set_function(lambda: sum(len(s.spool) for s in everyone))
            metrics.spool_limit.set(sum(s.spool.max_bytes for s in everyone))

    @classmethod
    def open(
        cls,
        settings: Settings,
        client: str,
        deadletters: DeadLetterSink,
        metrics: IngestMetrics,
        housekeeping: Callable[[], object] | None = None,
    ) -> ShardRouter:
        """A spool and a sink per shard of ``settings.influx`` (``housekeeping`` runs on the
        default shard's replay thread). Closes what it opened if a spool cannot be opened."""
        shards = ShardMap.of(settings.influx)
        sinks: dict[str, Sink] = {}
        try:
            for name, url in shards.urls.items():
                spool = Spool(
                    spool_dir(settings.paths.spool, client, name),
                    max_bytes=settings.ingest.max_spool_bytes,
                )
                sinks[name] = Sink(
                    _connector(settings, url),
                    spool,
                    deadletters,
                    metrics,
                    housekeeping=housekeeping if name == DEFAULT_SHARD else None,
                    shard=name,
                )
        except BaseException:
            for sink in sinks.values():
                sink.spool.close()
            raise
        return cls(shards, sinks, metrics)

    # -- the writer threads ----------------------------------------------------------------
    def store(self, batch: Batch) -> None:
        """Make every part of ``batch`` durable; raises the first shard's IngestError after
        trying every other shard (retry later, no ack)."""
        if self.map.single:
            self._default.store(batch)
            return
        if batch.dead and not batch.dead_stored:
            self._default.dead_letter(batch.dead)
            batch.dead_stored = True
        if batch.parts is None:
            batch.parts = self._cut(batch)
        failed: IngestError | None = None
        for name, part in batch.parts.items():
            if part.done:
                continue
            try:
                self.sinks[name].store(part)
                part.done = True
            except IngestError as exc:
                failed = failed or exc
        if failed is not None:
            raise failed
        if batch.oldest_ts is not None:
            self.metrics.lag_seconds.observe(max(0.0, time.time() - batch.oldest_ts / 1000))

    def make_durable(self, batch: Batch, *, running: Callable[[], bool]) -> bool:
        """Store ``batch``, retrying while a spool is full; False only when stopping."""
        return make_durable(self.store, batch, running=running)

    def _cut(self, batch: Batch) -> dict[str, Batch]:
        groups: dict[str, list[tuple[list[str], tuple[str, bytes]]]] = {}
        for unit in batch.units():
            shard = self.map.shard_of(site_of_line(unit[0][0]))
            groups.setdefault(shard, []).append(unit)
        return {name: batch.part(units) for name, units in groups.items()}

    # -- start, replay, stop ---------------------------------------------------------------
    def create_database(self) -> None:
        """``CREATE DATABASE`` on every shard; a shard that is down is marked so (metrics)
        and gets its points by replay once it is back (the database must exist by then)."""
        for sink in self.sinks.values():
            with sink.open_client() as writer:
                try:
                    writer.create_database()
                except InfluxUnavailable as exc:
                    sink.note_down(exc)
                    _could_not_create(sink.shard, exc)
                except InfluxError as exc:
                    _could_not_create(sink.shard, exc)

    def readiness(self, *, broker: bool) -> dict[str, bool]:
        """What ingest's ``/readyz`` checks: the broker, and InfluxDB, each shard by name
        when there are several (``influxdb:<shard>``); a shard that is down does not stop
        the others, its points wait in its spool, but it is named."""
        shards = self.reachable()
        checks = {"broker": broker, "influxdb": all(shards.values())}
        if len(shards) > 1:
            checks.update({f"influxdb:{name}": up for name, up in shards.items()})
        return checks

    def reachable(self) -> dict[str, bool]:
        """Each shard's ``/ping`` right now (a shard that is down says so at once, even
        while nothing is being written); ``shard_up`` follows the answer."""
        out: dict[str, bool] = {}
        for name, sink in self.sinks.items():
            with sink.open_client() as client:
                try:
                    client.ping()
                    out[name] = True
                except InfluxError:
                    out[name] = False
            self.metrics.shard_up.labels(name).set(out[name])
        return out

    def refresh_policies(self) -> None:
        for sink in self.sinks.values():
            sink.refresh_policies()

    def replay_loops(self) -> list[tuple[str, Callable[[threading.Event], None]]]:
        """(thread name, loop) of each shard's replay thread."""
        return [
            ("ingest-replay" + ("" if name == DEFAULT_SHARD else f"-{name}"), sink.replay_until)
            for name, sink in self.sinks.items()
        ]

    @property
    def spooled_batches(self) -> int:
        """Batches waiting in every shard's spool."""
        return sum(len(sink.spool) for sink in self.sinks.values())

    def wake(self) -> None:
        """Wake every replay thread (stopping)."""
        for sink in self.sinks.values():
            sink.spooled.set()

    def close(self) -> None:
        """Close the connections (the spools are closed with the other stores)."""
        for sink in self.sinks.values():
            sink.close()

    def close_spools(self) -> None:
        for sink in self.sinks.values():
            sink.spool.close()


def _connector(settings: Settings, url: str) -> Callable[[], InfluxClient]:
    found = options(settings.influx)
    timeout = settings.ingest.write_timeout
    return lambda: InfluxClient(url, settings.influx.database, timeout=timeout, **found)


def _could_not_create(shard: str, exc: InfluxError) -> None:
    log.warning("could not create the database", extra=fields(shard=shard, error=str(exc)[:300]))
