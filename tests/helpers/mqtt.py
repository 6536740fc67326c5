"""A blocking paho-mqtt 2.x client for tests: connect, subscribe, publish, collect messages.

Tests want "publish, then wait until the subscriber has it" without callbacks spread across
each test, and they want a failed CONNACK or SUBACK to fail loudly instead of timing out.
"""

from __future__ import annotations

import queue
import threading
import uuid
from types import TracebackType
from typing import Any, Self

from paho.mqtt.client import Client, ConnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

DEFAULT_TIMEOUT = 10.0


class MqttTestClient:
    """One connected client whose received messages land in a queue."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str | None = None,
        clean_session: bool = True,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:12]}",
            clean_session=clean_session,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.host = host
        self.port = port
        self.messages: queue.Queue[MQTTMessage] = queue.Queue()
        self._connected = threading.Event()
        self._connect_rc: ReasonCode | None = None
        # SUBACK may arrive before subscribe() returns its mid, so register under a lock.
        self._sub_lock = threading.Lock()
        self._subacks: dict[int, threading.Event] = {}
        self._suback_codes: dict[int, list[ReasonCode]] = {}
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def connect(self, timeout: float = DEFAULT_TIMEOUT) -> Self:
        """Connect and wait for a successful CONNACK."""
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise TimeoutError(f"no CONNACK from {self.host}:{self.port}")
        if self._connect_rc is not None and self._connect_rc.is_failure:
            raise ConnectionError(f"CONNACK refused: {self._connect_rc}")
        return self

    def subscribe(self, topic: str, qos: int = 1, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Subscribe and wait for the SUBACK, so later publishes are not missed."""
        done = threading.Event()
        with self._sub_lock:
            result, mid = self.client.subscribe(topic, qos)
            assert result == 0, f"subscribe({topic!r}) failed: {result}"
            assert mid is not None
            self._subacks[mid] = done
        if not done.wait(timeout):
            raise TimeoutError(f"no SUBACK for {topic!r}")
        codes = self._suback_codes.pop(mid)
        if any(code.is_failure for code in codes):
            raise ConnectionError(f"SUBACK refused {topic!r}: {codes}")

    def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, *, retain: bool = False
    ) -> None:
        """Publish and, for QoS 1/2, wait until the broker acknowledged it."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(DEFAULT_TIMEOUT)
        assert info.is_published(), f"publish to {topic!r} not acknowledged"

    def get(self, timeout: float = DEFAULT_TIMEOUT) -> MQTTMessage:
        """The next received message, or TimeoutError."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no message received") from None

    def close(self) -> None:
        """Disconnect cleanly and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Self:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connect_rc = reason_code
        self._connected.set()

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        self.messages.put(message)

    def _on_subscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._sub_lock:
            event = self._subacks.pop(mid, None)
            self._suback_codes[mid] = reason_codes
        if event is not None:
            event.set()
