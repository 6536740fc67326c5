"""Requests, complaints and thanks said to the voice device become tickets (docs/tickets.md).

The care-intent classifier (:mod:`models.speech.intent`) already reads ``request``,
``complaint`` and ``praise`` in an utterance's text (present only with the resident's text
consent). This component turns a clear one into a finding of the same kind:

=========== ============ ==========================================================
intent      need tier    what the alert service does with it
=========== ============ ==========================================================
request     general      a ticket: respond within 24 h, resolve within 48 h
complaint   important    a ticket: respond within 12 h, resolve within 7 days
praise      general      no page: credited to the volunteer who last helped
=========== ============ ==========================================================

"Clear" is ``TICKET_P``: the intent's probability must reach it, so that a short answer to
the satisfaction question ("還可以", "bad"), which the classifier reads as a weak request or
complaint, opens nothing. Fusion keeps one need per resident and kind open (a second
request within its cooldown is merged, not paged again). Summaries never quote the words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from careloop.logs import fields
from careloop.wire.needs import Evidence
from models.base import ModelError
from models.runtime.findings import Finding
from models.speech.intent import CareIntentClassifier

log = logging.getLogger(__name__)

#: Lowest probability of the intent that opens a ticket.
TICKET_P = 0.6

#: intent -> (need kind, tier, summary for the volunteer; no words of the resident's).
TICKET_INTENTS: dict[str, tuple[str, str, str]] = {
    "request": ("request", "general", "Asked for something out loud (a request, p = {p:.2f})."),
    "complaint": (
        "complaint",
        "important",
        "Complained out loud about their care (a complaint, p = {p:.2f}).",
    ),
    "praise": ("praise", "general", "Thanked the carers out loud (praise, p = {p:.2f})."),
}


class TicketIntents:
    """Utterance text -> request / complaint / praise findings; holds no state of its own."""

    def __init__(self, classifier: Callable[[], CareIntentClassifier]) -> None:
        #: Shared with the speech component, built on first use.
        self._classifier = classifier

    def utterance(self, slot: int, u: Mapping[str, Any]) -> list[Finding]:
        """One utterance reading; text only where the resident consented to it."""
        text = u.get("text")
        if not isinstance(text, str) or not text.strip():
            return []  # no consent to words (or nothing heard): no ticket from voice
        try:
            a = self._classifier().assess(text, u.get("language"))
        except ModelError as exc:
            log.info("utterance not read for tickets", extra=fields(reason=str(exc)[:80]))
            return []
        spec = TICKET_INTENTS.get(a.intent)
        p = a.intent_proba.get(a.intent, 0.0)
        if spec is None or p < TICKET_P:
            return []
        kind, tier, summary = spec
        ts = int(u["ts"])
        evidence = Evidence(
            measure="utterance_intent",
            value=a.intent,
            rule=f"intent {a.intent} with p >= {TICKET_P}",
            ts=ts,
        )
        return [Finding(slot, kind, tier, ts, ts, p, summary.format(p=p), [evidence])]
