"""Which parts the alert service depends on are up, and how its loops live through an outage.

The alert service needs two parts besides itself: the **broker** (needs and replies in, pages
out) and the **database** (the alert store and the people database, SQLite files or
PostgreSQL). Neither being down may stop the process or lose a need:

* the broker: ``careloop.mqtt.run_forever`` reconnects; the persistent session holds the needs
  published meanwhile (docs/scale-alerts.md, "When a part is down");
* the database: a message whose transaction failed is **not acknowledged** and is handled
  again, in order, once the database answers (:meth:`Parts.retry`); the other loops (ticker,
  MQTT outbox, webhook, e-mail, push, SMS) are started again after a pause
  (:meth:`Parts.guard`). Every claim lives in the acting transaction (alerts/claims.py), so
  a retry or a second replica never acts twice.

:class:`Parts` keeps the state of each part for ``/readyz`` on the metrics port and the gauge
``careloop_alerts_part_up{part}``, and logs each change once, naming the part and the error's
class only (never a message that could quote a row).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from prometheus_client import Gauge

from alerts.errors import StoreError
from careloop.logs import fields
from careloop.mqtt import Backoff
from people import PeopleError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: What the service depends on, by the names ``/readyz`` and the gauge use.
PARTS = ("broker", "database")
#: Errors that mean "the database did not answer" (the stores translate every backend error).
DATABASE_ERRORS = (StoreError, PeopleError)
#: A message held while the database is down is tried again after this backoff (seconds).
RETRY_INITIAL_S = 0.05
RETRY_MAX_S = 1.0
#: Pause before a loop stopped by a database error is started again (seconds).
RESTART_S = 0.5
#: Seconds between the watcher's looks at the database (the gauge is this fresh).
WATCH_S = 1.0


class Pingable(Protocol):
    """A store: ``ping`` raises its package's error unless the database answers."""

    def ping(self) -> None: ...


class Parts:
    """The state of each part (``up``), set by the loops, the broker callback and pings.

    :attr:`stores` are the database's stores (the alert store, the people database), set
    once they are open; they are pinged from the metrics thread (``/readyz``) and, in a
    worker thread, by :meth:`watch`: the stores are thread-safe.
    """

    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge
        self.stores: Sequence[Pingable] = ()
        self.up: dict[str, bool] = {"broker": False, "database": True}
        for part, up in self.up.items():
            gauge.labels(part).set(up)

    def mark(self, part: str, up: bool, error: BaseException | None = None) -> None:
        """Record ``part``'s state; a change is logged once (part and error class only)."""
        self._gauge.labels(part).set(up)
        if self.up.get(part) == up:
            return
        self.up[part] = up
        if up:
            log.info("part up", extra=fields(part=part))
        else:
            kind = type(error).__name__ if error is not None else None
            log.error("part down", extra=fields(part=part, error=kind))

    def check_database(self) -> bool:
        """Ping the database now; records and returns whether it answered."""
        try:
            for store in self.stores:
                store.ping()
        except DATABASE_ERRORS as exc:
            self.mark("database", False, exc)
            return False
        self.mark("database", True)
        return True

    def readiness(self) -> dict[str, bool]:
        """``/readyz``'s checks: the broker as last seen, the database pinged now."""
        database = self.check_database()
        return {"broker": self.up["broker"], "database": database}

    async def retry(self, step: Callable[[], T]) -> T:
        """``step()``, tried again with backoff while the database fails it.

        For a received message: it stays unacknowledged (held in the MQTT session) until its
        transaction commits, and the messages after it wait behind it, so order is kept.
        """
        backoff: Backoff | None = None
        while True:
            try:
                result = step()
            except DATABASE_ERRORS as exc:
                self.mark("database", False, exc)
                backoff = backoff or Backoff(RETRY_INITIAL_S, RETRY_MAX_S)
                await asyncio.sleep(backoff.next_delay())
                continue
            if backoff is not None:  # it failed before: the database answers again
                self.mark("database", True)
            return result

    async def guard(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Run ``loop()``; when a database error stops it, mark the database down, pause
        :data:`RESTART_S` and start it again. Other errors propagate as before."""
        while True:
            try:
                await loop()
                return
            except DATABASE_ERRORS as exc:
                self.mark("database", False, exc)
            await asyncio.sleep(RESTART_S)

    async def watch(self) -> None:
        """Ping the database every :data:`WATCH_S` in a worker thread (a ping waiting for an
        unreachable server must not stall the event loop), so the gauge follows it even
        while nothing happens."""
        while True:
            await asyncio.to_thread(self.check_database)
            await asyncio.sleep(WATCH_S)
