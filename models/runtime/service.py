"""``careloop score``: device readings in over MQTT, care needs out (docs/runtime.md).

:class:`ScoreService` is an async context manager owning one TaskGroup::

    score:mqtt      careloop.mqtt.run_forever (the one reconnect loop): a persistent session
                    (stable client id per partition, QoS 1) subscribed to the data kinds and
                    status of the sites this scorer owns. In the session, a receive task
                    queues raw messages and a publish task sends needs from the outbox at
                    QoS 1, removing each only after its PUBACK (a reconnect re-sends it).
    score:scorer    every ``max_delay`` seconds (or sooner when full) scores what is queued
    score:ticker    ``engine.tick(now)`` every ``tick_every`` s, ``now`` = the latest reading
                    time plus the wall time since it arrived, so silence is noticed
    score:snapshot  the engine's state to ``DATA_DIR/score/<partition>.snapshot``
    score:stats     a summary log line (counts only)

All engine work (decoding, slot allocation, scoring, ticks, snapshots) runs on **one worker
thread**: the numpy work stays off the event loop, the engine (not thread safe) is only ever
touched by that thread, and a cancelled ``await`` cannot leave two calls running at once.
Logs carry counts and contract reasons, never payloads, utterance text or summaries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import ValidationError

from careloop.logs import fields
from careloop.mqtt import Backoff, ConfirmingClient, make_client, payload_bytes, run_forever
from careloop.settings import ScoreSettings, Settings
from careloop.wire import (
    DATA_KINDS,
    EventMessage,
    StatusMessage,
    UtteranceMessage,
    VitalsMessage,
    WireError,
    decode,
    subscription,
)
from careloop.wire.control import CONTROL_PREFIX, decode_erase, erase_subscription
from careloop.wire.needs import NeedMessage, NeedTopic, encode_need
from ingest.errors import RegistryError
from ingest.registry import Registry
from models.base import ModelError
from models.runtime.careplan import CareProfile
from models.runtime.columns import encode_readings
from models.runtime.config import (
    default_client_id,
    load_profiles,
    owned_sites,
    parse_partition,
    partition_label,
    site_partition,
)
from models.runtime.engine import EngineConfig, ScoringEngine
from models.runtime.metrics import ScoreMetrics

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Kinds the scorer subscribes to: the readings and the devices' retained presence.
SCORED_KINDS: tuple[str, ...] = (*DATA_KINDS, "status")
#: Queued messages at which the receive task waits for the scorer (bounds memory).
MAX_QUEUED_MESSAGES = 50_000
#: Needs kept for publishing while the broker is away; beyond this the oldest are dropped.
MAX_OUTBOX = 100_000
#: At a clean shutdown, how long to wait for the outbox to be PUBACKed before snapshotting it.
DRAIN_TIMEOUT_S = 5.0
#: Seconds between registry re-reads in steady state (a miss re-reads at once).
REGISTRY_REFRESH_S = 5.0
#: At most one "bad message" warning per this many seconds (the rest are counted).
WARN_EVERY_S = 10.0


# -- the service -----------------------------------------------------------------------------------
class ScoreService:
    """``async with ScoreService(settings) as service: ...``; entered once.

    ``profiles`` overrides ``settings.score.profiles`` (tests and embedding).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        profiles: Mapping[tuple[str, str], CareProfile] | None = None,
    ) -> None:
        self.settings = settings
        cfg: ScoreSettings = settings.score
        self.sites = owned_sites(settings)
        self.partition = parse_partition(cfg.partition)
        self.label = partition_label(settings)
        self.client_id = cfg.client_id or default_client_id(settings)
        self.snapshot_path = settings.data_dir / "score" / f"{self.label}.snapshot"
        self.outbox_path = self.snapshot_path.with_name(f"{self.label}.outbox.jsonl")
        self._profiles = profiles
        #: The device registry ingest checks too: a device speaks only for its own resident.
        self.registry_path = settings.ingest.registry or settings.data_dir / "registry.sqlite3"
        self._registry: Registry | None = None
        self._directory: Any = None  # careloop.directory.Directory when profiles come from it
        self._directory_version = -1
        self.metrics = ScoreMetrics()
        self.metrics_port: int | None = None
        #: Set while subscribed (tests wait for it before publishing).
        self.connected = asyncio.Event()
        #: Whether the engine state came from a snapshot at start.
        self.restored = False
        self.engine: ScoringEngine | None = None
        # the receive side (event loop only)
        self._queued: list[tuple[str, bytes]] = []
        self._queued_since = 0.0
        self._work = asyncio.Event()
        self._full = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._owned: dict[str, bool] = {}
        # needs waiting for a PUBACK: filled by the engine thread, drained by the session
        self._outbox: deque[NeedMessage] = deque()
        self._outbox_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox_ready = asyncio.Event()
        self._outbox_empty = asyncio.Event()
        self._outbox_empty.set()
        # engine-thread bookkeeping
        self._latest_ts = 0
        self._latest_at = time.monotonic()
        self._dirty = False
        self._last_warn = 0.0
        self._warn_suppressed = 0
        self.counts: dict[str, int] = {
            "received": 0,
            "skipped": 0,
            "rejected": 0,
            "readings": 0,
            "needs_raised": 0,
            "needs_published": 0,
            "needs_dropped": 0,
            "snapshots": 0,
        }
        self._executor: ThreadPoolExecutor | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._mqtt_task: asyncio.Task[Any] | None = None
        self._state = "new"

    # -- lifecycle ------------------------------------------------------------------------------
    async def __aenter__(self) -> ScoreService:
        if self._state != "new":
            raise ModelError("a ScoreService is entered once; make a new one")
        self._state = "running"
        self._loop = asyncio.get_running_loop()
        cfg = self.settings.score
        profiles = self._profiles
        if profiles is None and cfg.profiles:
            profiles = load_profiles(cfg.profiles)
        elif profiles is None:
            profiles = self._open_directory()
        try:
            self._registry = Registry(self.registry_path)
            self._registry.refresh(force=True)
        except RegistryError as exc:
            raise ModelError(f"cannot open the device registry: {exc}") from exc
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="score-engine")
        try:
            await self._in_engine(self._start_engine, dict(profiles))
            if cfg.metrics_port:
                try:
                    self.metrics_port = self.metrics.serve(cfg.metrics_port, cfg.metrics_host)
                except OSError as exc:
                    raise ModelError(f"cannot serve metrics on {cfg.metrics_port}: {exc}") from exc
        except BaseException:
            self._executor.shutdown(wait=True)
            self._registry.close()
            raise
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        tg, mqtt = self._tg, self.settings.mqtt

        def on_state(up: bool) -> None:
            self.metrics.connected.set(1 if up else 0)
            if not up:
                self.connected.clear()

        self._mqtt_task = tg.create_task(
            run_forever(
                lambda: make_client(mqtt, self.client_id, persistent=True),
                self._session,
                name=self.client_id,
                backoff=Backoff(mqtt.backoff_initial, mqtt.backoff_max),
                on_state=on_state,
            ),
            name="score:mqtt",
        )
        self._tasks = [
            self._mqtt_task,
            tg.create_task(self._scorer(), name="score:scorer"),
            tg.create_task(self._ticker(), name="score:ticker"),
        ]
        if cfg.snapshot_every > 0:
            self._tasks.append(tg.create_task(self._snapshotter(), name="score:snapshot"))
        if cfg.stats_interval > 0:
            self._tasks.append(tg.create_task(self._stats(), name="score:stats"))
        engine = self.engine
        assert engine is not None
        log.info(
            "score started",
            extra=fields(
                client_id=self.client_id,
                sites=",".join(self.sites) if self.sites else "+",
                partition=f"{self.partition[0]}/{self.partition[1]}",
                restored=self.restored,
                residents=len(engine.directory),
                devices=len(self._registry) if self._registry is not None else 0,
                readings=engine.readings,
                profiles=len(profiles),
                outbox=len(self._outbox),
                metrics_port=self.metrics_port,
            ),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Score what was received, publish what can be, snapshot, then stop every task."""
        if self._state != "running":
            return
        self._state = "closing"
        try:
            with contextlib.suppress(Exception):  # best effort: the snapshot below matters
                await self._score_queued()
                if self.connected.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._outbox_empty.wait(), DRAIN_TIMEOUT_S)
            for task in self._tasks:
                task.cancel()
            if self._tg is not None:
                await self._tg.__aexit__(None, None, None)
            # messages the session received after the last scoring, and their needs
            await self._score_queued()
            await self.snapshot()
        finally:
            self._state = "closed"
            if self._executor is not None:
                self._executor.shutdown(wait=True)
            if self._directory is not None:
                self._directory.close()
            if self._registry is not None:
                self._registry.close()
            self.metrics.stop()
            log.info("score stopped", extra=fields(client_id=self.client_id, **self.counts))

    async def _in_engine(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the engine thread (serialised with every other engine call)."""
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _start_engine(self, profiles: dict[tuple[str, str], CareProfile]) -> None:
        # The ticker runs the engine's timers (every tick_every s, on reading time plus the
        # wall time since): the engine need not also tick from each batch's reading time.
        config = EngineConfig(auto_tick=False)
        engine = ScoringEngine(config, profiles=profiles)
        if self.snapshot_path.exists():
            try:
                engine.restore(self.snapshot_path)
                self.restored = True
            except ModelError as exc:
                # Scoring with fresh baselines beats not scoring at all: keep the bad file
                # for a post-mortem and start empty.
                aside = self.snapshot_path.with_name(self.snapshot_path.name + ".corrupt")
                os.replace(self.snapshot_path, aside)
                log.error(
                    "snapshot unreadable; starting with empty state",
                    extra=fields(error=str(exc)[:300], moved_to=str(aside)),
                )
                engine = ScoringEngine(config, profiles=profiles)
        self.engine = engine
        self._latest_ts = engine.now
        self._latest_at = time.monotonic()
        self.metrics.residents.set(len(engine.directory))
        self._outbox.extend(self._read_outbox())

    def _read_outbox(self) -> list[NeedMessage]:
        """Needs a previous run raised but had not published when it last snapshotted."""
        if not self.outbox_path.exists():
            return []
        needs = []
        for line in self.outbox_path.read_text(encoding="utf-8").splitlines():
            try:
                needs.append(NeedMessage.model_validate_json(line))
            except ValidationError:
                self.counts["needs_dropped"] += 1
        return needs

    # -- MQTT -------------------------------------------------------------------------------------
    def subscriptions(self) -> list[str]:
        """The topic filters: one per kind and owned site, or one per kind for ``+``."""
        sites = self.sites or ("+",)
        data = [subscription(site=site, kind=kind) for site in sites for kind in SCORED_KINDS]
        return data + [erase_subscription(site) for site in sites]

    async def _session(self, client: ConfirmingClient) -> None:
        for topic in self.subscriptions():
            await client.subscribe(topic, qos=1)
        self.connected.set()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._receive(client), name="score:receive")
            tg.create_task(self._publish(client), name="score:publish")

    def _owns(self, topic: str) -> bool:
        """Whether this scorer's partition owns the topic's site (explicit sites: always)."""
        if self.sites is not None:
            return True
        parts = topic.split("/", 4)
        # careloop/v1/<site>/... for devices, careloop/control/v1/<site>/... for control
        at = 3 if topic.startswith(CONTROL_PREFIX) else 2
        site = parts[at] if len(parts) > at else ""
        owned = self._owned.get(site)
        if owned is None:
            owned = site_partition(site, self.partition[1]) == self.partition[0]
            if len(self._owned) < 100_000:
                self._owned[site] = owned
        return owned

    async def _receive(self, client: ConfirmingClient) -> None:
        try:
            async for message in client.messages:
                self._take(message)
                if len(self._queued) >= MAX_QUEUED_MESSAGES:
                    self._room.clear()
                    await self._room.wait()
        finally:
            # aiomqtt acknowledged whatever it queued: keep it for the final scoring.
            queue = client._queue  # aiomqtt 2.x keeps received messages here
            while not queue.empty():
                self._take(queue.get_nowait())

    def _take(self, message: Any) -> None:
        topic = message.topic.value
        if not self._owns(topic):
            self.counts["skipped"] += 1
            self.metrics.skipped.inc()
            return
        if not self._queued:
            self._queued_since = time.monotonic()
            self._work.set()
        self._queued.append((topic, payload_bytes(message)))
        self.counts["received"] += 1
        if len(self._queued) >= self.settings.score.max_batch_readings:
            self._full.set()

    async def _publish(self, client: ConfirmingClient) -> None:
        """Send the outbox in order; a need leaves it only after its PUBACK."""
        while True:
            while True:
                with self._outbox_lock:
                    need = self._outbox[0] if self._outbox else None
                if need is None:
                    break
                await client.publish(
                    str(NeedTopic(need.site, need.resident)), encode_need(need), qos=1
                )
                with self._outbox_lock:
                    if self._outbox and self._outbox[0] is need:
                        self._outbox.popleft()
                    left = len(self._outbox)
                self.counts["needs_published"] += 1
                self.metrics.needs.labels(need.kind, need.tier).inc()
                self.metrics.outbox.set(left)
            self._outbox_ready.clear()
            with self._outbox_lock:
                if self._outbox:
                    continue  # the engine thread added some while we looked
            self._outbox_empty.set()
            await self._outbox_ready.wait()

    def _emit(self, needs: list[NeedMessage]) -> None:
        """Put needs in the outbox (engine thread) and wake the publisher.

        Done on the engine thread, not by whoever awaited the scoring: a cancelled await
        (shutdown) cannot drop needs, and a snapshot (also on this thread) sees exactly the
        needs its state has raised but the broker has not acknowledged.
        """
        if not needs:
            return
        with self._outbox_lock:
            self._outbox.extend(needs)
            while len(self._outbox) > MAX_OUTBOX:
                self._outbox.popleft()
                self.counts["needs_dropped"] += 1
            size = len(self._outbox)
        self.counts["needs_raised"] += len(needs)
        self.metrics.outbox.set(size)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_publisher)
        for need in needs:
            log.info(
                "need",
                extra=fields(
                    id=need.id, site=need.site, resident=need.resident, kind=need.kind,
                    tier=need.tier, state=need.state,
                ),
            )  # fmt: skip

    def _wake_publisher(self) -> None:
        self._outbox_empty.clear()
        self._outbox_ready.set()

    # -- scoring ----------------------------------------------------------------------------------
    async def _scorer(self) -> None:
        delay = self.settings.score.max_delay
        while True:
            await self._work.wait()
            left = delay - (time.monotonic() - self._queued_since)
            if left > 0 and not self._full.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), left)
            await self._score_queued()

    async def _score_queued(self) -> None:
        items, self._queued = self._queued, []
        self._work.clear()
        self._full.clear()
        self._room.set()
        if items:
            await self._in_engine(self._score_items, items)

    def _score_items(self, items: list[tuple[str, bytes]]) -> None:
        """Decode and score messages in arrival order (engine thread).

        Consecutive vitals become one VitalsBatch (at most ``max_batch_readings``); an event,
        utterance or status first flushes the vitals before it, so a resident's fall event
        and the readings after it are seen in the order they arrived.
        """
        engine = self.engine
        assert engine is not None
        started = time.perf_counter()
        limit = self.settings.score.max_batch_readings
        out: list[NeedMessage] = []
        slots: list[int] = []
        vitals: list[Mapping[str, Any]] = []
        scored = {"vitals": 0, "event": 0, "utterance": 0, "status": 0}

        def flush() -> None:
            if vitals:
                out.extend(engine.score_vitals(encode_readings(slots, vitals)))
                slots.clear()
                vitals.clear()

        for topic, payload in items:
            if topic.startswith(CONTROL_PREFIX):
                flush()
                self._erase(topic, payload)
                continue
            try:
                parsed, msg = decode(topic, payload)
            except WireError as exc:
                self._rejected(topic, exc.reason)
                continue
            if not isinstance(msg, VitalsMessage | EventMessage | UtteranceMessage | StatusMessage):
                continue  # a downlink command: not subscribed to, never scored
            verdict = self._check_device(parsed.device, parsed.site, msg.resident)
            if verdict != "ok":
                self._rejected(topic, verdict)
                continue
            if isinstance(msg, StatusMessage):
                flush()
                slot = engine.slot(parsed.site, msg.resident)
                engine.device_status(slot, msg.ts, msg.state, msg.reason)
                scored["status"] += 1
                continue
            skew = self.settings.score.max_clock_skew
            if skew > 0:
                ahead = msg.ts - time.time() * 1000.0  # the device's clock when it sent
                if ahead > skew * 1000.0:
                    self._rejected(topic, "too_far_ahead:ts")
                    continue
            slot = engine.slot(parsed.site, msg.resident)
            latest = msg.ts
            if isinstance(msg, VitalsMessage):
                for r in msg.readings:
                    reading = dict(r)
                    slots.append(slot)
                    vitals.append(reading)
                    latest = max(latest, reading["ts"])
                if len(vitals) >= limit:
                    flush()
            else:
                flush()
                for r in msg.readings:
                    reading = r.model_dump(exclude_none=True)
                    if isinstance(msg, EventMessage):
                        out.extend(engine.score_event(slot, reading))
                    else:
                        out.extend(engine.score_utterance(slot, reading))
                    latest = max(latest, reading["ts"])
            scored[parsed.kind] += len(msg.readings)
            if latest > self._latest_ts:
                self._latest_ts = latest
                self._latest_at = time.monotonic()
        flush()
        for name, n in scored.items():
            if n:
                self.metrics.scored.labels(name).inc(n)
        self.counts["readings"] += scored["vitals"] + scored["event"] + scored["utterance"]
        self.metrics.residents.set(len(engine.directory))
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self._dirty = True
        self._emit(out)

    def _check_device(self, device: str, site: str, resident: str) -> str:
        """The registry's verdict (engine thread): ``ok``, ``unknown_device`` or ``spoofed``.

        The same check ingest makes before storing: a device may speak only for the resident
        it is registered to, at its own site. Without it, any provisioned device could open
        or clear another resident's needs and create residents at will (one state row each).
        """
        registry = self._registry
        assert registry is not None
        registry.refresh_every(REGISTRY_REFRESH_S)
        return registry.check(device, site, resident)

    def _erase(self, topic: str, payload: bytes) -> None:
        """An erase command (engine thread): forget the resident, snapshot at once so the
        state on disk no longer holds them either."""
        engine = self.engine
        assert engine is not None
        try:
            cmd = decode_erase(topic, payload)
        except WireError as exc:
            self._rejected(topic, exc.reason)
            return
        known = engine.forget(cmd.site, cmd.resident)
        with self._outbox_lock:
            kept = [n for n in self._outbox if (n.site, n.resident) != (cmd.site, cmd.resident)]
            self._outbox.clear()
            self._outbox.extend(kept)
        self._write_snapshot()
        self.counts["erased"] = self.counts.get("erased", 0) + int(known)
        log.info("erase command applied", extra=fields(receipt=cmd.id, known=known))

    def _rejected(self, topic: str, reason: str) -> None:
        """Count a bad message; warn at most every WARN_EVERY_S (topic ids, never payload)."""
        self.counts["rejected"] += 1
        self.metrics.rejected.labels(reason).inc()
        now = time.monotonic()
        if now - self._last_warn < WARN_EVERY_S:
            self._warn_suppressed += 1
            return
        log.warning(
            "bad message skipped",
            extra=fields(topic=topic[:200], reason=reason, since_last=self._warn_suppressed),
        )
        self._last_warn = now
        self._warn_suppressed = 0

    # -- timers and snapshots ---------------------------------------------------------------------
    def reading_now(self) -> int:
        """The engine's idea of now: latest reading time + wall time since it arrived (ms)."""
        if self._latest_ts <= 0:
            return 0
        return self._latest_ts + int((time.monotonic() - self._latest_at) * 1000)

    def _open_directory(self) -> dict[tuple[str, str], CareProfile]:
        """Care profiles from the directory the API manages (``DATA_DIR/registry.sqlite3``),
        when there is one and no profiles file was given; changes are picked up by the
        ticker (:meth:`_reload_profiles`)."""
        from careloop.directory import Directory, default_path

        path = default_path(self.settings.data_dir)
        if not path.exists():
            return {}
        self._directory = Directory(path)
        self._directory_version = self._directory.version()
        return self._directory.care_profiles()

    def _reload_profiles(self) -> None:
        """Engine thread: apply care profiles changed in the directory since the last look."""
        directory, engine = self._directory, self.engine
        if directory is None or engine is None:
            return
        version = directory.version()
        if version == self._directory_version:
            return
        self._directory_version = version
        changed = 0
        for (site, resident), profile in directory.care_profiles().items():
            if engine.directory.profiles.get((site, resident)) != profile:
                engine.set_profile(site, resident, profile)
                changed += 1
        if changed:
            log.info("care profiles reloaded", extra=fields(changed=changed))

    def _tick(self) -> None:
        engine = self.engine
        assert engine is not None
        self._reload_profiles()
        now = self.reading_now()
        if now <= 0 or len(engine.directory) == 0:
            return
        self._dirty = True
        self._emit(engine.tick(now))

    async def _ticker(self) -> None:
        every = self.settings.score.tick_every
        while True:
            await asyncio.sleep(every)
            await self._in_engine(self._tick)

    async def snapshot(self) -> int:
        """Write the engine state (and unpublished needs) now; returns the snapshot's bytes."""
        return await self._in_engine(self._write_snapshot)

    def _write_snapshot(self) -> int:
        engine = self.engine
        assert engine is not None
        self.snapshot_path.parent.mkdir(parents=True, exist_ok=True)
        with self._outbox_lock:
            pending = list(self._outbox)
        size = engine.snapshot(self.snapshot_path)
        tmp = self.outbox_path.with_name(self.outbox_path.name + ".tmp")
        tmp.write_text("".join(n.model_dump_json() + "\n" for n in pending), encoding="utf-8")
        os.replace(tmp, self.outbox_path)
        self._dirty = False
        self.counts["snapshots"] += 1
        self.metrics.snapshot_bytes.set(size)
        return size

    async def _snapshotter(self) -> None:
        every = self.settings.score.snapshot_every
        while True:
            await asyncio.sleep(every)
            if self._dirty:
                size = await self.snapshot()
                log.debug("snapshot written", extra=fields(bytes=size))

    async def _stats(self) -> None:
        every = self.settings.score.stats_interval
        while True:
            await asyncio.sleep(every)
            engine = self.engine
            residents = len(engine.directory) if engine is not None else 0
            log.info(
                "score stats",
                extra=fields(**self.counts, residents=residents, outbox=len(self._outbox)),
            )
