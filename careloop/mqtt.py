"""MQTT connections: client construction and the one reconnect loop everyone uses.

Every long-lived asyncio MQTT user (edge agent, scorer, alerts, the API's device monitor)
runs its connected work as ``session(client)`` inside :func:`run_forever`, which reconnects
with jittered exponential backoff (:class:`Backoff`) and catches only aiomqtt's base error: a
bug still crashes loudly, a broker outage is just waited out. Ingest runs paho's network
loop on a thread of its own (it needs paho's manual acknowledgements) and reconnects there
with the same :class:`Backoff`.

Every client, asyncio or paho, gets its credentials and TLS here (:func:`make_client`,
:func:`configure_paho`): TLS unless the broker is on loopback, the broker's certificate
verified against ``mqtt.ca_file`` (or the system's CAs) and its name checked, an optional
client certificate (docs/deploy.md). A certificate that fails verification is a failed
connection like any other: logged and retried with backoff, never skipped.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import random
import ssl
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from careloop.logs import fields
from careloop.mqttbulk import Stream
from careloop.settings import MqttSettings
from careloop.tls import client_context

if TYPE_CHECKING:
    import paho.mqtt.client as paho

log = logging.getLogger(__name__)

#: How long the broker keeps a client's session (subscriptions, queued QoS 1 messages)
#: while it is disconnected, in seconds.
SESSION_EXPIRY_S = 24 * 3600
#: MQTT v5 PUBACK reason code: the broker accepted the message but nobody was subscribed.
NO_MATCHING_SUBSCRIBERS = 0x10

T = TypeVar("T")

_LAST_MID: contextvars.ContextVar[int] = contextvars.ContextVar("careloop_last_mid")


class ConfirmingClient(aiomqtt.Client):
    """An aiomqtt client whose QoS 1 publishes also report the PUBACK reason code.

    aiomqtt resolves ``publish()`` on the PUBACK but drops its reason code, and MQTT v5
    brokers use it to say "no matching subscribers" (0x10): a message that reached nobody.
    The edge agent keeps such readings in its outbox. That matters after a broker restart:
    Mosquitto 2.0 restores persistent sessions but not ``$share`` subscriptions, so until
    ingest re-subscribes a device's messages would otherwise vanish with a success code.
    """

    def __init__(self, *args: Any, manual_ack: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reasons: dict[int, int] = {}
        #: With ``manual_ack`` (see :func:`make_client`): received messages are not put in
        #: aiomqtt's ``messages`` queue but handed to :meth:`Stream.attach`'s sink a socket
        #: read at a time, and acknowledged only by :meth:`Stream.ack`.
        self.stream: Stream | None = Stream(self._client) if manual_ack else None
        self._client.manual_ack_set(manual_ack)
        paho_publish = self._client.publish

        def publish(*a: Any, **k: Any) -> Any:
            info = paho_publish(*a, **k)
            _LAST_MID.set(info.mid)  # per task: read back by publish_confirmed below
            return info

        self._client.publish = publish  # type: ignore[method-assign]  # record each mid

    def _on_publish(
        self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any = None
    ) -> None:
        self._reasons[mid] = int(getattr(reason_code, "value", reason_code) or 0)
        super()._on_publish(client, userdata, mid, reason_code, properties)

    async def _wait_for(self, fut: Awaitable[T], timeout: float | None) -> T:  # noqa: ASYNC109  # aiomqtt's own signature, overridden
        """aiomqtt's wait for a broker's answer (PUBACK, SUBACK, CONNACK), on
        ``asyncio.timeout`` instead of ``asyncio.wait_for``.

        On Python 3.11 ``wait_for`` returns the result instead of raising when a cancellation
        and the answer arrive in the same loop iteration, so a publishing loop could carry on
        after its TaskGroup had given up on it and a stop would hang. ``asyncio.timeout``
        never loses a cancellation. (aiomqtt 2.x's own ``_wait_for``, same contract: None =
        the client's timeout, ``math.inf`` = no timeout.)

        ``asyncio.timeout`` expires by cancelling the task, so the MqttError is raised outside
        the ``except``: its context chain must not hold that cancellation, or
        :func:`run_forever` would take a late answer (a PUBACK behind a burst of messages) for
        a stop and end the session for good instead of reconnecting.
        """
        if timeout is None:
            timeout = self.timeout
        try:
            async with asyncio.timeout(None if timeout == math.inf else timeout):
                return await fut
        except TimeoutError:
            pass
        raise aiomqtt.MqttError("Operation timed out")

    async def until_disconnected(self) -> None:
        """Wait for the connection to end, then raise :class:`aiomqtt.MqttError` (for a
        session whose work is a :class:`Stream`'s sink, not a ``messages`` loop). An error
        that is not MQTT's (a bug in the sink, raised in aiomqtt's reader) is raised as is."""
        lost = self._disconnected
        await asyncio.wait((lost,))  # never cancels the future: aiomqtt still owns it
        error = lost.exception()
        if error is not None and not isinstance(error, aiomqtt.MqttError):
            raise error
        raise aiomqtt.MqttError("Disconnected") from error

    async def publish_confirmed(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> int:
        """Publish and return the PUBACK reason code (0 = success; QoS 0 always 0)."""
        await self.publish(topic, payload, qos=qos, retain=retain)
        mid = _LAST_MID.get(None)
        reason = self._reasons.pop(mid, 0) if mid is not None else 0
        if len(self._reasons) > 1000:  # codes of publishes nobody asked about
            self._reasons.clear()
        return reason


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


def tls_context(settings: MqttSettings) -> ssl.SSLContext | None:
    """The verifying TLS context for the broker, or None when TLS is off (loopback only).

    Built on every connect, so a renewed CA bundle or client certificate is picked up at
    the next reconnect; a file that cannot be read raises
    :class:`~careloop.errors.SettingsError`.
    """
    if not settings.tls:
        return None
    return client_context(settings.ca_file, settings.cert_file, settings.key_file, setting="mqtt.")


def configure_paho(client: paho.Client, settings: MqttSettings) -> None:
    """Give a paho client (ingest's, :func:`publish_once`'s) the credentials and TLS of
    ``settings``; call once, before ``connect``."""
    if settings.username is not None:
        password = settings.password.get_secret_value() if settings.password else None
        client.username_pw_set(settings.username, password)
    context = tls_context(settings)
    if context is not None:
        client.tls_set_context(context)


def make_client(
    settings: MqttSettings,
    identifier: str,
    *,
    will: aiomqtt.Will | None = None,
    persistent: bool = True,
    max_queued_incoming: int = 0,
    receive_maximum: int = 0,
) -> ConfirmingClient:
    """An MQTT v5 client for ``identifier``, over TLS unless the broker is on loopback.

    ``persistent`` asks the broker to keep the session for :data:`SESSION_EXPIRY_S` so QoS 1
    messages for this client (commands, shared-subscription deliveries) wait for it across
    a disconnect.

    ``receive_maximum`` (MQTT v5 Receive Maximum) turns on manual acknowledgements and the
    bulk receive path: received messages go to the client's :class:`~careloop.mqttbulk.Stream`
    (a socket read at a time, no asyncio work per message), QoS 1 ones are acknowledged only
    by :meth:`~careloop.mqttbulk.Stream.ack`, and the broker has at most that many
    unacknowledged messages on their way to this client. A message that was
    received but never handed on is then not lost with the connection (the broker delivers
    it again), a slow reader holds back the broker instead of growing a queue, and the
    answers to this client's own publishes (PUBACKs) are never behind more than that many
    messages in the socket. Without it (0), paho acknowledges each message as it is read and
    the broker may have 65 535 in flight.
    """
    props = Properties(PacketTypes.CONNECT)
    if persistent:
        props.SessionExpiryInterval = SESSION_EXPIRY_S
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    return ConfirmingClient(
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
        tls_context=tls_context(settings),
        manual_ack=receive_maximum > 0,
    )


C = TypeVar("C", bound=aiomqtt.Client)


async def run_forever(
    connect: Callable[[], C],
    session: Callable[[C], Awaitable[None]],
    *,
    name: str,
    backoff: Backoff,
    on_state: Callable[[bool], None] | None = None,
) -> None:
    """Run ``session`` on a fresh connection, reconnecting with backoff whenever it drops.

    Returns when ``session`` returns normally. Only :class:`aiomqtt.MqttError` (also inside
    an ExceptionGroup from a session's TaskGroup) triggers a reconnect; anything else
    propagates. A cancelled task is never reconnected: when cancelling makes the client's
    exit raise an MqttError in place of the CancelledError (aiomqtt does, on a connection
    closed mid-session), the cancellation is raised again, so a stop is never swallowed.
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
            if any(_while_cancelled(e) for e in group.exceptions):
                raise asyncio.CancelledError(f"{name}: stopping") from lost
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


def _while_cancelled(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while a CancelledError was being handled (its context
    chain holds one): the connection closed because this task is being stopped."""
    seen: set[int] = set()
    context = exc.__context__
    while context is not None and id(context) not in seen:
        if isinstance(context, asyncio.CancelledError):
            return True
        seen.add(id(context))
        context = context.__context__
    return False


def payload_bytes(message: aiomqtt.Message) -> bytes:
    """A received payload as bytes (aiomqtt types it loosely as bytes/str/number/None)."""
    payload = message.payload
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return b"" if payload is None else str(payload).encode()


def publish_once(
    settings: MqttSettings, topic: str, payload: bytes, *, client_id: str, timeout: float = 10.0
) -> None:
    """Connect, publish one QoS 1 message, wait for the broker's PUBACK, disconnect.

    For rare control messages sent from synchronous code (an erasure in an API request).
    A PUBACK is not enough: an MQTT 5 broker acknowledges a message its ACL refused with a
    failure reason (``0x87 Not authorized``) and delivers it to nobody, so the reason code
    is read. Raises ``TimeoutError`` if the broker did not answer, ``ConnectionError`` if it
    refused the connection or the message.
    """
    import paho.mqtt.client as paho

    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5
    )
    configure_paho(client, settings)
    connected, acked = threading.Event(), threading.Event()
    codes: dict[str, Any] = {}

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        codes["connect"] = reason
        connected.set()

    def on_publish(_c: Any, _u: Any, _mid: int, reason: Any, _p: Any = None) -> None:
        codes["publish"] = reason
        acked.set()

    client.on_connect, client.on_publish = on_connect, on_publish
    try:
        client.connect(settings.host, settings.port, keepalive=settings.keepalive)
    except OSError as exc:  # refused, unreachable, or a certificate that failed verification
        raise ConnectionError(f"broker {settings.host}:{settings.port}: {exc}") from exc
    client.loop_start()
    try:
        if not connected.wait(timeout):
            raise TimeoutError(f"no CONNACK within {timeout} s")
        if codes["connect"].is_failure:
            raise ConnectionError(f"broker refused the connection: {codes['connect']}")
        client.publish(topic, payload, qos=1)
        if not acked.wait(timeout):
            raise TimeoutError(f"no PUBACK within {timeout} s")
        if codes["publish"].is_failure:
            raise ConnectionError(f"broker refused the message: {codes['publish']}")
    finally:
        client.disconnect()
        client.loop_stop()
