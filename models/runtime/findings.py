"""A finding: one rule's verdict about one resident, before fusion makes it a need."""

from __future__ import annotations

from dataclasses import dataclass, field

from careloop.wire.needs import Evidence


@dataclass(slots=True)
class Finding:
    """``slot`` is the resident's row; ``kind``/``tier`` as in :mod:`careloop.wire.needs`.

    ``cleared`` says the condition behind an earlier finding of this kind has gone (the
    resident got up after a fall); ``reminder`` marks a care-plan nudge before a miss.
    """

    slot: int
    kind: str
    tier: str
    ts: int
    onset: int
    score: float
    summary: str
    evidence: list[Evidence] = field(default_factory=list)
    cleared: bool = False
    reminder: bool = False
