"""What the API does to alerts with no alert service in its process: volunteers' replies,
tickets, praise, family answers and ratings, applied straight to the shared alert store.

:class:`AlertActions` is an :class:`~alerts.engine.AlertEngine` on its own connection, with
the people database's roster (followed like the service follows it) and no MQTT session,
ticker or senders. Each action is one transaction with the same claims as the services'
(docs/scale-alerts.md): the first accept wins whichever API process or replica took it, a
nonce is acted on once. The notifications it queues are sent by the alert services, which
are told at once (``on_outbox``: the co-hosted service's wake, or a wake published over
MQTT) and would otherwise find them within their next poll. So any number of API processes
serve the same users: none holds state the others lack.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

from alerts.clock import Clock, OffsetFileClock, SystemClock
from alerts.engine import AlertEngine
from alerts.links import LinkSigner
from alerts.model import Alert
from alerts.policy import Policy
from alerts.store import AlertStore
from careloop.logs import fields
from careloop.mqtt import publish_once
from careloop.settings import Settings
from careloop.wire.alerts import AlertReply, wake_topic
from people import Directory, Follower, Roster, read_roster

log = logging.getLogger(__name__)


def configure(engine: AlertEngine, settings: Settings) -> AlertEngine:
    """What an engine needs from the settings besides store, policy, roster and clock: the
    link signer for e-mails, the API's address, the channels that reach phones."""
    cfg = settings.alerts
    engine.links = LinkSigner.load(settings.paths.link_key)
    engine.base_url = settings.api.base_url()
    engine.reach = frozenset(
        ch for ch, on in (("push", cfg.push), ("sms", bool(cfg.sms_url))) if on
    )
    return engine


def site_set(settings: Settings) -> frozenset[str] | None:
    """The sites served (None: every site)."""
    sites = settings.alerts.sites or settings.site
    return None if sites == "+" else frozenset({sites})


class WakeSender:
    """``on_outbox`` for a process without an alert service: publish a nudge on
    :func:`~careloop.wire.alerts.wake_topic` from a short-lived thread (a new connection per
    nudge: actions are human-paced), so the request never waits on the broker. A nudge that
    fails is logged; the services find the rows within their next outbox poll anyway."""

    def __init__(self, settings: Settings) -> None:
        self.mqtt = settings.mqtt
        self.topic = wake_topic(settings.site, "api")

    def __call__(self) -> None:
        threading.Thread(target=self._send, name="alerts-wake", daemon=True).start()

    def _send(self) -> None:
        client_id = f"api-wake-{uuid.uuid4().hex[:8]}"
        try:
            publish_once(self.mqtt, self.topic, b"", client_id=client_id, timeout=5.0)
        except (OSError, TimeoutError) as exc:  # ConnectionError is an OSError
            log.warning("outbox nudge not sent", extra=fields(error=str(exc)[:200]))


class AlertActions:
    """``actions = AlertActions(settings, directory)``; :meth:`close` when done."""

    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        *,
        clock: Clock | None = None,
        policy: Policy | None = None,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        cfg = settings.alerts
        if clock is None:
            clock = OffsetFileClock(cfg.clock_offset_file) if cfg.clock_offset_file else None
        self.clock: Clock = clock or SystemClock()
        sites = site_set(settings)
        self._roster: Follower[Roster] = Follower(
            directory, lambda d: read_roster(d, sites), every=settings.people.follow_every,
            name="roster",
        )  # fmt: skip
        self.store = AlertStore(
            settings.paths.alerts, url=settings.store_url, synchronous=cfg.synchronous
        )
        try:
            engine = AlertEngine(
                self.store, policy or Policy.load(cfg.policy), self._roster.value, self.clock
            )
            self._engine = configure(engine, settings)
        except BaseException:
            self.store.close()
            raise
        self.on_outbox = on_outbox

    @property
    def engine(self) -> AlertEngine:
        """The engine, with the roster as the people database has it now."""
        self.follow_people()
        return self._engine

    def follow_people(self, *, force: bool = False) -> bool:
        """Read the roster again if the people database changed (always when ``force``)."""
        if not self._roster.poll(force=force):
            return False
        self._engine.roster = self._roster.value
        return True

    def reply(self, site: str, volunteer: str, reply: AlertReply, channel: str) -> Alert:
        """Apply a reply that came over HTTP; raises :class:`~alerts.errors.ReplyRejected`."""
        try:
            return self.engine.handle_reply(site, volunteer, reply, channel)
        finally:
            self.wake()

    def wake(self) -> None:
        """Tell the alert services that notifications are waiting in the outbox."""
        if self._engine.outbox_dirty:
            self._engine.outbox_dirty = False
            if self.on_outbox is not None:
                self.on_outbox()

    def close(self) -> None:
        self.store.close()
