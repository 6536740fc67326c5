"""Alert events for the dashboard (server-sent events): committed audit rows.

:class:`AuditFeed` reads the audit log by id, so any API process serves the stream of
changes made anywhere (any alert service replica, any API process); it replaced an
in-process fan-out that only saw the changes of the process serving the stream.

Events say what happened to which alert, when, by whom (a volunteer id) and why; they carry
no resident id, no summary and no free text, so the dashboard stream is safe to show on a
shared screen. Each stream reads at its own pace: a slow listener slows nobody else.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from alerts.store import AlertStore, AuditEntry


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


#: Seconds an id missing from the log is looked for again: on PostgreSQL ids are taken at
#: insert and may commit out of order, so a gap can fill in after a poll passed it.
GAP_WAIT_S = 10.0


class AuditFeed:
    """The audit log after ``after_id`` (default: from now), polled every ``poll_s``."""

    def __init__(self, store: AlertStore, *, after_id: int | None = None, poll_s: float = 0.25):
        self.store = store
        self.poll_s = poll_s
        self.last = self.store.last_audit_id() if after_id is None else after_id
        self._gaps: dict[int, float] = {}  # id -> monotonic time it was first missed

    def poll(self) -> list[dict[str, Any]]:
        """The rows committed since the last poll (and late ones that fill a gap)."""
        now = time.monotonic()
        self._gaps = {i: t for i, t in self._gaps.items() if now - t < GAP_WAIT_S}
        rows = self.store.audit_log(after_id=self.last)
        if self._gaps:
            rows = self.store.audit_rows(sorted(self._gaps)) + rows
        for entry in rows:
            self._gaps.pop(entry.id, None)
            if entry.id > self.last:
                self._gaps.update((i, now) for i in range(self.last + 1, entry.id))
                self.last = entry.id
        tiers = self.store.tiers({e.alert for e in rows})
        return [event_dict(e, tiers.get(e.alert)) for e in rows]

    async def sse(self, heartbeat_s: float = 15.0) -> AsyncIterator[str]:
        """The events as ``text/event-stream`` frames, with comment heartbeats."""
        yield ": careloop alert events\n\n"
        quiet = 0.0
        while True:
            events = self.poll()
            for event in events:
                data = json.dumps(event, separators=(",", ":"))
                yield f"id: {event['id']}\nevent: {event['action']}\ndata: {data}\n\n"
            quiet = 0.0 if events else quiet + self.poll_s
            if quiet >= heartbeat_s:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(self.poll_s)
