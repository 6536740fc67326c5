"""Pre-loading the broker, so a phase measures the consumer and never the producer.

Before a consumer is timed, its MQTT session is created (persistent, subscribed at QoS 1,
disconnected), then the whole workload is published into it: the broker queues every
message for the absent session. The consumer then connects with the same client id and
drains the backlog as fast as it can, which is the rate we report. Every phase, the naive
bridge included, is fed this way. Afterwards the session is deleted, so a later phase's
messages are not queued for it too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from bench.rawmqtt import RawClient, RawMqttError

#: Seconds the broker keeps a pre-loaded session; long enough for any phase.
SESSION_EXPIRY_S = 600


def create_session(host: str, port: int, client_id: str, topic_filter: str, version: int) -> None:
    """A fresh persistent session for ``client_id`` subscribed to ``topic_filter`` at QoS 1.

    ``version`` is the MQTT version the consumer will use (4 = 3.1.1, whose persistent
    session is ``clean_session=False``; 5 = ``SessionExpiryInterval``).
    """
    drop_session(host, port, client_id)
    expiry = SESSION_EXPIRY_S if version == 5 else 0
    with RawClient(
        host, port, client_id, version=version, clean_start=False, session_expiry=expiry
    ) as client:
        client.subscribe(topic_filter, qos=1)


def drop_session(host: str, port: int, client_id: str) -> None:
    """Delete whatever session ``client_id`` has (clean start, no expiry)."""
    with RawClient(host, port, client_id, version=5, clean_start=True, session_expiry=0):
        pass


def publish(host: str, port: int, client_id: str, messages: Iterable[tuple[bytes, bytes]]) -> int:
    """Publish ``messages`` at QoS 1 over one connection; how many the broker acknowledged.

    MQTT 3.1.1, so the broker imposes no receive maximum and the publisher's own window
    (20k unacknowledged) sets the pace.
    """
    with RawClient(host, port, client_id, version=4) as client:
        return client.publish_all(messages)


def wait_until_dropped(host: str, port: int, client_id: str, timeout: float = 10.0) -> None:
    """Retry :func:`drop_session` until the broker lets go of a just-closed connection."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            drop_session(host, port, client_id)
            return
        except (RawMqttError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
