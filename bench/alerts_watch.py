"""The alert benchmark's volunteer app: one MQTT client on every volunteer topic of the site,
recording each page's arrival, and judging what the services did per need.

* latency: the first page for a resident minus the publish time of its triggering reading;
* ``missed``: needs with no page by the end;
* ``doubled``: needs paged twice, i.e. more than one alert for the need, a volunteer given
  two different page notifications, or more pages than the tier pages at once (the bench
  runs shorter than any step deadline, so nothing escalates);
* ``redelivered``: copies of a page already received (the same notification id: an outbox
  row sent again after a killed replica's lease lapsed, or MQTT QoS 1 redelivery). The app
  drops an id it has seen, so a copy is not a second page.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from paho.mqtt.client import Client, MQTTMessage

from alerts.policy import Policy
from careloop.wire.alerts import decode_notification


@dataclass
class _Need:
    tier: str
    kind: str
    alerts: set[str] = field(default_factory=set)
    #: volunteer -> distinct page notification ids
    pages: dict[str, set[str]] = field(default_factory=dict)


class PageWatch:
    """``client.on_message = watch.on_message``; thread-safe."""

    def __init__(self, site: str, policy: Policy | None = None) -> None:
        self.site = site
        self.policy = policy or Policy.load()
        self.first: dict[str, float] = {}  # resident -> first page, epoch ms
        self.needs: dict[str, _Need] = {}
        self.seen_ids: set[str] = set()
        self.redelivered = 0
        self._lock = threading.Lock()

    def expect(self, resident: str, kind: str, tier: str) -> None:
        with self._lock:
            self.needs[resident] = _Need(tier, kind)

    def on_message(self, client: Client, userdata: object, msg: MQTTMessage) -> None:
        now = time.time() * 1000
        note = decode_notification(msg.topic, bytes(msg.payload))
        if note.type != "page" or note.resident is None:
            return
        with self._lock:
            if note.id in self.seen_ids:
                self.redelivered += 1
                return
            self.seen_ids.add(note.id)
            self.first.setdefault(note.resident, now)
            need = self.needs.get(note.resident)
            if need is not None:
                need.alerts.add(note.alert)
                need.pages.setdefault(note.volunteer, set()).add(note.id)

    def paged(self, resident: str) -> bool:
        with self._lock:
            return resident in self.first

    def first_page(self, resident: str) -> float | None:
        with self._lock:
            return self.first.get(resident)

    def clear(self) -> None:
        with self._lock:
            self.first.clear()
            self.needs.clear()
            self.seen_ids.clear()
            self.redelivered = 0

    def doubled(self) -> int:
        """Needs paged twice (see the module docstring)."""
        out = 0
        with self._lock:
            for need in self.needs.values():
                parallel = self.policy.rule(self.site, need.tier, need.kind).parallel
                ids = sum(len(n) for n in need.pages.values())
                if (
                    len(need.alerts) > 1
                    or any(len(n) > 1 for n in need.pages.values())
                    or ids > parallel
                ):
                    out += 1
        return out
