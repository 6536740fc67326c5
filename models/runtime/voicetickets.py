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
complaint, opens nothing. The utterance is read once, by the speech component
(:class:`~models.runtime.speech.SpeechComponent`), which also decides whether the text is
readable at all (another language, recogniser noise, garbled words: :mod:`models.speech.gate`
make it neutral) and counts why not; this module only turns that one assessment into a
ticket finding, so the two can never disagree about what was said. Fusion keeps one need per
resident and kind open (a second request within its cooldown is merged, not paged again).
Summaries never quote the words.
"""

from __future__ import annotations

from careloop.wire.needs import Evidence
from models.runtime.findings import Finding, said
from models.speech.assess import UtteranceAssessment

#: Lowest probability of the intent that opens a ticket.
TICKET_P = 0.6

#: intent -> (need kind, tier, summary's catalog key; no words of the resident's).
TICKET_INTENTS: dict[str, tuple[str, str, str]] = {
    "request": ("request", "general", "summary.ticket.request"),
    "complaint": ("complaint", "important", "summary.ticket.complaint"),
    "praise": ("praise", "general", "summary.ticket.praise"),
}


def ticket_findings(slot: int, ts: int, a: UtteranceAssessment) -> list[Finding]:
    """The request / complaint / praise finding one assessed utterance opens, if any.

    Only an assessment of the words themselves counts (``source == "text"``): acoustic
    features alone (no text consent) never open a ticket.
    """
    if a.source != "text" or a.intent is None:
        return []
    spec = TICKET_INTENTS.get(a.intent)
    p = a.intent_proba.get(a.intent, 0.0)
    if spec is None or p < TICKET_P:
        return []
    kind, tier, summary = spec
    evidence = Evidence(
        measure="utterance_intent",
        value=a.intent,
        rule=f"intent {a.intent} with p >= {TICKET_P}",
        ts=ts,
    )
    return [Finding(slot, kind, tier, ts, ts, p, said(summary, p=round(p, 2)), [evidence])]
