"""Draining the delivery outbox for the retrying channels (webhook, e-mail, push, SMS).

A row leaves the outbox only once delivered; it is leased to the replica sending it first
(:meth:`alerts.claims.Claims.claim_deliveries`), so two replicas never send it at once. A
failure reschedules it after a jittered exponential backoff measured on the service's clock
(so tests move past a backoff instead of sleeping through it), and after ``max_attempts`` it
is marked failed and audited. Rows keep their notification id across attempts, so receivers
can drop duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

from alerts.clock import Clock, wall_ms
from alerts.errors import DeliveryError
from alerts.metrics import AlertMetrics
from alerts.store import AlertStore, Channel
from careloop.logs import fields

log = logging.getLogger(__name__)

Send = Callable[[str, bytes, str], Awaitable[None]]


def retry_delay_ms(attempt: int, initial_s: float, max_s: float, rng: random.Random) -> int:
    """Full-jitter exponential backoff for the ``attempt``-th retry (0-based)."""
    ceiling = min(max_s, initial_s * (2**attempt))
    return round(rng.uniform(initial_s / 2, max(ceiling, initial_s / 2)) * 1000)


async def drain(
    channel: Channel,
    send: Send,
    *,
    store: AlertStore,
    clock: Clock,
    metrics: AlertMetrics,
    wake: asyncio.Event,
    retry: tuple[float, float, int],
    lease: tuple[str, int],
    poll_s: float = 0.2,
    seed: int | None = None,
) -> None:
    """Forever: lease due rows of ``channel`` (``lease``: this replica's name, the lease in
    ms), send them; sleep until woken or ``poll_s`` passed."""
    initial_s, max_s, max_attempts = retry
    owner, lease_ms = lease
    rng = random.Random(seed)
    while True:
        for row in store.claim_deliveries(channel, clock.now_ms(), wall_ms(), lease_ms, owner):
            try:
                await send(row.target, row.payload, row.nid)
            except DeliveryError as exc:
                metrics.failed.labels(channel).inc()
                give_up = row.attempts + 1 >= max_attempts
                due = clock.now_ms() + retry_delay_ms(row.attempts, initial_s, max_s, rng)
                store.retry_later(row.id, due, exc.reason, give_up=give_up)
                if give_up:
                    with store.tx():
                        store.audit(
                            row.alert, clock.now_ms(), "system", "delivery_failed",
                            channel=channel, reason=exc.reason[:64], detail={"nid": row.nid},
                        )  # fmt: skip
                log.warning(
                    "delivery failed",
                    extra=fields(
                        channel=channel, nid=row.nid, attempt=row.attempts + 1,
                        error=exc.reason[:200], gave_up=give_up,
                    ),
                )  # fmt: skip
                continue
            store.mark_sent([row.id], clock.now_ms())
            metrics.sent.labels(channel).inc()
        wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), poll_s)
