"""``careloop alerts``: care needs in, volunteers paged, every need answered in time.

:class:`AlertService` is an async context manager owning one TaskGroup::

    alerts:mqtt      through careloop.mqtt.run_forever (the one reconnect loop): a persistent
                     session subscribed at QoS 1 to the needs and to volunteers' replies;
                     each message is acknowledged (PUBACK) only after its transaction
                     committed, so a kill -9 loses nothing the broker handed over. A second
                     task in the session publishes the MQTT outbox (pages, ``cmd``) at QoS 1.
    alerts:ticker    fires due deadlines (timers are SQLite rows) and refreshes gauges
    alerts:webhook   drains the webhook outbox (HMAC-signed, retried with backoff)
    alerts:email     drains the e-mail outbox over SMTP (when smtp_host is set); pages carry
                     signed one-time accept/decline links (alerts/links.py)
    alerts:push      drains the Web Push outbox to the volunteers' installed apps (VAPID)
    alerts:sms       drains the SMS outbox through the HTTP gateway (when sms_url is set)
    alerts:parts     pings the database; with the broker's state, ``/readyz`` and a gauge.
                     A database outage stops no task: alerts/parts.py retries and restarts

The state machine itself is :class:`~alerts.engine.AlertEngine` (no network, one transaction
per change). Who can be paged comes from the people database (:mod:`people`), read at start
and read again by the ticker within ``people.follow_every`` seconds of any change made
anywhere (the API, ``careloop people import``, another process): the service keeps no copy.
Volunteers reply over MQTT (their broker login only lets them answer as themselves) or
through the API, which authenticates them. Logs carry ids and counts, never summaries or
names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from alerts import senders
from alerts.actions import configure
from alerts.clock import Clock, OffsetFileClock, SystemClock, wall_ms
from alerts.devicemsg import device_answers
from alerts.engine import AlertEngine
from alerts.errors import AlertsError, ReplyRejected
from alerts.metrics import AlertMetrics
from alerts.model import Alert
from alerts.parts import Parts
from alerts.policy import Policy
from alerts.store import AlertStore, Channel
from careloop.logs import fields
from careloop.mqtt import Backoff, ConfirmingClient, make_client, payload_bytes, run_forever
from careloop.settings import Settings
from careloop.wire import WireError, subscription
from careloop.wire.alerts import (
    ALERT_PREFIX,
    WAKE_SUBSCRIPTION,
    AlertReply,
    alert_subscription,
    decode_reply,
)
from careloop.wire.needs import NEED_PREFIX, decode_need, need_subscription
from people import Directory, Follower, Roster, import_roster, load_roster_file, read_roster
from people.retention import Sweep

log = logging.getLogger(__name__)

#: Seconds between refreshes of the open-alerts gauge.
GAUGE_REFRESH_S = 2.0
#: Device messages that may answer the satisfaction question (utterances, rating buttons).
ANSWER_KINDS = ("utterance", "event")
ANSWER_SUFFIXES = tuple(f"/{k}" for k in ANSWER_KINDS)
#: Most MQTT notifications published concurrently (each awaits its PUBACK).
PUBLISH_WINDOW = 200
#: Seconds between looks at the MQTT outbox for rows queued by other writers (API
#: processes) or left by a dead replica whose lease lapsed.
OUTBOX_POLL_S = 0.25


class AlertService:
    """``async with AlertService(settings) as service: ...``; entered once."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.settings = settings
        cfg = settings.alerts
        self.site_filter = cfg.sites or settings.site
        self.client_id = cfg.client_id or f"alerts-{settings.site}"
        self.db_path = settings.paths.alerts
        if clock is None:
            clock = OffsetFileClock(cfg.clock_offset_file) if cfg.clock_offset_file else None
        self.clock: Clock = clock or SystemClock()
        self._policy = policy
        self.metrics = AlertMetrics()
        #: The broker and the database: up or not (``/readyz``, ``careloop_alerts_part_up``).
        self.parts = Parts(self.metrics.part_up)
        self.connected = asyncio.Event()
        self.metrics_port: int | None = None
        #: Ticker rounds so far (tests wait for a round after moving the clock).
        self.ticks = 0
        self._wake = {c: asyncio.Event() for c in ("mqtt", "webhook", "email", "push", "sms")}
        self._store: AlertStore | None = None
        self._people: Directory | None = None
        self._roster: Follower[Roster] | None = None
        self._appointments: Follower[list[Any]] | None = None  # people.Appointment
        self.sweep: Sweep | None = None
        self._engine: AlertEngine | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._state = "new"

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def engine(self) -> AlertEngine:
        if self._engine is None:
            raise AlertsError("the alert service is not running")
        return self._engine

    @property
    def store(self) -> AlertStore:
        return self.engine.store

    async def __aenter__(self) -> AlertService:
        if self._state != "new":
            raise AlertsError("an AlertService is entered once; make a new one")
        self._state = "running"
        cfg = self.settings.alerts
        policy = self._policy or Policy.load(cfg.policy)
        if cfg.webhook_secret is None and _names_webhook(policy):
            raise AlertsError("the policy names an emergency webhook: set alerts.webhook_secret")
        people = Directory(self.settings.paths.people, url=self.settings.store_url)
        try:
            if cfg.roster:  # a roster file is an input to the people database, not a copy
                import_roster(people, load_roster_file(cfg.roster))
            sites = None if self.site_filter == "+" else frozenset({self.site_filter})
            follower = Follower(
                people,
                lambda d: read_roster(d, sites),
                every=self.settings.people.follow_every,
                name="roster",
            )
            store = AlertStore(self.db_path, url=people.url, synchronous=cfg.synchronous)
        except BaseException:
            people.close()
            raise
        self._people, self._roster, self._store = people, follower, store
        self.parts.stores = (store, people)
        self._appointments = Follower(  # reminded the day and the hour before (reminders.py)
            people, lambda d: d.upcoming_appointments(sites, self.clock.now_ms() - 3_600_000),
            every=self.settings.people.follow_every, name="appointments",
        )  # fmt: skip
        self.sweep = Sweep(
            self.settings.paths.people,
            {"alerts": lambda kept: store.purge(kept.cutoffs)},
            url=people.url,
            every=self.settings.people.retention_every,
            clock=lambda: self.clock.now_ms() / 1000,
        )
        roster = follower.value
        store.lease_to = (self.client_id, round(cfg.lease * 1000))  # see _publish
        engine = self._engine = configure(
            AlertEngine(store, policy, roster, self.clock), self.settings
        )
        engine.listeners.append(self.metrics.on_commit)
        if cfg.metrics_port:
            self.metrics.readiness = self.parts.readiness  # {"broker", "database"}
            try:
                self.metrics_port = self.metrics.serve(cfg.metrics_port, cfg.metrics_host)
            except OSError as exc:
                store.close()
                people.close()
                raise AlertsError(f"cannot serve metrics on {cfg.metrics_port}: {exc}") from exc
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        tg = self._tg
        mqtt = self.settings.mqtt

        def on_state(up: bool) -> None:
            self.metrics.connected.set(1 if up else 0)
            self.parts.mark("broker", up)
            if not up:
                self.connected.clear()

        self._tasks = [
            tg.create_task(
                run_forever(
                    lambda: make_client(mqtt, self.client_id, persistent=True),
                    self._session,
                    name=self.client_id,
                    backoff=Backoff(mqtt.backoff_initial, mqtt.backoff_max),
                    on_state=on_state,
                ),
                name="alerts:mqtt",
            ),
            tg.create_task(self.parts.guard(self._ticker), name="alerts:ticker"),
            tg.create_task(self.parts.watch(), name="alerts:parts"),
            self._guarded(lambda: senders.webhooks(self._outbox("webhook")), "webhook"),
        ]
        if cfg.smtp_host:
            self._tasks.append(
                self._guarded(lambda: senders.emails(self._outbox("email")), "email")
            )
        if cfg.push:
            people = self._people
            assert people is not None
            box = self._outbox("push")
            self._tasks.append(self._guarded(lambda: senders.pushes(box, people), "push"))
        if cfg.sms_url:
            self._tasks.append(self._guarded(lambda: senders.sms(self._outbox("sms")), "sms"))
        log.info(
            "alerts started",
            extra=fields(
                client_id=self.client_id, sites=self.site_filter, db=str(self.db_path),
                volunteers=len(roster.volunteers), policy=policy.source,
                open_alerts=sum(store.open_counts().values()),
            ),
        )  # fmt: skip
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._state != "running":
            return
        self._state = "closed"
        for task in self._tasks:
            task.cancel()
        try:
            if self._tg is not None:
                await self._tg.__aexit__(None, None, None)
        finally:
            self.metrics.stop()
            if self._store is not None:
                self._store.close()
            if self._people is not None:
                self._people.close()
            log.info("alerts stopped", extra=fields(client_id=self.client_id))

    # -- MQTT -----------------------------------------------------------------------------------
    async def _session(self, client: ConfirmingClient) -> None:
        # Acknowledge a need or reply only once its transaction committed (paho's manual
        # acks; aiomqtt 2.x does not expose them, so reach the paho client it wraps).
        client._client.manual_ack_set(True)
        await client.subscribe(need_subscription(self.site_filter), qos=1)
        await client.subscribe(alert_subscription("reply", self.site_filter), qos=1)
        for kind in ANSWER_KINDS:  # answers to the satisfaction question (alerts/tickets.py)
            await client.subscribe(subscription(self.site_filter, kind=kind), qos=1)
        await client.subscribe(WAKE_SUBSCRIPTION, qos=0)  # API processes queued notifications
        self.connected.set()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._receive(client), name="alerts:receive")
            tg.create_task(self.parts.guard(lambda: self._publish(client)), name="alerts:publish")

    async def _receive(self, client: ConfirmingClient) -> None:
        async for message in client.messages:
            topic = message.topic.value
            payload = payload_bytes(message)
            # The database down: unacked, held here (and by the session) until it answers.
            await self.parts.retry(lambda: self._handle(topic, payload))  # noqa: B023
            if message.qos > 0:
                client._client.ack(message.mid, message.qos)
            self._kick()

    def _handle(self, topic: str, payload: bytes) -> None:
        if topic.startswith(NEED_PREFIX + "/"):
            self._on_need(topic, payload)
        elif topic.startswith(ALERT_PREFIX) and topic.split("/")[4:5] == ["wake"]:
            self.metrics.wakes.inc()  # an API process queued notifications
            self.outbox_waiting()
        elif topic.endswith(ANSWER_SUFFIXES):
            self._on_answer(topic, payload)
        else:
            self._on_reply(topic, payload)

    def _on_need(self, topic: str, payload: bytes) -> None:
        try:
            need = decode_need(topic, payload)
        except WireError as exc:
            log.warning("bad need ignored", extra=fields(reason=exc.reason))
            return
        self.engine.handle_need(need, "mqtt")

    def _on_answer(self, topic: str, payload: bytes) -> None:
        device_answers(self.engine, topic, payload)

    def _on_reply(self, topic: str, payload: bytes) -> None:
        try:
            parsed, reply = decode_reply(topic, payload)
        except WireError as exc:
            log.warning("bad reply ignored", extra=fields(reason=exc.reason))
            return
        with contextlib.suppress(ReplyRejected):  # audited and answered by the engine
            self.engine.handle_reply(parsed.site, parsed.volunteer, reply, "mqtt")

    def reply(self, site: str, volunteer: str, reply: AlertReply, channel: str) -> Alert:
        """Apply a reply that came another way (HTTP); raises ReplyRejected."""
        try:
            return self.engine.handle_reply(site, volunteer, reply, channel)
        finally:
            self._kick()

    async def _publish(self, client: ConfirmingClient) -> None:
        """Send the MQTT outbox at QoS 1: rows are leased to this replica, published, and
        marked sent after their PUBACK (another replica sends them if we die meanwhile)."""
        wake = self._wake["mqtt"]
        store = self.store
        lease_ms = round(self.settings.alerts.lease * 1000)
        while True:
            rows = store.claim_deliveries(
                "mqtt", self.clock.now_ms(), wall_ms(), lease_ms, self.client_id, PUBLISH_WINDOW
            )
            if rows:
                await asyncio.gather(*(client.publish(r.target, r.payload, qos=1) for r in rows))
                store.mark_sent([r.id for r in rows], self.clock.now_ms())
                self.metrics.sent.labels("mqtt").inc(len(rows))
                continue
            wake.clear()
            with contextlib.suppress(TimeoutError):  # rows of other writers: within a poll
                await asyncio.wait_for(wake.wait(), OUTBOX_POLL_S)

    def wake(self) -> None:
        """Send what the engine queued after a change made another way (the ticket API)."""
        self._kick()

    def outbox_waiting(self) -> None:
        """Another writer of the store (the API's actions) queued notifications: send now."""
        for event in self._wake.values():
            event.set()

    def _kick(self) -> None:
        if self._engine is not None and self._engine.outbox_dirty:
            self._engine.outbox_dirty = False
            for event in self._wake.values():
                event.set()

    # -- deadlines and other channels ---------------------------------------------------------
    async def _ticker(self) -> None:
        interval = self.settings.alerts.tick_interval
        loop = asyncio.get_running_loop()
        last_gauge = 0.0
        while True:
            self.tick()
            self.ticks += 1
            if loop.time() - last_gauge >= GAUGE_REFRESH_S:
                last_gauge = loop.time()
                self.metrics.set_open(self.store.open_counts())
            await asyncio.sleep(interval)

    def tick(self) -> int:
        """Follow the roster, fire every due deadline now (the ticker calls this; so may
        tests)."""
        self.follow_people()
        if self.sweep is not None:
            self.sweep.maybe_run()  # each site's retention, applied to the alert store
        fired = self.engine.fire_due()
        if self._appointments is not None:
            self._appointments.poll()
            fired += self.engine.remind_appointments(self._appointments.value)
        self._kick()
        return fired

    def _guarded(self, run: Callable[[], Awaitable[None]], channel: str) -> asyncio.Task[None]:
        """A channel's drain task, started again after a database outage stops it."""
        assert self._tg is not None
        return self._tg.create_task(self.parts.guard(run), name=f"alerts:{channel}")

    def _outbox(self, channel: Channel) -> senders.Outbox:
        return senders.Outbox(
            channel, self.settings, self.store, self.clock, self.metrics, self._wake[channel],
            self.client_id,
        )  # fmt: skip

    def follow_people(self, *, force: bool = False) -> bool:
        """Read the roster again if the people database changed; True if it did.

        Alerts already open keep their pages; the next page, escalation or reply is judged
        by the new roster.
        """
        follower = self._roster
        if follower is None or not follower.poll(force=force):
            return False
        self.engine.roster = follower.value
        return True

    # -- views ----------------------------------------------------------------------------------
    def alert(self, alert_id: str) -> Alert | None:
        return self.store.get(alert_id)

    @property
    def db(self) -> Path:
        return Path(self.db_path)


def _names_webhook(policy: Policy) -> bool:
    data = policy._data
    return bool(data.get("emergency_webhook")) or any(
        isinstance(s, dict) and s.get("emergency_webhook") for s in data.get("sites", {}).values()
    )
