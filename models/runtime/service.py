"""``careloop score``: device readings in over MQTT, care needs out (docs/runtime.md).

:class:`ScoreService` is an async context manager owning one TaskGroup::

    score:mqtt      careloop.mqtt.run_forever (the one reconnect loop): a persistent session
                    (stable client id per partition, QoS 1) subscribed to the data kinds and
                    status of the sites this scorer owns. In the session, each socket read's
                    messages go to the inbox, acknowledged once scored and their needs on
                    disk (models.runtime.inbox), and a publish task sends needs from the
                    outbox at QoS 1, dropping each only after its PUBACK (a reconnect re-sends it).
    score:scorer    every ``max_delay`` seconds (or sooner when full) scores what is queued
    score:ticker    ``engine.tick(now)`` every ``tick_every`` s, ``now`` = the latest reading
                    time plus the wall time since it arrived, so silence is noticed; also
                    follows care-profile changes in the people database
    score:snapshot  the engine's state to ``DATA_DIR/score/<partition>.snapshot``
    score:sites     a partition of several: subscribes each site it owns, as people change
    score:stats     a summary log line (counts only)

All engine work (decoding and the registry check in :mod:`models.runtime.intake`, slot
allocation, scoring, ticks, snapshots) runs on **one worker thread**: the numpy work stays
off the event loop, the engine (not thread safe) is only ever touched by that thread, and a
cancelled ``await`` cannot leave two calls running at once. Residents, their devices and
their care profiles are read from the people database (:mod:`people`), never from a copy.
Logs carry counts and contract reasons, never payloads, utterance text or summaries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from careloop.logs import fields
from careloop.mqtt import Backoff, ConfirmingClient, make_client, run_forever
from careloop.settings import Settings
from careloop.wire import DATA_KINDS, WireError
from careloop.wire.control import decode_erase
from models.base import ModelError
from models.runtime.config import (
    default_client_id,
    owned_sites,
    parse_partition,
    partition_label,
)
from models.runtime.engine import EngineConfig, ScoringEngine
from models.runtime.inbox import RECEIVE_MAXIMUM, Inbox
from models.runtime.intake import Intake
from models.runtime.metrics import ScoreMetrics
from models.runtime.outbox import NeedOutbox
from models.runtime.retention import expire
from models.runtime.setaside import drop_set_aside, restore_or_fresh
from models.runtime.sitesubs import PartitionSites, site_filters, subscribe
from people import CareProfile, DeviceRegistry, Directory, Follower, PeopleError
from people.retention import Retention, Sweep

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Kinds the scorer subscribes to: the readings and the devices' retained presence.
SCORED_KINDS: tuple[str, ...] = (*DATA_KINDS, "status")
#: At a clean shutdown, how long to wait for the outbox to be PUBACKed before snapshotting it.
DRAIN_TIMEOUT_S = 5.0

Profiles = dict[tuple[str, str], CareProfile]


class ScoreService:
    """``async with ScoreService(settings) as service: ...``; entered once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        cfg = settings.score
        self.sites = owned_sites(settings)
        self.partition = parse_partition(cfg.partition)
        self.label = partition_label(settings)
        #: A partition of several: the sites it subscribes to (set when entered).
        self._own: PartitionSites | None = None
        self.client_id = cfg.client_id or default_client_id(settings)
        self.snapshot_path = settings.paths.score / f"{self.label}.snapshot"
        self.metrics = ScoreMetrics()
        self.metrics_port: int | None = None
        self.counts: dict[str, int] = dict.fromkeys(
            ("received", "skipped", "rejected", "readings", "needs_raised", "needs_published",
             "needs_dropped", "snapshots"), 0,
        )  # fmt: skip
        self.outbox = NeedOutbox(
            self.snapshot_path.with_name(f"{self.label}.outbox.jsonl"), self.metrics, self.counts
        )
        #: Set while subscribed (tests wait for it before publishing).
        self.connected = asyncio.Event()
        #: The live connection while a session runs (None between sessions).
        self.client: ConfirmingClient | None = None
        #: Whether the engine state came from a snapshot at start.
        self.restored = False
        self.engine: ScoringEngine | None = None
        self.intake: Intake | None = None
        self._people: Directory | None = None
        self._registry: DeviceRegistry | None = None
        self._profiles: Follower[Profiles] | None = None
        self.inbox = Inbox(
            self.sites, self.partition, max_batch=cfg.max_batch_readings, metrics=self.metrics,
            counts=self.counts,
        )  # fmt: skip
        self._dirty = False
        self._executor: ThreadPoolExecutor | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.sweep: Sweep | None = None
        self._state = "new"

    # -- lifecycle ------------------------------------------------------------------------------
    async def __aenter__(self) -> ScoreService:
        if self._state != "new":
            raise ModelError("a ScoreService is entered once; make a new one")
        self._state = "running"
        self.outbox.bind(asyncio.get_running_loop())
        cfg = self.settings.score
        try:
            self._people = Directory(self.settings.paths.people, url=self.settings.store_url)
            self._registry = DeviceRegistry(self.settings.paths.people, url=self._people.url)
            self._registry.refresh(force=True)
            self._profiles = Follower(
                self._people,
                lambda d: d.care_profiles(),
                every=self.settings.people.follow_every,
                name="care profiles",
            )
            if self.sites is None and self.partition[1] > 1 and cfg.subscribe == "sites":
                self._own = PartitionSites(
                    self._people, self.partition, SCORED_KINDS,
                    every=self.settings.people.follow_every, metrics=self.metrics,
                )  # fmt: skip
        except PeopleError as exc:
            self._close_people()
            raise ModelError(f"cannot read the people database: {exc}") from exc
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="score-engine")
        try:
            await self._in_engine(self._start_engine)
            if cfg.metrics_port:
                try:
                    self.metrics_port = self.metrics.serve(cfg.metrics_port, cfg.metrics_host)
                except OSError as exc:
                    raise ModelError(f"cannot serve metrics on {cfg.metrics_port}: {exc}") from exc
        except BaseException:
            self._executor.shutdown(wait=True)
            self._close_people()
            raise
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._start_tasks(self._tg)
        engine = self.engine
        assert engine is not None and self._profiles is not None
        log.info(
            "score started",
            extra=fields(
                client_id=self.client_id,
                sites=",".join(self.sites) if self.sites else "+",
                partition=f"{self.partition[0]}/{self.partition[1]}",
                restored=self.restored,
                residents=len(engine.directory),
                devices=len(self._registry),
                readings=engine.readings,
                profiles=len(self._profiles.value),
                risk_model=engine.risk.status,
                outbox=len(self.outbox),
                metrics_port=self.metrics_port,
            ),
        )
        return self

    def _start_tasks(self, tg: asyncio.TaskGroup) -> None:
        cfg, mqtt = self.settings.score, self.settings.mqtt

        def on_state(up: bool) -> None:
            if not up:  # up is set once subscribed (_session): then the scorer is ready
                self.metrics.connected.set(0)
                self.connected.clear()

        self._tasks = [
            tg.create_task(
                run_forever(
                    lambda: make_client(
                        mqtt, self.client_id, persistent=True, receive_maximum=RECEIVE_MAXIMUM
                    ),
                    self._session,
                    name=self.client_id,
                    backoff=Backoff(mqtt.backoff_initial, mqtt.backoff_max),
                    on_state=on_state,
                ),
                name="score:mqtt",
            ),
            tg.create_task(self._scorer(), name="score:scorer"),
            tg.create_task(self._ticker(), name="score:ticker"),
        ]
        if cfg.snapshot_every > 0:
            self._tasks.append(tg.create_task(self._snapshotter(), name="score:snapshot"))
        if cfg.stats_interval > 0:
            self._tasks.append(tg.create_task(self._stats(), name="score:stats"))

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
                        await asyncio.wait_for(self.outbox.empty.wait(), DRAIN_TIMEOUT_S)
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
            self._close_people()
            self.metrics.stop()
            log.info("score stopped", extra=fields(client_id=self.client_id, **self.counts))

    def _close_people(self) -> None:
        for store in (self._registry, self._people):
            if store is not None:
                store.close()

    async def _in_engine(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the engine thread (serialised with every other engine call)."""
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _start_engine(self) -> None:
        assert self._profiles is not None and self._registry is not None
        profiles = self._profiles.value
        # The ticker runs the engine's timers (every tick_every s, on reading time plus the
        # wall time since): the engine need not also tick from each batch's reading time.
        config, cfg = EngineConfig(auto_tick=False), self.settings.score
        engine, self.restored = restore_or_fresh(
            self.snapshot_path,
            lambda: ScoringEngine(config, profiles=profiles, posture_model=cfg.posture_model),
        )
        self.engine = engine
        self.sweep = Sweep(
            self.settings.paths.people, {"score": self._expire}, url=self.settings.store_url,
            every=self.settings.people.retention_every, clock=lambda: self.reading_now() / 1000,
        )  # fmt: skip
        self.intake = Intake(
            engine, self._registry, self.metrics, self.counts,
            max_batch_readings=cfg.max_batch_readings, max_clock_skew_s=cfg.max_clock_skew,
            on_erase=self._erase,
        )  # fmt: skip
        self.metrics.residents.set(len(engine.directory))
        if self._own is not None:  # a restored resident's erase command must still arrive
            self._own.add(r.site for r in engine.directory.residents)
        self.metrics.models(risk=engine.risk.enabled, posture=engine.motion.enabled)
        self.outbox.load()

    # -- MQTT -------------------------------------------------------------------------------------
    def subscriptions(self) -> list[str]:
        """The fixed topic filters: one per kind and named site, or per kind for ``+``.
        None for a partition of several: it subscribes per owned site (PartitionSites)."""
        if self._own is not None:
            return []
        return [f for site in self.sites or ("+",) for f in site_filters(site, SCORED_KINDS)]

    async def _session(self, client: ConfirmingClient) -> None:
        await subscribe(client, self.subscriptions())
        if self._own is not None:
            await self._own.follow(client, self._in_engine, new_session=True)
        self.connected.set()
        self.metrics.connected.set(1)
        self.client = client
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.inbox.receive(client), name="score:receive")
                tg.create_task(self.outbox.publish(client), name="score:publish")
                if self._own is not None:
                    tg.create_task(self._own.run(client, self._in_engine), name="score:sites")
        finally:
            self.client = None

    # -- scoring ----------------------------------------------------------------------------------
    async def _scorer(self) -> None:
        while True:
            await self.inbox.next_batch(self.settings.score.max_delay)
            await self._score_queued()

    async def _score_queued(self) -> None:
        """Score what is queued, then acknowledge it if its needs are on disk (if not, the
        broker delivers it again after a reconnect or restart)."""
        batch = self.inbox.drain()
        if not batch.items or await self._in_engine(self._score_items, batch.items):
            self.inbox.acknowledge(batch)

    def _score_items(self, items: list[tuple[str, bytes]]) -> bool:
        assert self.intake is not None
        needs = self.intake.score(items)
        self._dirty = True
        return self.outbox.extend(needs)

    def _erase(self, topic: str, payload: bytes) -> None:
        """An erase command (engine thread): forget the resident, snapshot at once so the
        state on disk no longer holds them either."""
        engine, intake = self.engine, self.intake
        assert engine is not None and intake is not None
        try:
            cmd = decode_erase(topic, payload)
        except WireError as exc:
            intake.rejected(topic, exc.reason)
            return
        known = engine.forget(cmd.site, cmd.resident)
        self.outbox.forget(cmd.site, cmd.resident)
        self._write_snapshot()
        self.counts["erased"] = self.counts.get("erased", 0) + int(known)
        log.info("erase command applied", extra=fields(receipt=cmd.id, known=known))

    # -- timers and snapshots ---------------------------------------------------------------------
    def reading_now(self) -> int:
        """The engine's idea of now: latest reading time + wall time since it arrived (ms)."""
        return self.intake.reading_now() if self.intake is not None else 0

    def _follow_profiles(self) -> None:
        """Engine thread: apply care profiles changed in the people database."""
        follower, engine = self._profiles, self.engine
        if follower is None or engine is None or not follower.poll():
            return
        changed = 0
        for (site, resident), profile in follower.value.items():
            if engine.directory.profiles.get((site, resident)) != profile:
                engine.set_profile(site, resident, profile)
                changed += 1
        if changed:
            log.info("care profiles reloaded", extra=fields(changed=changed))

    def _tick(self) -> None:
        engine = self.engine
        assert engine is not None
        self._follow_profiles()
        now = self.reading_now()
        if now <= 0 or len(engine.directory) == 0:
            return
        if self.sweep is not None:
            self.sweep.maybe_run()
        self._dirty = True
        self.outbox.extend(engine.tick(now))

    def _expire(self, kept: Retention) -> dict[str, int]:
        """Engine thread: apply retention, and rewrite the snapshot if anyone was forgotten."""
        assert self.engine is not None
        removed = expire(self.engine, self.outbox, kept)
        if removed["residents"]:
            self._write_snapshot()
        return removed | drop_set_aside(self.snapshot_path.parent, kept)

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
        size = engine.snapshot(self.snapshot_path)
        self.outbox.save()
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
            residents = len(self.engine.directory) if self.engine is not None else 0
            log.info(
                "score stats",
                extra=fields(**self.counts, residents=residents, outbox=len(self.outbox)),
            )
