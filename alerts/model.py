"""The alert and its lifecycle: states, who may do what in which state.

::

    open ──page──> notified ──step/respond deadline──> escalated ──┐
      │               │  ▲ decline (recorded, next volunteer)       │
      │               └──┴──────────── accept ──────────────────────┤
      │                                                             v
      │                         accepted (owned) ──resolve──> resolved
      │                           │  ▲ handover: the new volunteer accepts
      │                           └──┘
      └─ need cleared ─> cancelled        nobody accepted before expire ─> expired

Declines are recorded in the audit log and move the alert on; they are not a state. Every
transition is one SQLite transaction together with its audit row, its timers and the
notifications it causes (``alerts/engine.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, get_args

from careloop.i18n.summary import render_summary

AlertState = Literal[
    "open", "notified", "escalated", "accepted", "resolved", "expired", "cancelled"
]
STATES: tuple[str, ...] = get_args(AlertState)
#: Waiting for somebody to accept.
UNOWNED: frozenset[str] = frozenset({"open", "notified", "escalated"})
#: Nothing more happens to these.
TERMINAL: frozenset[str] = frozenset({"resolved", "expired", "cancelled"})

TimerKind = Literal["step", "respond", "resolve", "expire", "handover"]


@dataclass
class Alert:
    """One alert row; the engine mutates it inside a transaction and writes it back."""

    id: str
    site: str
    resident: str
    kind: str
    tier: str
    state: str
    need_id: str
    opened_ms: int
    summary: str = ""
    score: float = 0.0
    device: str | None = None
    language: str | None = None
    evidence: int = 1
    step: int = -1
    notified_ms: int | None = None
    accepted_ms: int | None = None
    resolved_ms: int | None = None
    closed_ms: int | None = None
    owner: str | None = None
    handover_to: str | None = None
    respond_due_ms: int | None = None
    resolve_due_ms: int | None = None
    respond_breached: bool = False
    resolve_breached: bool = False
    outcome: str | None = None
    #: The latest need's evidence (``careloop.wire.needs.Evidence`` list) as JSON: what the
    #: readings were, against which usual value, by which rule. No utterance text.
    facts: str = "[]"
    #: The need's summary as catalog text (careloop/i18n/summary.py): its key and arguments
    #: as JSON; None for needs that carried none (their English ``summary`` is shown).
    summary_key: str | None = None
    summary_args: str | None = None

    @property
    def closed(self) -> bool:
        return self.state in TERMINAL

    @property
    def said(self) -> tuple[str | None, dict[str, str | int | float] | None]:
        """(summary key, its arguments) as the need carried them."""
        args = json.loads(self.summary_args) if self.summary_args else None
        return self.summary_key, args if isinstance(args, dict) else None

    def summary_in(self, locale: str) -> str:
        """The summary as a reader of ``locale`` reads it: from the catalog when the need
        carried a key, else the English summary it carried."""
        key, args = self.said
        return render_summary(locale, key, args, self.summary)
