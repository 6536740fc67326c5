"""Alert events for the dashboard (server-sent events): a fan-out of committed audit rows.

Events say what happened to which alert, when, by whom (a volunteer id) and why; they carry
no resident id, no summary and no free text, so the dashboard stream is safe to show on a
shared screen. A slow listener loses its oldest events rather than slowing the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from alerts.store import AuditEntry

MAX_QUEUED = 1000


def event_dict(entry: AuditEntry, tier: str | None = None) -> dict[str, Any]:
    """The public shape of one audit row."""
    return {
        "id": entry.id,
        "alert": entry.alert,
        "ts": entry.ts_ms,
        "actor": entry.actor,
        "action": entry.action,
        "from": entry.from_state,
        "to": entry.to_state,
        "channel": entry.channel,
        "reason": entry.reason,
        "tier": tier,
    }


class EventHub:
    """Subscribers each get a bounded queue; :meth:`publish` never blocks."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()

    def publish(self, event: dict[str, Any]) -> None:
        for q in self._queues:
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(event)

    @property
    def listeners(self) -> int:
        return len(self._queues)

    def _register(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_QUEUED)
        self._queues.add(q)
        return q

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        """Events from now on, until the caller stops iterating."""
        q = self._register()
        try:
            while True:
                yield await q.get()
        finally:
            self._queues.discard(q)

    async def sse(self, heartbeat_s: float = 15.0) -> AsyncIterator[str]:
        """The events as ``text/event-stream`` frames, with comment heartbeats."""
        q = self._register()
        try:
            yield ": careloop alert events\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(q.get(), heartbeat_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                data = json.dumps(event, separators=(",", ":"))
                yield f"id: {event['id']}\nevent: {event['action']}\ndata: {data}\n\n"
        finally:
            self._queues.discard(q)
