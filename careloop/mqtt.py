"""MQTT connections: client construction and the one reconnect loop everyone uses.

Every long-lived MQTT user (edge agent, ingest, scorer, alerts, dashboard) runs its connected
work as ``session(client)`` inside :func:`run_forever`, which reconnects with jittered
exponential backoff and catches only aiomqtt's base error: a bug still crashes loudly, a
broker outage is just waited out.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from careloop.logs import fields
from careloop.settings import MqttSettings

log = logging.getLogger(__name__)

#: How long the broker keeps a client's session (subscriptions, queued QoS 1 messages)
#: while it is disconnected, in seconds.
SESSION_EXPIRY_S = 24 * 3600


class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog's recommendation).

    Full jitter spreads the reconnects of a fleet of devices after a broker restart, so they
    do not all hammer it in the same instant.
    """

    def __init__(
        self, initial: float = 0.5, maximum: float = 30.0, *, rng: random.Random | None = None
    ) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("need 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt; grows with every call until :meth:`reset`."""
        ceiling = min(self.maximum, self.initial * (2**self.attempt))
        self.attempt += 1
        return self._rng.uniform(self.initial / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


def make_client(
    settings: MqttSettings,
    identifier: str,
    *,
    will: aiomqtt.Will | None = None,
    persistent: bool = True,
    max_queued_incoming: int = 0,
) -> aiomqtt.Client:
    """An MQTT v5 client for ``identifier``.

    ``persistent`` asks the broker to keep the session for :data:`SESSION_EXPIRY_S` so QoS 1
    messages for this client (commands, shared-subscription deliveries) wait for it across
    a disconnect.
    """
    props = Properties(PacketTypes.CONNECT)
    if persistent:
        props.SessionExpiryInterval = SESSION_EXPIRY_S
    return aiomqtt.Client(
        hostname=settings.host,
        port=settings.port,
        identifier=identifier,
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        keepalive=settings.keepalive,
        will=will,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=not persistent,
        properties=props,
        timeout=settings.publish_timeout,
        max_queued_incoming_messages=max_queued_incoming or None,
    )


async def run_forever(
    connect: Callable[[], aiomqtt.Client],
    session: Callable[[aiomqtt.Client], Awaitable[None]],
    *,
    name: str,
    backoff: Backoff,
    on_state: Callable[[bool], None] | None = None,
) -> None:
    """Run ``session`` on a fresh connection, reconnecting with backoff whenever it drops.

    Returns when ``session`` returns normally. Only :class:`aiomqtt.MqttError` (also inside
    an ExceptionGroup from a session's TaskGroup) triggers a reconnect; anything else
    propagates.
    """
    while True:
        lost: BaseException | None = None
        try:
            async with connect() as client:
                backoff.reset()
                log.info("connected", extra=fields(client=name))
                if on_state:
                    on_state(True)
                await session(client)
                return
        except* aiomqtt.MqttError as group:
            lost = group.exceptions[0]
        if on_state:
            on_state(False)
        delay = backoff.next_delay()
        log.warning(
            "connection lost, retrying",
            extra=fields(
                client=name, error=str(lost), attempt=backoff.attempt, delay_s=round(delay, 2)
            ),
        )
        await asyncio.sleep(delay)


def payload_bytes(message: aiomqtt.Message) -> bytes:
    """A received payload as bytes (aiomqtt types it loosely as bytes/str/number/None)."""
    payload = message.payload
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return b"" if payload is None else str(payload).encode()
