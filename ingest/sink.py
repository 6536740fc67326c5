"""Making a batch durable: InfluxDB if it is up, else the disk spool; refused points dead.

:meth:`Sink.store` is what the writer threads call; when it returns, every message of the
batch is durable somewhere (InfluxDB, the spool, or the dead-letter table) and may be
acknowledged. :meth:`Sink.replay_once` is what the replay thread calls to move the oldest
spooled batch into InfluxDB. The rules (docs/ingest.md, "spool"):

* while the spool holds anything, new batches are appended to it too, so order is kept;
* InfluxDB down (connection error, timeout, 5xx, 401/403/404/429) -> spool;
* InfluxDB refuses points (400/413/422, e.g. a field type conflict or points outside the
  retention policy) -> the batch is split in halves and retried until each refused message
  (or, for a spooled batch, each refused line) is found; those are dead-lettered as
  ``influx_rejected`` with InfluxDB's reason and the rest is stored. Rewriting points that
  were already accepted is harmless: same series and time overwrite.
* sites with a retention policy of their own (:mod:`ingest.retention`) get their lines
  written in a ``/write?rp=site_<id>`` of their own; with no such site (the usual case) a
  batch is still one request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from careloop.influx import InfluxClient, InfluxRejected, InfluxUnavailable
from careloop.logs import fields
from careloop.mqtt import Backoff
from careloop.shards import DEFAULT_SHARD
from ingest.batch import Batch
from ingest.deadletters import DeadLetter, DeadLetterSink
from ingest.errors import IngestError
from ingest.metrics import IngestMetrics
from ingest.retention import REFRESH_S, SitePolicies, site_of_line
from ingest.spool import Spool

log = logging.getLogger(__name__)

REJECTED = "influx_rejected"
SPOOL_TOPIC = "(spool)"

#: A unit of a refused write: its lines and where they came from (topic, raw payload).
Unit = tuple[list[str], tuple[str, bytes]]


def without_quotes(reason: str) -> str:
    """InfluxDB's refusal without what it quotes: it repeats the refused line (field
    values, a resident's words) inside quotes, and dead letters are read by staff."""
    kept = reason.split("'", 1)[0].split('"', 1)[0].strip()
    return kept.rstrip(":").strip() or "refused by InfluxDB"


#: Retry backoff (first, ceiling, seconds) for a batch that cannot be made durable yet, and
#: for spool replay while InfluxDB is away.
REPLAY_BACKOFF = (0.5, 5.0)


class Sink:
    """One InfluxDB shard's writes and spool (:mod:`ingest.router` holds one per shard).

    Shared by the writer and replay threads; each thread gets its own HTTP connection."""

    def __init__(
        self,
        connect: Callable[[], InfluxClient],
        spool: Spool,
        deadletters: DeadLetterSink,
        metrics: IngestMetrics,
        policies: SitePolicies | None = None,
        housekeeping: Callable[[], object] | None = None,
        shard: str = DEFAULT_SHARD,
    ) -> None:
        self._connect = connect
        self.shard = shard
        #: Sites with their own retention policy; refreshed by :meth:`refresh_policies`.
        self.policies = policies or SitePolicies()
        #: Called from the replay thread between its rounds (retention of the dead letters).
        self.housekeeping = housekeeping
        self.spool = spool
        self.deadletters = deadletters
        self.metrics = metrics
        self._local = threading.local()
        self._writers: list[InfluxClient] = []
        self._writers_lock = threading.Lock()
        self._down = False
        #: Set whenever a batch enters the spool, so the replay thread wakes up.
        self.spooled = threading.Event()
        self.metrics.spool_limit.set(spool.max_bytes)
        # This shard's series, looked up once (the write path updates them per batch).
        self._up = metrics.shard_up.labels(shard)
        self._written = metrics.shard_written.labels(shard)
        self._spool_bytes = metrics.shard_spool_bytes.labels(shard)
        self._waiting = metrics.shard_waiting.labels(shard)
        self._up.set(1)
        self._update_spool_metrics()

    def open_client(self) -> InfluxClient:
        """A new connection to this shard, for the caller to close (start-up work)."""
        return self._connect()

    def _writer(self) -> InfluxClient:
        writer: InfluxClient | None = getattr(self._local, "writer", None)
        if writer is None:
            writer = self._local.writer = self._connect()
            with self._writers_lock:
                self._writers.append(writer)
        return writer

    # -- live batches ----------------------------------------------------------------------
    def store(self, batch: Batch) -> None:
        """Make ``batch`` durable; raises SpoolFull/DeadLetterError (retry later, no ack)."""
        if batch.dead and not batch.dead_stored:
            self.dead_letter(batch.dead)
            batch.dead_stored = True
        if batch.lines:
            body = batch.body()
            if len(self.spool) == 0:
                try:
                    rejected = self._write_body(body, batch.units)
                except InfluxUnavailable as exc:
                    self.note_down(exc)
                else:
                    self._note_up()
                    self._finish(rejected, len(batch.lines), batch.oldest_ts)
                    return
            self.spool.append(body)
            self.metrics.spooled.inc()
            self._update_spool_metrics()
            self.spooled.set()
        elif batch.oldest_ts is not None:
            self._observe_lag(batch.oldest_ts)

    def _finish(self, rejected: list[tuple[Unit, str]], lines: int, oldest_ts: int | None) -> None:
        """Dead-letter what InfluxDB refused and count the rest as written."""
        if rejected:
            self.dead_letter(
                [
                    DeadLetter.make(topic, REJECTED, without_quotes(reason), payload)
                    for (_, (topic, payload)), reason in rejected
                ]
            )
        refused = sum(len(unit[0]) for unit, _ in rejected)
        self.metrics.readings_written.inc(lines - refused)
        self._written.inc(lines - refused)
        if oldest_ts is not None:
            self._observe_lag(oldest_ts)

    # -- the spool -------------------------------------------------------------------------
    def replay_once(self) -> bool:
        """Write the oldest spooled batch; True if the spool moved on, False if InfluxDB is
        still unavailable (the caller backs off)."""
        item = self.spool.oldest()
        if item is None:
            return True
        seq, body = item
        lines = body.decode().split("\n")
        try:
            rejected = self._write_body(
                body, lambda: [([line], (SPOOL_TOPIC, line.encode())) for line in lines]
            )
        except InfluxUnavailable as exc:
            self.note_down(exc)
            return False
        self._note_up()
        self._finish(rejected, len(lines), None)
        self.spool.remove(seq)
        self._update_spool_metrics()
        if len(self.spool) == 0:
            log.info("spool drained; writing directly again")
        return True

    # -- helpers ---------------------------------------------------------------------------
    def _write_body(self, body: bytes, units: Callable[[], list[Unit]]) -> list[tuple[Unit, str]]:
        """Write ``body`` as it is; only if InfluxDB refuses it, cut it into ``units()`` and
        find the refused ones (the common case never builds the units).

        When some site has a retention policy of its own, the units are grouped by site
        policy first and each group is written on its own (``rp=``).
        """
        policies = self.policies.current
        if policies:
            groups: dict[str | None, list[Unit]] = {}
            for unit in units():
                site = site_of_line(unit[0][0]) if unit[0] else None
                groups.setdefault(policies.get(site or ""), []).append(unit)
            if list(groups) != [None]:
                rejected: list[tuple[Unit, str]] = []
                for rp, group in groups.items():
                    rejected += self._write_split(group, rp)
                return rejected
        try:
            self._write(body)
        except InfluxRejected as exc:
            parts = units()
            if len(parts) == 1:
                return [(parts[0], exc.reason)]
            return self._split(parts)
        return []

    def _write_split(self, units: list[Unit], rp: str | None = None) -> list[tuple[Unit, str]]:
        """Write ``units``; the ones InfluxDB refuses for good, each with its reason."""
        try:
            self._write("\n".join(line for unit in units for line in unit[0]).encode(), rp)
        except InfluxRejected as exc:
            if len(units) == 1:
                return [(units[0], exc.reason)]
            return self._split(units, rp)
        return []

    def _split(self, units: list[Unit], rp: str | None = None) -> list[tuple[Unit, str]]:
        """``units`` were refused together: write each half on its own."""
        half = len(units) // 2
        return self._write_split(units[:half], rp) + self._write_split(units[half:], rp)

    def refresh_policies(self, *, every: float | None = None) -> None:
        """Re-read the site retention policies (at most every ``every`` seconds); on failure
        keep the ones known (InfluxDB down is the spool's business, not this one's)."""
        if every is not None and not self.policies.due(every):
            return
        try:
            self.policies.refresh(self._writer())
        except (InfluxUnavailable, InfluxRejected) as exc:
            self.policies.set(self.policies.current)  # not again before ``every`` passes
            log.debug("retention policies not refreshed", extra=fields(error=str(exc)[:300]))

    def _write(self, body: bytes, rp: str | None = None) -> None:
        started = time.perf_counter()
        try:
            writer = self._writer()
            if rp is None:
                writer.write(body)  # the usual call, unchanged for writers that take no rp
            else:
                writer.write(body, rp)
        finally:
            self.metrics.write_seconds.observe(time.perf_counter() - started)

    def dead_letter(self, letters: list[DeadLetter]) -> None:
        """Keep ``letters`` in the dead-letter store and count them by reason."""
        self.deadletters.add(letters)
        for letter in letters:
            self.metrics.rejected.labels(letter.reason).inc()

    def _observe_lag(self, oldest_ts: int) -> None:
        self.metrics.lag_seconds.observe(max(0.0, time.time() - oldest_ts / 1000))

    def _update_spool_metrics(self) -> None:
        self.metrics.spool_bytes.set(self.spool.nbytes)
        self.metrics.spool_batches.set(len(self.spool))
        self._spool_bytes.set(self.spool.nbytes)
        self._waiting.set(self.spool.readings)

    @property
    def down(self) -> bool:
        """Whether the shard failed the last write (its points go to the spool)."""
        return self._down

    def note_down(self, exc: InfluxUnavailable) -> None:
        """The shard did not take a request: say so once (log, ``shard_up`` 0)."""
        self._up.set(0)
        if not self._down:
            self._down = True
            log.warning(
                "InfluxDB unavailable; spooling to disk",
                extra=fields(shard=self.shard, error=str(exc)[:300], spool_batches=len(self.spool)),
            )

    def _note_up(self) -> None:
        self._up.set(1)
        if self._down:
            self._down = False
            log.info(
                "InfluxDB reachable again",
                extra=fields(shard=self.shard, spool_batches=len(self.spool)),
            )

    def close(self) -> None:
        with self._writers_lock:
            for writer in self._writers:
                writer.close()
            self._writers.clear()

    # -- the writer and replay threads' loops ------------------------------------------------
    def make_durable(self, batch: Batch, *, running: Callable[[], bool]) -> bool:
        """Store ``batch``, retrying while the spool is full; False only when stopping."""
        return make_durable(self.store, batch, running=running)

    def replay_until(self, stop: threading.Event) -> None:
        """Move spooled batches into InfluxDB, oldest first, with backoff, until ``stop``."""
        backoff = Backoff(*REPLAY_BACKOFF)
        while not stop.is_set():
            self.refresh_policies(every=REFRESH_S)
            if self.housekeeping is not None:
                self.housekeeping()
            if len(self.spool) == 0:
                self.spooled.wait(1.0)
                self.spooled.clear()
                continue
            try:
                moved = self.replay_once()
            except IngestError as exc:
                log.error(
                    "spool replay failed", extra=fields(shard=self.shard, error=str(exc)[:300])
                )
                moved = False
            if moved:
                backoff.reset()
            else:
                stop.wait(backoff.next_delay())


def make_durable(
    store: Callable[[Batch], None], batch: Batch, *, running: Callable[[], bool]
) -> bool:
    """``store(batch)``, retrying while a spool is full; False only when stopping."""
    backoff: Backoff | None = None  # only a retry needs one (seeding it is not free)
    while True:
        try:
            store(batch)
            return True
        except IngestError as exc:  # spool full, disk or dead-letter trouble
            if not running():
                log.warning(
                    "stopping with a batch not durable; the broker will redeliver it",
                    extra=fields(messages=batch.messages, error=str(exc)[:300]),
                )
                return False
            if backoff is None:
                backoff = Backoff(*REPLAY_BACKOFF)
            delay = backoff.next_delay()
            log.warning(
                "batch not durable yet; holding its acknowledgements",
                extra=fields(error=str(exc)[:300], retry_in_s=round(delay, 2)),
            )
            time.sleep(delay)
