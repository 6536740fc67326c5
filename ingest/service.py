"""The ingest service: MQTT -> validated -> InfluxDB, at least once, nothing lost.

:class:`Ingestor` owns its threads (``with Ingestor(settings) as ingest: ...``, or
:meth:`~Ingestor.start` / :meth:`~Ingestor.stop`)::

    ingest-mqtt      paho network loop: receive, validate, registry check, batch; PUBACK
                     finished batches in order; reconnect with jittered backoff
    ingest-write-N   make sealed batches durable: InfluxDB /write, else the disk spool;
                     dead letters (N = settings.ingest.writers, each its own connection)
    ingest-replay    move spooled batches into InfluxDB, oldest first, with backoff (one
                     per InfluxDB shard: ``ingest-replay-<shard>``, see ingest.router)

A message is acknowledged only after its whole batch is durable (written, spooled or
dead-lettered), and only on the connection it arrived on: after a reconnect the broker
redelivers it and the copy is written again, which overwrites (same series and time).

What is in flight is bounded twice (docs/ingest.md, "How it works"): the broker sends at
most :func:`receive_maximum` unacknowledged messages (MQTT v5 Receive Maximum), and the MQTT
thread stops reading the socket while sealed, unacknowledged batches hold
:func:`hold_limit` readings or more, whatever the size of the messages.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque

from paho.mqtt.client import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from careloop.logs import fields
from careloop.mqtt import Backoff, configure_paho
from careloop.settings import Settings
from careloop.wire import subscription
from ingest.batch import Batch
from ingest.client import IngestClient
from ingest.config import (
    REGISTRY_REFRESH_S,
    STOP_TIMEOUT_S,
    default_client_id,
    hold_limit,
    receive_maximum,
    safe_name,
)
from ingest.deadletters import DeadLetter, DeadLetterStore
from ingest.decoder import Decoder
from ingest.errors import IngestError
from ingest.held import HeldDeadLetters, hold_on_postgres
from ingest.intake import Intake
from ingest.metrics import IngestMetrics
from ingest.retention import dead_letter_sweep
from ingest.router import ShardRouter
from people.consent import ConsentCache
from people.devices import DeviceRegistry

log = logging.getLogger(__name__)


class Ingestor:
    """One ingest process's worth of work. Started once; stop() is idempotent."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        cfg = settings.ingest
        self.client_id = cfg.client_id or default_client_id(cfg.instance)
        paths = settings.paths
        self.people_path, self.deadletters_path = paths.people, paths.deadletters
        #: The default shard's spool (each other shard's is beside it: ingest.router).
        self.spool_path = paths.spool / safe_name(self.client_id)
        self.metrics = IngestMetrics()
        self.decoder = Decoder()
        self.metrics_port: int | None = None
        self._state = "new"
        self._closing = False
        self._stop = threading.Event()
        self._generation = 0
        self._batch_seq = 0
        self._batch = Batch(0, 0)
        self._inflight: deque[Batch] = deque()
        #: Lines in ``_inflight`` (sealed, not yet acknowledged batches).
        self._held = 0
        self._hold_limit = hold_limit(cfg)
        self._max_messages = cfg.max_batch_messages
        self._max_readings = cfg.max_batch_readings
        self._work: queue.Queue[Batch | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._received = 0
        self._registry: DeviceRegistry | None = None
        self._consent: ConsentCache | None = None
        self._dead: DeadLetterStore | None = None
        self._holding: HeldDeadLetters | None = None  # PostgreSQL: letters held while it is away
        self._sink: ShardRouter | None = None
        self._client: IngestClient | None = None
        self._intake: Intake | None = None
        self._last_stats = time.monotonic()
        self._backoff = Backoff(settings.mqtt.backoff_initial, settings.mqtt.backoff_max)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Ingestor:
        """Open the stores, start the threads; returns at once (connecting happens behind)."""
        if self._state != "new":
            raise IngestError("an Ingestor is started once; make a new one")
        self._state = "running"
        cfg = self.settings.ingest
        try:
            self._client = IngestClient(self.client_id, self._on_publish)
            configure_paho(self._client, self.settings.mqtt)  # credentials and TLS
            url = self.settings.store_url
            self._registry = DeviceRegistry(
                self.people_path, url=url, durable=not cfg.auto_register
            )
            self._registry.refresh(force=True)
            self._consent = ConsentCache(self.people_path, url=url)
            self._dead = DeadLetterStore(
                self.deadletters_path, url=url, max_rows=cfg.max_dead_letters
            )
            self._holding = hold_on_postgres(self._dead, self.settings.paths, self.metrics)
            sweep = dead_letter_sweep(self.settings, self._dead)
            self._sink = ShardRouter.open(
                self.settings,
                safe_name(self.client_id),
                self._holding or self._dead,
                self.metrics,
                housekeeping=sweep.maybe_run,
            )
        except BaseException:
            self._close_stores()
            raise
        self._intake = Intake(
            self.decoder, self._registry, self.metrics, cfg.auto_register, self._consent
        )
        if cfg.create_database:
            self._sink.create_database()
        self._sink.refresh_policies()
        if cfg.metrics_port:
            sink = self._sink  # /readyz: the broker, and each InfluxDB shard by name
            self.metrics.readiness = lambda: sink.readiness(broker=self.connected)
            try:
                self.metrics_port = self.metrics.serve(cfg.metrics_port, cfg.metrics_host)
            except OSError as exc:
                self._close_stores()
                raise IngestError(
                    f"cannot serve metrics on port {cfg.metrics_port}: {exc}"
                ) from exc
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._spawn("ingest-mqtt", self._mqtt_loop)
        for n in range(cfg.writers):
            self._spawn(f"ingest-write-{n}", self._write_loop)
        for name, loop in self._sink.replay_loops():
            self._spawn(name, lambda loop=loop: loop(self._stop))
        if self._holding is not None:
            self._spawn("ingest-deadletters", lambda held=self._holding: held.run(self._stop))
        log.info(
            "ingest started",
            extra=fields(
                client_id=self.client_id,
                broker=f"{self.settings.mqtt.host}:{self.settings.mqtt.port}",
                tls=self.settings.mqtt.tls,
                database=self.settings.influx.database,
                devices=len(self._registry),
                shards=len(self._sink.sinks),
                spooled_batches=self._sink.spooled_batches,
                metrics_port=self.metrics_port,
                auto_register=cfg.auto_register,
            ),
        )
        return self

    def stop(self) -> None:
        """Flush and acknowledge what is held, disconnect cleanly, stop every thread."""
        if self._state != "running":
            return
        self._state = "stopping"
        self._stop.set()
        if self._client is not None:
            self._client.wake()
        if self._sink is not None:
            self._sink.wake()
        mqtt = self._threads[0] if self._threads else None
        if mqtt is not None:
            mqtt.join(STOP_TIMEOUT_S + 10)
        for _ in range(self.settings.ingest.writers):
            self._work.put(None)
        for thread in self._threads[1:]:
            thread.join(STOP_TIMEOUT_S)
        self.metrics.stop()
        if self._sink is not None:
            self._sink.close()
        self._close_stores()
        self._state = "closed"
        log.info("ingest stopped", extra=fields(client_id=self.client_id, **self.counts()))

    def __enter__(self) -> Ingestor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, name: str, target: object) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _close_stores(self) -> None:
        if self._sink is not None:
            self._sink.close_spools()
        for store in (self._holding, self._dead, self._registry, self._consent):
            if store is not None:
                store.close()

    # -- numbers ---------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Totals so far (received, written, rejected, acked, spooled batches)."""
        m = self.metrics
        return {
            "received": self._received,
            "written": int(m.value("careloop_ingest_readings_written_total")),
            "rejected": m.rejected_total(),
            "acked": int(m.value("careloop_ingest_acked_total")),
            "spooled_batches": self._sink.spooled_batches if self._sink is not None else 0,
        }

    @property
    def connected(self) -> bool:
        return self.metrics.value("careloop_ingest_connected") == 1.0

    # -- the MQTT thread -------------------------------------------------------------------
    def _mqtt_loop(self) -> None:
        client = self._client
        assert client is not None
        mqtt, cfg = self.settings.mqtt, self.settings.ingest
        backoff = self._backoff
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = cfg.session_expiry
        # Mosquitto 2.0 takes a v5 client's Receive Maximum as its in-flight window, whatever
        # its max_inflight_messages (for clients sending none); others may take the smaller.
        props.ReceiveMaximum = receive_maximum(cfg)
        stop_deadline: float | None = None
        while True:
            if self._stop.is_set() and stop_deadline is None:
                stop_deadline = time.monotonic() + STOP_TIMEOUT_S
                self._closing = True
                self._seal()
            if stop_deadline is not None and (
                not self._inflight or time.monotonic() > stop_deadline or not self._is_up()
            ):
                break
            if not self._is_up():
                try:
                    client.connect(
                        mqtt.host, mqtt.port, mqtt.keepalive, clean_start=False, properties=props
                    )
                except OSError as exc:
                    self._retry_later("cannot connect to the broker", exc, backoff)
                    continue
            timeout = self._select_timeout()
            if self._held >= self._hold_limit and not self._closing and client.can_hold():
                rc = client.loop_unread(timeout)  # writers are behind: let TCP push back
            else:
                rc = client.loop(timeout)
            self._after_loop()
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                self._retry_later("connection to the broker lost", rc, backoff)
        if self._is_up():
            client.disconnect()
            for _ in range(20):
                if client.loop(0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break

    def _is_up(self) -> bool:
        assert self._client is not None
        return self._client.socket() is not None

    def _retry_later(self, what: str, error: object, backoff: Backoff) -> None:
        self._seal()
        delay = backoff.next_delay()
        log.warning(
            what,
            extra=fields(error=str(error), attempt=backoff.attempt, delay_s=round(delay, 2)),
        )
        self._stop.wait(delay)
        self._after_loop()

    def _select_timeout(self) -> float:
        if self._batch:
            age = time.monotonic() - self._batch.created
            return max(0.0, self.settings.ingest.max_delay - age)
        return 0.5

    def _after_loop(self) -> None:
        """Seal an old batch, PUBACK finished batches in order, housekeeping."""
        cfg = self.settings.ingest
        now = time.monotonic()
        if self._batch and now - self._batch.created >= cfg.max_delay:
            self._seal()
        client = self._client
        assert client is not None
        while self._inflight and self._inflight[0].done:
            batch = self._inflight.popleft()
            self._held -= len(batch.lines)
            if batch.generation == self._generation and batch.acks:
                client.ack_many(batch.acks)
                self.metrics.acked.inc(len(batch.acks))
        if self._registry is not None:
            self._registry.refresh_every(REGISTRY_REFRESH_S)
        if cfg.stats_interval and now - self._last_stats >= cfg.stats_interval:
            self._last_stats = now
            log.info(
                "ingest stats",
                extra=fields(**self.counts(), inflight=len(self._inflight), held=self._held),
            )

    def _seal(self) -> None:
        """Hand the open batch to the writers and open a new one."""
        batch = self._batch
        if batch:
            self._inflight.append(batch)
            self._held += len(batch.lines)
            self.metrics.received.inc(batch.messages)
            self._work.put(batch)
        self._batch_seq += 1
        self._batch = Batch(self._batch_seq, self._generation)

    def _on_connect(
        self, client: object, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("broker refused the connection", extra=fields(reason=str(reason)))
            return
        self._seal()
        self._generation += 1
        self._batch.generation = self._generation
        self._backoff.reset()
        self.metrics.connected.set(1)
        assert self._client is not None
        # Mosquitto 2.0 sends retained messages (device status) to shared subscriptions on
        # every SUBSCRIBE; ingest gets every status through its persistent session anyway,
        # so ask for none instead of re-ingesting all of them on each reconnect.
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND)
        topic = subscription(share=self.settings.ingest.share_group or None)
        self._client.subscribe(topic, options=options)
        log.info(
            "connected",
            extra=fields(
                client_id=self.client_id,
                session_present=bool(getattr(flags, "session_present", False)),
            ),
        )

    def _on_disconnect(
        self, client: object, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        # Packet ids are per connection: a batch never spans two, and batches received on
        # this one will not be acknowledged on the next (the broker redelivers them).
        self._seal()
        self._generation += 1
        self._batch.generation = self._generation
        self.metrics.connected.set(0)

    def _on_subscribe(
        self, client: object, userdata: object, mid: int, codes: list, props: object
    ) -> None:
        failed = [str(c) for c in codes if getattr(c, "is_failure", False)]
        if failed:
            log.error("subscription refused", extra=fields(reasons=",".join(failed)))

    # -- one message (hot path: no logging, no I/O but rare registry writes) ---------------
    def _on_publish(self, topic_bytes: bytes, mid: int, qos: int, payload: bytes) -> None:
        if self._closing:
            return  # not acknowledged: the broker keeps it for our next session
        self._received += 1
        batch, intake = self._batch, self._intake
        assert intake is not None
        try:
            intake.accept(batch, topic_bytes, mid, qos, payload)
        except Exception as exc:  # a bug must cost one message, never the service
            log.exception("internal error on a message; dead-lettered")
            topic = topic_bytes.decode("utf-8", "replace")
            letter = DeadLetter.make(topic, "internal_error", type(exc).__name__, payload)
            batch.reject(mid, qos, letter)
        if batch.messages >= self._max_messages or len(batch.lines) >= self._max_readings:
            self._seal()

    # -- writer and replay threads ---------------------------------------------------------
    def _write_loop(self) -> None:
        assert self._client is not None
        while True:
            batch = self._work.get()
            if batch is None:
                return
            assert self._sink is not None
            batch.done = self._sink.make_durable(batch, running=lambda: self._state == "running")
            self._client.wake()
