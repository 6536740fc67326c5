"""A real subscriber that records every reading it receives, for loss/order/duplicate checks."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from paho.mqtt.client import MQTTMessage

from careloop.wire import StatusMessage, decode
from tests.helpers.mqtt import MqttTestClient


@dataclass
class Received:
    """Readings in arrival order, per kind, with the message seqs they came in."""

    ts: list[int] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    statuses: list[StatusMessage] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    devices: set[str] = field(default_factory=set)
    messages: int = 0

    def unique(self) -> set[int]:
        return set(self.ts)

    def duplicates(self) -> int:
        return len(self.ts) - len(set(self.ts))

    def first_seen_order(self) -> list[int]:
        seen: set[int] = set()
        out = []
        for t in self.ts:
            if t not in seen:
                seen.add(t)
                out.append(t)
        return out


class ReadingCollector:
    """Subscribe (persistent session, QoS 1, auto-reconnect) and decode with the contract."""

    def __init__(
        self,
        host: str,
        port: int,
        topic_filter: str,
        *,
        client_id: str,
        kinds: tuple[str, ...] = ("vitals", "event", "utterance"),
    ) -> None:
        self.filter = topic_filter
        self.kinds = kinds
        self.data = Received()
        self._lock = threading.Lock()
        self.client = MqttTestClient(host, port, client_id=client_id, clean_session=False)
        self.client.client.reconnect_delay_set(0.2, 1.0)
        self.client.client.on_message = self._on_message
        # Re-subscribe on every (re)connect: cheap, and safe if the broker lost the session.
        self.client.client.on_connect = self._on_connect

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self.client._on_connect(client, userdata, flags, rc, props)
        client.subscribe(self.filter, qos=1)

    def __enter__(self) -> ReadingCollector:
        self.client.connect()
        self.client.subscribe(self.filter, qos=1)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def _on_message(self, client: Any, userdata: Any, message: MQTTMessage) -> None:
        try:
            topic, msg = decode(message.topic, message.payload)
        except Exception as exc:  # record anything undecodable for the assertion
            with self._lock:
                self.data.rejected.append(str(exc))
            return
        with self._lock:
            self.data.messages += 1
            self.data.devices.add(topic.device)
            if isinstance(msg, StatusMessage):
                self.data.statuses.append(msg)
                return
            if topic.kind not in self.kinds:
                return
            self.data.seqs.append(msg.seq)  # type: ignore[union-attr]
            self.data.ts.extend(r.ts for r in msg.readings)  # type: ignore[union-attr]

    def wait_for(self, expected: set[int], timeout: float) -> None:
        """Wait until every expected reading timestamp has arrived (or time out quietly)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if expected <= self.data.unique():
                    return
            time.sleep(0.1)


def assert_complete_and_ordered(data: Received, expected: list[int]) -> None:
    """Zero loss and order kept: every expected reading arrived, first copies in order."""
    missing = set(expected) - data.unique()
    assert not missing, f"{len(missing)} readings lost, e.g. {sorted(missing)[:5]}"
    extra = data.unique() - set(expected)
    assert not extra, f"{len(extra)} unexpected readings, e.g. {sorted(extra)[:5]}"
    assert data.first_seen_order() == sorted(expected), "readings arrived out of order"
    assert not data.rejected, f"undecodable messages: {data.rejected[:3]}"
