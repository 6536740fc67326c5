"""Reading the alert store by person: one resident's alerts over a week (reports), one
volunteer's open and past alerts with their answers (the volunteers' app), and the notes
resolvers left (audit). A mixin of :class:`alerts.store.AlertStore`, kept apart because
these are views for people, not the state machine's own reads and writes.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from alerts.model import Alert
from careloop.db import Connection

_ALERT_COLUMNS = tuple(f.name for f in fields(Alert))
_BOOLS = {"respond_breached", "resolve_breached"}


class AlertHistory:
    """Queries over the ``alerts``, ``pages`` and ``audit`` tables of an open store."""

    @property
    def db(self) -> Connection:
        raise NotImplementedError  # the store's connection

    def _alert(self, row: tuple[Any, ...] | None) -> Alert | None:
        if row is None:
            return None
        values = dict(zip(_ALERT_COLUMNS, row, strict=True))
        for key in _BOOLS:
            values[key] = bool(values[key])
        return Alert(**values)

    def resident_alerts(
        self, site: str, resident: str, since_ms: int, until_ms: int
    ) -> list[Alert]:
        """The alerts of one resident opened in [since_ms, until_ms), oldest first (reports)."""
        cols = ", ".join(_ALERT_COLUMNS)
        rows = self.db.execute(
            f"SELECT {cols} FROM alerts WHERE site = ? AND resident = ? AND opened_ms >= ? "
            "AND opened_ms < ? ORDER BY opened_ms, id",
            (site, resident, since_ms, until_ms),
        ).fetchall()
        return [a for a in map(self._alert, rows) if a is not None]

    def volunteer_alerts(
        self, volunteer: str, *, closed: bool = False, limit: int = 100
    ) -> list[tuple[Alert, str | None]]:
        """(alert, their answer) for alerts ``volunteer`` owns, is handed, or was paged about
        and did not decline: open ones (``closed=False``) or closed ones, newest first."""
        cols = ", ".join(f"a.{c}" for c in _ALERT_COLUMNS)
        rows = self.db.execute(
            f"SELECT {cols}, p.answer FROM alerts a LEFT JOIN pages p "
            "ON p.alert = a.id AND p.volunteer = ? WHERE "
            f"a.closed_ms IS {'NOT ' if closed else ''}NULL AND (a.owner = ? "
            "OR a.handover_to = ? OR (p.volunteer IS NOT NULL AND "
            "(p.answer IS NULL OR p.answer != 'declined'))) ORDER BY a.opened_ms DESC LIMIT ?",
            (volunteer, volunteer, volunteer, limit),
        ).fetchall()
        out = []
        for row in rows:
            alert = self._alert(row[:-1])
            if alert is not None:
                out.append((alert, row[-1]))
        return out

    def resolve_notes(self, alert_ids: list[str]) -> dict[str, str]:
        """alert -> the note its resolver wrote (from the audit)."""
        if not alert_ids:
            return {}
        marks = ", ".join("?" * len(alert_ids))
        rows = self.db.execute(
            f"SELECT alert, detail FROM audit WHERE action = 'resolved' AND alert IN ({marks})",
            alert_ids,
        ).fetchall()
        notes = {a: json.loads(d or "{}").get("note") for a, d in rows}
        return {a: n for a, n in notes.items() if n}
